"""End-to-end checks with the shipped gray-d4 and rgb-d4 models on photographs they never saw."""

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import SAMPLES, SHARED_DATA, save_png
from eqdenoise.cli import app
from eqdenoise.nets.registry import manifest, models_dir, sha256

pytestmark = pytest.mark.slow
runner = CliRunner()


def psnr(clean: np.ndarray, result: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((clean.astype(np.float64) - result.astype(np.float64)) ** 2)))


def test_manifest_matches_files():
    entries = {e["name"]: e for e in manifest()}
    shipped = {"gray-d4", "gray-d4-large", "gray-d4-fast", "rgb-d4", "rgb-d4-fast", "rgb-d4-opponent",
               "rgb-d4-split"}
    assert shipped <= set(entries)
    for entry in entries.values():
        assert sha256(models_dir() / entry["file"]) == entry["sha256"]


@pytest.mark.parametrize("width", [80, 200])
def test_models_lists_every_name_whole(width):
    listing = runner.invoke(app, ["models"], terminal_width=width)
    assert listing.exit_code == 0
    assert all(f"│ {entry['name']} " in listing.output for entry in manifest())


@pytest.mark.parametrize("name, model", [("cat-gray", []), ("coffee-rgb", []), ("ihc-rgb", []),
                                         ("cat-gray", ["-m", "gray-d4-large"]), ("cat-gray", ["-m", "gray-d4-fast"]),
                                         ("coffee-rgb", ["-m", "gray-d4-fast"]), ("ihc-rgb", ["-m", "gray-d4-fast"])])
def test_default_mode_gains_at_least_7_db_on_unseen_photographs(tmp_path, name, model):
    noisy_path = SAMPLES / f"{name}-noisy25.png"
    out = tmp_path / "out.png"
    result = runner.invoke(app, ["denoise", str(noisy_path), "-o", str(out), *model])
    assert result.exit_code == 0, result.output
    clean = np.asarray(Image.open(SAMPLES / f"{name}.png"))
    before = psnr(clean, np.asarray(Image.open(noisy_path)))
    after = psnr(clean, np.asarray(Image.open(out)))
    assert Image.open(out).mode == Image.open(noisy_path).mode
    assert after - before >= 7.0, f"{before:.2f} dB → {after:.2f} dB"


@pytest.mark.parametrize("prior", ["rgb-d4", "rgb-d4-fast", "rgb-d4-opponent", "rgb-d4-split", "gray-d4-fast"])
@pytest.mark.parametrize("name", ["coffee-rgb", "ihc-rgb"])
def test_rgb_prior_beats_non_local_means_on_held_out_crops(tmp_path, name, prior):
    from skimage.restoration import denoise_nl_means

    noisy_path = SAMPLES / f"{name}-noisy25.png"
    clean = np.asarray(Image.open(SAMPLES / f"{name}.png"))
    out = tmp_path / "out.png"
    assert runner.invoke(app, ["denoise", str(noisy_path), "-o", str(out), "-m", prior]).exit_code == 0
    noisy = np.asarray(Image.open(noisy_path), dtype=np.float64) / 255
    nlm = denoise_nl_means(noisy, h=0.8 * 25 / 255, sigma=25 / 255, patch_size=5, patch_distance=6, fast_mode=True,
                           channel_axis=-1)
    ours, theirs = psnr(clean, np.asarray(Image.open(out))), psnr(clean, np.clip(np.rint(nlm * 255), 0, 255))
    assert ours >= theirs + 0.5, f"{prior} {ours:.2f} dB, non-local means {theirs:.2f} dB"


def sample_crop(path, name: str, top: int, left: int, height: int, width: int):
    """A crop of a sample image, saved as a PNG at ``path``."""
    pixels = np.asarray(Image.open(SAMPLES / name), dtype=np.float32) / 255
    pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    return save_png(path, pixels[:, top:top + height, left:left + width])


def assert_verify_is_exact(image, *options: str) -> None:
    result = runner.invoke(app, ["verify", str(image), "--json", *options])
    assert result.exit_code == 0, result.output
    assert all(e["max_abs_diff"] == 0 for e in json.loads(result.stdout)["elements"])


