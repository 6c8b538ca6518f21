"""The real colour corpus of issue 18: photographs from Debian's desktop-background packages and scikit-image.

Photographs only (the packages' illustrations are left out), each with its author and licence below. The
mate and plasma wallpapers (corpus 1) are JPEGs of about 2560×1600; they are reduced to half size (Pillow's
antialiased box filter), which also averages away most of their JPEG blocking, and saved as PNG. Corpus 2
adds 14 photographs of Ubuntu's wallpaper contests (lomiri-wallpapers), reduced to about 1,500 pixels.
Held out and never written to the training folder: seven of the photographs (a 512×512 centre crop of each half-size image) and
scikit-image's chelsea, coffee and the right quarter of the immunohistochemistry slide (the held-out
images of ``make_rgb_data.py``) — the ``color10`` set of ``benchmarks/denoise_quality.py``.

    python training/make_color_corpus.py data/color-train      # writes the 14 + 5 training images
    python training/make_color_corpus.py data/color-train2 2   # corpus 2: 28 + 5 (adds 14 lomiri-wallpapers photos)

The packages are fetched with ``apt-get download`` (from the package registry, no hub) into
``data/debian-wallpapers`` and unpacked there with ``dpkg -x``; an existing unpacked copy is reused.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_rgb_data import held_out_images as skimage_held_out  # noqa: E402
from make_rgb_data import training_images as skimage_training  # noqa: E402
from make_rgb_data import write_pngs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "data" / "debian-wallpapers"
MATE = "usr/share/backgrounds/mate/nature"
PLASMA = "usr/share/wallpapers/{}/contents/images/2560x1600.jpg"
LOMIRI = "usr/share/backgrounds"
LONG_SIDE = 1500
HELD_OUT_CROP = 512


@dataclass(frozen=True)
class Photo:
    name: str
    package: str
    path: str
    author: str
    licence: str
    held_out: bool = False
    corpus: int = 1


def contest_photo(name: str, file: str, author: str, licence: str, release: str = "16.04") -> Photo:
    """A corpus-2 photograph of Ubuntu's wallpaper contests, shipped in ``lomiri-wallpapers-RELEASE``."""
    return Photo(name, f"lomiri-wallpapers-{release}", f"{LOMIRI}/{file}", author, licence, corpus=2)


PHOTOS = [
    Photo("aqua", "mate-backgrounds", f"{MATE}/Aqua.jpg", "Charles Barbin", "GPL-2+"),
    Photo("blinds", "mate-backgrounds", f"{MATE}/Blinds.jpg", "Lennart Poettering, Andrea Cimitan", "GPL-2+"),
    Photo("fresh-flower", "mate-backgrounds", f"{MATE}/FreshFlower.jpg", "Jens Ansorg", "GPL-2+"),
    Photo("garden", "mate-backgrounds", f"{MATE}/Garden.jpg", "Charles Barbin", "GPL-2+"),
    Photo("green-meadow", "mate-backgrounds", f"{MATE}/GreenMeadow.jpg", "Timothy Schellhase, Lapo Calamandrei",
          "GPL-2+"),
    Photo("rain-drops", "mate-backgrounds", f"{MATE}/RainDrops.jpg", "blackcombwhistler07", "GPL-2+"),
    Photo("two-wings", "mate-backgrounds", f"{MATE}/TwoWings.jpg", "Charles Barbin, Hylke Bons", "GPL-2+"),
    Photo("yellow-flower", "mate-backgrounds", f"{MATE}/YellowFlower.jpg", "Charles Barbin", "GPL-2+"),
    Photo("by-the-water", "plasma-workspace-wallpapers", PLASMA.format("BytheWater"), "Maciej Wiklo", "LGPL-3"),
    Photo("cold-ripple", "plasma-workspace-wallpapers", PLASMA.format("ColdRipple"), "Risto Saukonpää", "LGPL-3"),
    Photo("fallen-leaf", "plasma-workspace-wallpapers", PLASMA.format("FallenLeaf"), "Martin Klapetek", "LGPL-3"),
    Photo("one-stands-out", "plasma-workspace-wallpapers", PLASMA.format("OneStandsOut"), "Risto Saukonpää",
          "LGPL-3"),
    Photo("path", "plasma-workspace-wallpapers", PLASMA.format("Path"), "Risto Saukonpää", "LGPL-3"),
    Photo("summer-1am", "plasma-workspace-wallpapers", PLASMA.format("summer_1am"), "Risto Saukonpää", "LGPL-3"),
    contest_photo("aitzgorri", "aitzgorri_by_Aitzol_Berasategi.jpg", "Aitzol Berasategi", "CC-BY-4.0"),
    contest_photo("bridge", "Bridge_by_Sander_Klootwijk.jpg", "Sander Klootwijk", "CC-BY-SA-4.0"),
    contest_photo("dragonfly", "Dragonfly_by_Bolly.jpg", "Bolly", "CC-BY-SA-4.0"),
    contest_photo("free", "free_by_Peter_Nerlich.jpg", "Peter Nerlich", "CC-BY-SA-4.0"),
    contest_photo("friends", "friends_by_Aitzol_Berasategi.jpg", "Aitzol Berasategi", "CC-BY-4.0"),
    contest_photo("greentock", "greentock_by_Peter_Nerlich.jpg", "Peter Nerlich", "CC-BY-SA-4.0"),
    contest_photo("life", "life_by_Aitzol_Berasategi.jpg", "Aitzol Berasategi", "CC-BY-4.0"),
    contest_photo("picos-de-europa", "picosdeeuropa_by_Aitzol_Berasategi.jpg", "Aitzol Berasategi", "CC-BY-4.0"),
    contest_photo("picture-0b", "Picture_0B_by_freespace.jpg", "Trevor \"Freespace\"", "CC-BY-4.0"),
    contest_photo("picture-1a", "Picture_1A_by_freespace.jpg", "Trevor \"Freespace\"", "CC-BY-4.0"),
    contest_photo("seeding", "seeding_by_Clements_Engelhardt.jpg", "Clemens Engelhardt", "CC0-1.0"),
    contest_photo("sunset", "sunset_by_Aitzol_Berasategi.jpg", "Aitzol Berasategi", "CC-BY-4.0"),
    contest_photo("wine", "Wine_by_Jakkub_Mede.jpg", "Jakub Mede", "CC-BY-4.0"),
    contest_photo("kleiber", "Kleiber_by_Lukas_Baubkus.jpg", "Lukas Baubkus", "CC-BY-SA-3.0", release="20.04"),
    Photo("ladybird", "mate-backgrounds", f"{MATE}/LadyBird.jpg", "Charles Barbin", "GPL-2+", held_out=True),
    Photo("storm", "mate-backgrounds", f"{MATE}/Storm.jpg", "Sergey Nazarov", "GPL-2+", held_out=True),
    Photo("wood", "mate-backgrounds", f"{MATE}/Wood.jpg", "Jean-François Fortin Tam", "GPL-2+", held_out=True),
    Photo("dune", "mate-backgrounds", f"{MATE}/Dune.jpg", "Marco Cogoni, Hylke Bons", "GPL-2+", held_out=True),
    Photo("evening-glow", "plasma-workspace-wallpapers", PLASMA.format("EveningGlow"), "Ian Hex", "LGPL-3",
          held_out=True),
    Photo("grey", "plasma-workspace-wallpapers", PLASMA.format("Grey"), "Sigi Sagi", "LGPL-3", held_out=True),
    Photo("colorful-cups", "plasma-workspace-wallpapers", PLASMA.format("ColorfulCups"), "Dmitri Popov", "LGPL-3",
          held_out=True),
]


