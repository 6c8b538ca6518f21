"""Reading and writing image files: PNG, JPEG and TIFF in 8/16-bit gray, RGB, and float.

Pixel values are returned as float32 arrays of shape (C, H, W) scaled to [0, 1] by the file's bit
depth; alpha is split off and given back untouched when writing, in the same mode and format. What
describes the pixels is carried to the output: the ICC profile, EXIF (so an orientation tag keeps the
result displaying as the input did), resolution, PNG text, and TIFF description (ImageJ, OME-XML),
resolution and orientation tags, and lossless compression.
"""

from __future__ import annotations

import os
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence, PngImagePlugin, UnidentifiedImageError

from ..errors import EqdenoiseError, first_line
from .atomic import atomic_path, check_replaceable
from .input_files import check_input_file

SUPPORTED_FORMATS = {"PNG", "JPEG", "TIFF"}
MAX_PIXELS = 64_000_000
MAX_PAGES = 10_000
_UNSIGNED_16_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
_SIXTEEN_BIT_MODES = (*_UNSIGNED_16_BIT_MODES, "I")
TIFF_TAGS_KEPT = (270, 274, 282, 283, 296, 315, 33432)
TIFF_LOSSLESS = {"raw", "tiff_lzw", "tiff_adobe_deflate", "packbits"}


@dataclass
class LoadedImage:
    """Pixels of one file with what is needed to write a result in the same form."""

    path: Path
    pixels: np.ndarray
    alpha: np.ndarray | None
    mode: str
    format: str
    peak: float
    metadata: dict = field(default_factory=dict)
    noise_in_luma: bool = False
    transparency: int | tuple[int, ...] | None = None

    @property
    def color(self) -> bool:
        return self.pixels.shape[0] == 3


def read_image(path: Path) -> LoadedImage:
    """Read a single-page file into [0, 1] float pixels, with one clear error for anything unusable."""
    pages = read_pages(path)
    if len(pages) > 1:
        raise EqdenoiseError(f"{path}: has {len(pages)} pages; this command takes single-page images "
                             "(save each page as its own file)")
    return pages[0]


def read_pages(path: Path) -> list[LoadedImage]:
    """Read every page of a file (one for PNG and JPEG, one or more for a TIFF stack) into [0, 1] float pixels."""
    path = Path(path)
    check_input_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                fmt = image.format or ""
                if fmt not in SUPPORTED_FORMATS:
                    raise EqdenoiseError(f"{path}: {fmt or 'unknown'} files are not supported (use PNG, JPEG or TIFF)")
                frames, pixels = [], 0
                for frame in ImageSequence.Iterator(image):
                    if len(frames) == MAX_PAGES:
                        raise EqdenoiseError(f"{path}: has more than {MAX_PAGES:,} pages; split the stack into "
                                             "files of fewer pages")
                    pixels += frame.width * frame.height
                    if pixels > MAX_PIXELS:
                        raise EqdenoiseError(f"{path}: {_size(frame, len(frames))} is larger than the "
                                             f"{MAX_PIXELS // 1_000_000} megapixel limit")
                    _check_depth(frame, path, fmt)
                    metadata = _metadata(frame, fmt)
                    frame.load()
                    frames.append((frame.copy(), metadata, _reads_inverted(frame, fmt), _noise_in_luma(frame, fmt)))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise EqdenoiseError(f"{path}: image is too large to process safely") from None
    except UnidentifiedImageError:
        raise EqdenoiseError(f"{path}: not a readable image (unknown or unsupported format)") from None
    except PermissionError as exc:
        raise EqdenoiseError(f"{path}: cannot be read ({exc.strerror})") from None
    except MemoryError:
        raise EqdenoiseError(f"{path}: not enough memory to read this file (a damaged header may claim more data "
                             "than it holds)") from None
    except EqdenoiseError:
        raise
    except Exception as exc:
        raise EqdenoiseError(f"{path}: image file is damaged or truncated ({first_line(exc)})") from None
    return [_to_pixels(frame, path, fmt, metadata, inverted, luma) for frame, metadata, inverted, luma in frames]


