"""The σ estimate on flat noise, textured photographs and images smaller than a patch."""

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import sample_pixels
from eqdenoise.tasks.noise_level import estimate_sigma


@pytest.mark.parametrize("sigma", [5.0, 15.0, 25.0, 50.0])
def test_sigma_estimate_on_flat_noisy_image(sigma):
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(0.0, sigma / 127.5, size=(1, 128, 96)))
    assert estimate_sigma(x) * 127.5 == pytest.approx(sigma, rel=0.05)


@pytest.mark.parametrize("name", ["cat-gray", "coffee-rgb", "ihc-rgb"])
@pytest.mark.parametrize("sigma", [15.0, 25.0, 50.0])
def test_sigma_estimate_on_textured_photos_is_within_five_percent(name, sigma):
    clean = sample_pixels(f"{name}.png") * 2.0 - 1.0
    noisy = clean + np.random.default_rng(1).normal(0.0, sigma / 127.5, size=clean.shape)
    assert estimate_sigma(torch.from_numpy(noisy)) * 127.5 == pytest.approx(sigma, rel=0.05)


def test_sigma_estimate_of_images_smaller_than_a_patch_uses_pixel_differences():
    x = torch.from_numpy(np.random.default_rng(2).normal(0.0, 0.2, size=(1, 5, 400)))
    assert estimate_sigma(x) == pytest.approx(0.2, rel=0.1)
    assert estimate_sigma(torch.zeros(1, 3, 1)) == 0.0


@pytest.mark.parametrize("subsampling", [1, 2])
def test_sigma_auto_on_a_chroma_subsampled_jpeg_reads_the_noise_the_png_has(tmp_path, tiny_rgb_path, subsampling):
    """4:2:0 JPEG smooths the chroma's noise away: the estimate over all channels read σ ≈ 1.5 where the PNG of the
    same pixels reads ≈ 18; from the luma it reads what the PNG does."""
    from eqdenoise.api import denoise_file

    clean = sample_pixels("coffee-rgb.png", crop=(128, 128)).transpose(1, 2, 0) * 255
    noisy = np.clip(np.rint(clean + np.random.default_rng(7).normal(0, 20, clean.shape)), 0, 255).astype(np.uint8)
    Image.fromarray(noisy).save(tmp_path / "n.png")
    Image.fromarray(noisy).save(tmp_path / "n.jpg", quality=95, subsampling=subsampling)
    (png_sigma,) = denoise_file(tmp_path / "n.png", tmp_path / "o.png", model=tiny_rgb_path)
    (jpeg_sigma,) = denoise_file(tmp_path / "n.jpg", tmp_path / "o.jpg", model=tiny_rgb_path)
    assert 14 < png_sigma < 22
    assert abs(jpeg_sigma - png_sigma) < 0.1 * png_sigma, (jpeg_sigma, png_sigma)