@pytest.mark.parametrize("extra", [["--steps", "2", "--eta", "0"], ["--steps", "2", "--eta", "1"],
                                   ["--strength", "0.4", "--steps", "2"]])
@pytest.mark.parametrize("method", ["canon", "fa"])
@pytest.mark.parametrize("name, crop", [("cat-gray-noisy25.png", (40, 64)), ("coffee-rgb-noisy25.png", (48, 36)),
                                        ("ihc-rgb-noisy25.png", (36, 44))])
def test_verify_is_exact_with_the_shipped_model(tmp_path, method, extra, name, crop):
    assert_verify_is_exact(sample_crop(tmp_path / "crop.png", name, 30, 50, *crop), "--method", method, *extra)


@pytest.mark.parametrize("model, name, crop", [
    ("gray-d4-large", "cat-gray-noisy25.png", (30, 50, 40, 67)),
    ("gray-d4-fast", "cat-gray-noisy25.png", (30, 50, 40, 67)),
    ("rgb-d4-opponent", "coffee-rgb-noisy25.png", (40, 60, 44, 37)),
    ("rgb-d4-fast", "coffee-rgb-noisy25.png", (40, 60, 44, 37)),
])
@pytest.mark.parametrize("method", ["canon", "fa"])
def test_verify_is_exact_with_the_other_models(tmp_path, model, method, name, crop):
    assert_verify_is_exact(sample_crop(tmp_path / "crop.png", name, *crop), "-m", model, "--method", method)


def test_bf16_is_within_a_twentieth_of_a_db_of_fp32_and_exactly_equivariant(tmp_path):
    noisy_path = SAMPLES / "cat-gray-noisy25.png"
    clean = np.asarray(Image.open(SAMPLES / "cat-gray.png"))
    outputs = {}
    for precision in ("fp32", "bf16"):
        outputs[precision] = tmp_path / f"{precision}.png"
        result = runner.invoke(app, ["denoise", str(noisy_path), "-o", str(outputs[precision]), "--sigma", "25",
                                     "--precision", precision])
        assert result.exit_code == 0, result.output
    exact, fast = (np.asarray(Image.open(outputs[p])) for p in ("fp32", "bf16"))
    assert not np.array_equal(exact, fast)
    assert abs(psnr(clean, exact) - psnr(clean, fast)) < 0.05
    pixels = np.asarray(Image.open(noisy_path), dtype=np.float32)[None, 20:68, 40:100] / 255
    image = save_png(tmp_path / "crop.png", pixels)
    for method in ("canon", "fa"):
        result = runner.invoke(app, ["verify", str(image), "--method", method, "--precision", "bf16", "--json"])
        assert result.exit_code == 0, result.output
        assert all(e["max_abs_diff"] == 0 for e in json.loads(result.stdout)["elements"])


def test_verify_shows_the_plain_network_is_not_exact(tmp_path):
    pixels = np.asarray(Image.open(SAMPLES / "cat-gray-noisy25.png"), dtype=np.float32)[None, :48, :72] / 255
    image = save_png(tmp_path / "crop.png", pixels)
    result = runner.invoke(app, ["verify", str(image), "--method", "none", "--sigma", "25", "--json"])
    assert result.exit_code == 1
    assert max(e["max_abs_diff"] for e in json.loads(result.stdout)["elements"]) > 0


@pytest.mark.skipif(not (SHARED_DATA / "Set12").is_dir(), reason="standard test sets in ../shared/data absent")
def test_set12_quality_under_the_standard_protocol():
    from eqdenoise.nets.registry import resolve_model
    from eqdenoise.tasks.restoration import DenoiseOptions, restore

    model = resolve_model("gray-d4", task="denoise")
    clean = np.asarray(Image.open(SHARED_DATA / "Set12" / "05.png"), dtype=np.float64)
    noisy = clean + 25 * np.random.default_rng(0).standard_normal(clean.shape)
    out = restore(model, (noisy / 255)[None].astype(np.float32), DenoiseOptions(sigma=25.0)).pixels[0]
    assert psnr(clean, np.clip(np.rint(out * 255), 0, 255)) > 29.5