def _check_depth(frame: Image.Image, path: Path, fmt: str) -> None:
    """Refuse a page whose samples Pillow would not decode faithfully: 16-bit colour or gray+alpha (read as 8-bit),
    any TIFF whose declared sample depth or format is not that of the mode Pillow reads it in (separate 16-bit
    planes, signed integers, 2- or 12-bit samples), and a MinIsWhite TIFF that Pillow would not invert."""
    if fmt == "TIFF":
        _check_tiff_samples(frame, path)
    for tile in frame.tile or []:
        args = tile.args if hasattr(tile, "args") else tile[3]
        rawmode = args[0] if isinstance(args, tuple) and args else args
        if isinstance(rawmode, str) and ";16" in rawmode and frame.mode not in _SIXTEEN_BIT_MODES:
            kind = "colour" if rawmode.startswith(("RGB", "BGR")) else "gray+alpha"
            raise EqdenoiseError(f"{path}: 16-bit {kind} images are not supported (they would lose their low 8 bits); "
                                 "save it as 16-bit gray planes or 8-bit")


TIFF_BITS, TIFF_SAMPLE_FORMAT, TIFF_PHOTOMETRIC, TIFF_PLANAR = 258, 339, 262, 284
DECODED_BITS = {"1": (1,), "L": (8,), "LA": (8,), "RGB": (8,), "RGBA": (8,), "P": (1, 2, 4, 8), "F": (32,),
                "I;16": (16,), "I;16B": (16,), "I;16L": (16,), "I;16N": (16,), "I": (16, 32)}
SAMPLE_FORMATS = {2: "signed integer", 3: "float"}


def _check_tiff_samples(frame: Image.Image, path: Path) -> None:
    """Compare a TIFF page's BitsPerSample, SampleFormat and photometric tags with the mode Pillow decoded."""
    tags = getattr(frame, "tag_v2", {})
    bits = tuple(int(b) for b in _as_tuple(tags.get(TIFF_BITS, (1,))))
    formats = {int(f) for f in _as_tuple(tags.get(TIFF_SAMPLE_FORMAT, (1,)))}
    colour = "colour" if len(bits) >= 3 else "gray+alpha" if len(bits) == 2 else "gray"
    planes = " stored as separate planes" if tags.get(TIFF_PLANAR) == 2 and len(bits) > 1 else ""
    if tags.get(TIFF_PLANAR) == 2 and len(bits) == 2:
        raise EqdenoiseError(f"{path}: gray+alpha images stored as separate planes are not supported (Pillow would "
                             "lose the alpha); save them interleaved")
    if formats == {2} and bits[0] <= 16:
        raise EqdenoiseError(f"{path}: signed {bits[0]}-bit integer TIFF is not supported; save it as unsigned "
                             "16-bit (e.g. shifted by 32768) or as 32-bit float")
    expected = DECODED_BITS.get(frame.mode)
    if expected is not None and (any(b not in expected for b in bits) or (frame.mode == "F") != (formats == {3})):
        kind = "" if formats <= {1} else f"{SAMPLE_FORMATS.get(min(formats), 'unknown-format')} "
        raise EqdenoiseError(f"{path}: {'/'.join(map(str, sorted(set(bits))))}-bit {kind}{colour} images{planes} are "
                             "not supported (Pillow would not read them faithfully); save it as 8- or 16-bit gray, "
                             "8-bit RGB or 32-bit float gray")
    if tags.get(TIFF_PHOTOMETRIC) == 0 and frame.mode not in ("1", "L", *_UNSIGNED_16_BIT_MODES):
        raise EqdenoiseError(f"{path}: MinIsWhite (inverted) {frame.mode} TIFF is not supported; save it MinIsBlack")


def _as_tuple(value: object) -> tuple:
    """A TIFF tag's value as a tuple (Pillow gives single values bare)."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _reads_inverted(frame: Image.Image, fmt: str) -> bool:
    """A 16-bit MinIsWhite TIFF page, whose values Pillow leaves as stored (0 = white): inverted when read."""
    return fmt == "TIFF" and getattr(frame, "tag_v2", {}).get(TIFF_PHOTOMETRIC) == 0 and frame.mode in _UNSIGNED_16_BIT_MODES


def _noise_in_luma(frame: Image.Image, fmt: str) -> bool:
    """A colour JPEG whose chroma is subsampled (4:2:0, 4:2:2, …): its noise survives in the luma only."""
    layers = getattr(frame, "layer", None)
    if fmt != "JPEG" or frame.mode != "RGB" or not layers or len(layers) != 3:
        return False
    return any(layers[0][axis] > layers[1][axis] or layers[0][axis] > layers[2][axis] for axis in (1, 2))


def _size(frame: Image.Image, before: int) -> str:
    """A page's size for an error line, with the pages before it when it is not the first."""
    return f"{frame.width}×{frame.height}" + (f" (with the {before} pages before it)" if before else "")