def unpacked(package: str) -> Path:
    """The package's files, fetched with ``apt-get download`` and unpacked with ``dpkg -x`` on first use."""
    target = CACHE / package
    if target.is_dir():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    fetched = subprocess.run(["apt-get", "download", package], cwd=CACHE, capture_output=True, text=True)
    debs = sorted(CACHE.glob(f"{package}_*.deb"))
    if fetched.returncode or not debs:
        raise SystemExit(f"apt-get download {package} failed (try apt-get update first): {fetched.stderr.strip()}")
    subprocess.run(["dpkg", "-x", str(debs[-1]), str(target)], check=True)
    debs[-1].unlink()
    return target


def reduced(photo: Photo) -> np.ndarray:
    """The photograph as uint8 RGB (H, W, 3): corpus 1 at half size, corpus 2 by the whole factor nearest to a
    1,500-pixel long side (the lomiri photographs range from 1,365 to 6,028 pixels)."""
    with Image.open(unpacked(photo.package) / photo.path) as image:
        rgb = image.convert("RGB")
        factor = 2 if photo.corpus == 1 else max(1, round(max(rgb.size) / LONG_SIDE))
        return np.asarray(rgb.reduce(factor))


def centre_crop(pixels: np.ndarray, side: int = HELD_OUT_CROP) -> np.ndarray:
    top, left = (pixels.shape[0] - side) // 2, (pixels.shape[1] - side) // 2
    return np.ascontiguousarray(pixels[top:top + side, left:left + side])


def training_images(corpus: int = 1) -> dict[str, np.ndarray]:
    """Name → uint8 RGB array of every training image: corpus 1 is 14 photographs at half size and 5 scikit-image
    images; corpus 2 adds 14 photographs of Ubuntu's wallpaper contests (lomiri-wallpapers)."""
    photos = {photo.name: reduced(photo) for photo in PHOTOS if not photo.held_out and photo.corpus <= corpus}
    return {**photos, **skimage_training()}


def held_out_images() -> dict[str, np.ndarray]:
    """Name → uint8 RGB array of the 10 held-out images (never trained on by any model)."""
    photos = {photo.name: centre_crop(reduced(photo)) for photo in PHOTOS if photo.held_out}
    return {**skimage_held_out(), **photos}


def main(folder: str, corpus: int = 1) -> None:
    write_pngs(training_images(corpus), folder)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1)
