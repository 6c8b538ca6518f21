"""The shipped weight-tied gray denoiser: equivariant to float rounding without a frame, bit-exact in the canonical one."""

import numpy as np
import pytest
from PIL import Image

import eqdenoise
from conftest import SAMPLES
from eqdenoise.frames.groups import GROUPS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def noisy_crop() -> np.ndarray:
    """A non-square float crop of the held-out noisy cat (σ 25)."""
    return np.asarray(Image.open(SAMPLES / "cat-gray-noisy25.png"), dtype=np.float32)[:72, :104] / 255.0


def test_it_is_shipped_as_equivariant_by_construction_for_d4():
    model = eqdenoise.load_model("gray-d4-wt")
    assert model.equivariant_group == "d4" and model.task == "denoise" and model.channels == 1


@pytest.mark.parametrize("method, tolerance", [("wt", 1e-5), ("canon", 0.0)])
def test_turning_the_input_turns_the_output(noisy_crop, method, tolerance):
    model = eqdenoise.load_model("gray-d4-wt")
    base = eqdenoise.denoise(noisy_crop, model=model, sigma=25.0, method=method)
    assert base.dtype == np.float32 and base.shape == noisy_crop.shape
    for g in GROUPS["d4"]:
        turned = eqdenoise.denoise(g.apply(noisy_crop), model=model, sigma=25.0, method=method)
        assert np.abs(turned - g.apply(base)).max() <= tolerance, g.label


def test_it_restores_the_held_out_photograph(tmp_path):
    clean = np.asarray(Image.open(SAMPLES / "cat-gray.png"), dtype=np.float64)
    noisy = np.asarray(Image.open(SAMPLES / "cat-gray-noisy25.png"))
    out = eqdenoise.denoise(noisy, model="gray-d4-wt", sigma=25.0, method="wt")

    def psnr(image: np.ndarray) -> float:
        return float(10 * np.log10(255.0**2 / np.mean((clean - image.astype(np.float64)) ** 2)))

    assert out.dtype == np.uint8 and psnr(out) - psnr(noisy) >= 7.0