def _to_pixels(image: Image.Image, path: Path, fmt: str, metadata: dict, inverted: bool = False,
               noise_in_luma: bool = False) -> LoadedImage:
    """Split a Pillow image into scaled colour/gray channels and an optional alpha plane (``inverted``: a MinIsWhite
    page, whose stored values are turned into intensities)."""
    mode = image.mode
    alpha = None
    transparency = image.info.get("transparency") if fmt == "PNG" and mode in ("L", "RGB", *_SIXTEEN_BIT_MODES) else None
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode == "1":
        image = image.convert("L")
    if image.mode in ("RGBA", "LA"):
        alpha = np.asarray(image.getchannel("A"))
        image = image.convert("RGB" if image.mode == "RGBA" else "L")
    if image.mode == "L":
        data, peak = np.asarray(image, dtype=np.float32)[None], 255.0
    elif image.mode == "RGB":
        data, peak = np.asarray(image, dtype=np.float32).transpose(2, 0, 1), 255.0
    elif image.mode in _SIXTEEN_BIT_MODES:
        raw = np.asarray(image).astype(np.float64)
        if raw.min() < 0 or raw.max() > 65535:
            raise EqdenoiseError(f"{path}: 32-bit integer pixel values outside 0..65535 are not supported")
        data, peak = (65535.0 - raw if inverted else raw).astype(np.float32)[None], 65535.0
    elif image.mode == "F":
        data, peak = np.asarray(image, dtype=np.float32)[None], 1.0
        if not np.isfinite(data).all():
            raise EqdenoiseError(f"{path}: image contains NaN or infinite values")
    else:
        raise EqdenoiseError(f"{path}: image mode {mode!r} is not supported (use gray, RGB or their alpha forms)")
    return LoadedImage(path=path, pixels=np.ascontiguousarray(data / peak), alpha=alpha, mode=mode,
                       format=fmt, peak=peak, metadata=metadata, noise_in_luma=noise_in_luma,
                       transparency=transparency)


def _metadata(image: Image.Image, fmt: str) -> dict:
    """Save options that carry a page's description to the output: ICC, EXIF, resolution, text, TIFF tags."""
    info, kept = image.info, {}
    if info.get("icc_profile"):
        kept["icc_profile"] = info["icc_profile"]
    if fmt == "TIFF":
        tags = getattr(image, "tag_v2", {})
        kept["tiffinfo"] = {tag: tags[tag] for tag in TIFF_TAGS_KEPT if tag in tags}
        if info.get("compression") in TIFF_LOSSLESS:
            kept["compression"] = info["compression"]
        return kept
    exif = image.getexif()
    if len(exif):
        kept["exif"] = exif.tobytes()
    if info.get("dpi"):
        kept["dpi"] = tuple(float(value) for value in info["dpi"])
    if fmt == "PNG":
        chunks = PngImagePlugin.PngInfo()
        for key, value in (getattr(image, "text", None) or {}).items():
            chunks.add_itxt(key, value)
        for name, data in _colour_space_chunks(info):
            chunks.add(name, data)
        if chunks.chunks:
            kept["pnginfo"] = chunks
    if fmt == "JPEG" and info.get("comment"):
        kept["comment"] = info["comment"]
    return kept


def _colour_space_chunks(info: dict) -> list[tuple[bytes, bytes]]:
    """The PNG gAMA, cHRM and sRGB chunks Pillow read (into ``gamma``, ``chromaticity``, ``srgb``), as raw chunks."""
    chunks = []
    if isinstance(info.get("gamma"), (int, float)):
        chunks.append((b"gAMA", struct.pack(">I", round(info["gamma"] * 100_000))))
    chromaticity = info.get("chromaticity")
    if isinstance(chromaticity, tuple) and len(chromaticity) == 8:
        chunks.append((b"cHRM", struct.pack(">8I", *(round(value * 100_000) for value in chromaticity))))
    if isinstance(info.get("srgb"), int):
        chunks.append((b"sRGB", bytes([info["srgb"]])))
    return chunks


def quantize(pixels: np.ndarray, peak: float) -> np.ndarray:
    """Round [0, 1] pixels to the integer grid of a bit depth (or keep floats for float images)."""
    if peak == 1.0:
        return pixels.astype(np.float32)
    dtype = np.uint8 if peak == 255.0 else np.uint16
    return np.clip(np.rint(pixels.astype(np.float64) * peak), 0, peak).astype(dtype)


def to_pil(source: LoadedImage, pixels: np.ndarray) -> Image.Image:
    """Build a Pillow image from result pixels (C, H, W) in the source's mode, alpha re-attached."""
    values = quantize(pixels, source.peak)
    if source.transparency is not None:
        values = _keep_transparent(values, source)
    if source.peak == 1.0:
        image = Image.fromarray(values[0], mode="F")
    elif source.peak == 65535.0:
        image = Image.fromarray(values[0].astype(np.uint16))
        if source.mode == "I":
            image = image.convert("I")
    elif source.mode == "1":
        image = Image.fromarray(values[0] > 127)
    elif values.shape[0] == 3:
        image = Image.fromarray(values.transpose(1, 2, 0), mode="RGB")
    else:
        image = Image.fromarray(values[0], mode="L")
    if source.alpha is not None:
        if source.alpha.shape != values.shape[1:]:
            raise ValueError("alpha plane does not match the result's size")
        image = image.convert("RGBA" if image.mode == "RGB" else "LA")
        image.putalpha(Image.fromarray(source.alpha))
    return image


def _keep_transparent(values: np.ndarray, source: LoadedImage) -> np.ndarray:
    """Result levels under a PNG colour key (tRNS): the input's transparent pixels keep the key, and a visible pixel
    that rounds onto the key moves one level off it, so exactly the same pixels are transparent."""
    key = np.asarray(source.transparency, dtype=np.int64).reshape(-1, 1)
    if key.shape[0] != values.shape[0]:
        return values
    levels = values.astype(np.int64).reshape(values.shape[0], -1)
    hidden = (quantize(source.pixels, source.peak).reshape(levels.shape) == key).all(axis=0)
    levels[:, hidden] = key
    clashing = (levels == key).all(axis=0) & ~hidden
    levels[0, clashing] += 1 if key[0, 0] < source.peak else -1
    return levels.reshape(values.shape).astype(values.dtype)


def check_output(source: Path, path: Path, overwrite: bool, source_format: str | None = None) -> None:
    """Refuse an output that is the input, exists without ``overwrite``, has no folder, or names another format."""
    path = Path(path)
    check_replaceable(path)
    if path.exists() and Path(source).exists() and os.path.samefile(path, source):
        raise EqdenoiseError(f"{path}: refusing to overwrite the input file")
    if os.path.lexists(path) and not overwrite:
        raise EqdenoiseError(f"{path}: output exists (use --overwrite to replace it, or --skip-existing to keep it)")
    if not path.parent.is_dir():
        raise EqdenoiseError(f"{path}: output folder {path.parent} does not exist")
    named = Image.registered_extensions().get(path.suffix.lower())
    if source_format and named and named != source_format:
        raise EqdenoiseError(f"{path}: the output keeps the input's format ({source_format}); "
                             f"give it a {source_format} extension")


def write_image(source: LoadedImage, pixels: np.ndarray, path: Path, overwrite: bool = False) -> None:
    """Write result pixels atomically to ``path`` in the source's format; never onto the input."""
    write_pages([source], [pixels], path, overwrite=overwrite)


def write_pages(sources: list[LoadedImage], results: list[np.ndarray], path: Path, overwrite: bool = False) -> None:
    """Write one result per source page atomically to ``path``, as a stack if there are several; never onto the input."""
    path = Path(path)
    first = sources[0]
    check_output(first.path, path, overwrite, first.format)
    images = [to_pil(source, pixels) for source, pixels in zip(sources, results, strict=True)]
    options = _save_options(first)
    if len(images) > 1:
        for image, source in zip(images[1:], sources[1:], strict=True):
            image.encoderinfo = _save_options(source)
        options.update(save_all=True, append_images=images[1:])
    try:
        with atomic_path(path, replace=overwrite) as tmp:
            images[0].save(tmp, format=first.format, **options)
    except OSError as exc:
        raise EqdenoiseError(f"{path}: could not write output ({exc})") from None


def _save_options(source: LoadedImage) -> dict:
    """Pillow save options that give an output page the source page's description and form."""
    options = dict(source.metadata)
    if source.format == "JPEG":
        options["quality"] = 95
    if source.transparency is not None:
        options["transparency"] = source.transparency
    return options


def image_files(folder: Path) -> list[Path]:
    """Image files directly inside a folder, sorted by name."""
    suffixes = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in suffixes and p.is_file())
