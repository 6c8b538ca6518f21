"""Schedule identities, Tweedie with an oracle, DDIM behaviour and σ estimation."""

import math

import numpy as np
import pytest
import torch

from conftest import sample_pixels
from eqdenoise.errors import EqdenoiseError
from eqdenoise.noise_level import estimate_sigma
from eqdenoise.pipeline import pad_to_multiple
from eqdenoise.restoration import DenoiseOptions, restore
from eqdenoise.samplers import ddim_sample, tweedie
from eqdenoise.schedule import CosineSchedule

schedule = CosineSchedule()


@pytest.mark.parametrize("t", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_schedule_is_variance_preserving_and_invertible(t):
    assert schedule.alpha(t) ** 2 + schedule.std(t) ** 2 == pytest.approx(1.0)
    assert schedule.sigma(t) == pytest.approx(schedule.std(t) / schedule.alpha(t))
    assert schedule.t_of_sigma(schedule.sigma(t)) == pytest.approx(t)
    assert schedule.sigma(1.0) == pytest.approx(schedule.sigma_max)


def test_add_noise_matches_forward_process():
    x0, eps = torch.rand(2, 1, 4, 4), torch.randn(2, 1, 4, 4)
    t = 0.3
    sigma = torch.full((2,), schedule.sigma(t))
    expected = schedule.alpha(t) * x0 + schedule.std(t) * eps
    assert torch.allclose(schedule.add_noise(x0, eps, sigma), expected, atol=1e-6)


def test_tweedie_and_ddim_recover_x0_with_an_oracle():
    x0 = torch.rand(1, 1, 8, 8) * 1.8 - 0.9
    eps = torch.randn_like(x0)
    t = 0.6
    x_t = schedule.alpha(t) * x0 + schedule.std(t) * eps
    assert torch.allclose(tweedie(x_t, eps, schedule, t), x0, atol=1e-5)

    def oracle(x, time):
        return x0.clone()

    for eta in (0.0, 1.0):
        out = ddim_sample(oracle, schedule, x_t, t, steps=5, eta=eta, generator=torch.Generator().manual_seed(0))
        assert torch.allclose(out, x0, atol=1e-4)


def test_an_eps_network_reaches_the_sampler_as_a_denoiser():
    from eqdenoise.predictors import eps_denoiser

    x0 = torch.rand(1, 1, 8, 8) * 1.8 - 0.9
    eps = torch.randn_like(x0)
    t = 0.45
    x_t = schedule.alpha(t) * x0 + schedule.std(t) * eps
    denoiser = eps_denoiser(lambda x, time: (x - schedule.alpha(time) * x0) / schedule.std(time), schedule)
    torch.testing.assert_close(denoiser(x_t, t), x0, atol=1e-5, rtol=0)
    far = torch.full_like(x0, 3.0)
    assert ddim_sample(lambda x, time: far.clone(), schedule, x_t, t, steps=1).max() == 1.0


def test_ddim_counts_steps_and_rejects_zero():
    calls = []
    ddim_sample(lambda x, t: torch.zeros_like(x), schedule, torch.zeros(1, 1, 4, 4), 0.5, 4,
                on_step=lambda: calls.append(1))
    assert len(calls) == 4
    with pytest.raises(ValueError):
        ddim_sample(lambda x, t: x, schedule, torch.zeros(1, 1, 4, 4), 0.5, 0)


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


def test_padding_reaches_the_stride_and_keeps_size():
    x = torch.rand(1, 1, 13, 6)
    padded, (h, w) = pad_to_multiple(x, 4)
    assert padded.shape[-2:] == (16, 8) and (h, w) == (13, 6)
    assert torch.equal(padded[..., :13, :6], x)
    tiny, _ = pad_to_multiple(torch.rand(1, 1, 1, 2), 4)
    assert tiny.shape[-2:] == (4, 4)


@pytest.mark.parametrize("bad", [dict(sigma=25.0, strength=0.5), dict(sigma=None, strength=1.5), dict(sigma=300.0),
                                 dict(sigma="loud"), dict(steps=0), dict(eta=2.0), dict(method="wt")])
def test_bad_options_are_rejected(tiny_gray, bad):
    with pytest.raises(EqdenoiseError):
        restore(tiny_gray, np.zeros((1, 8, 8), np.float32), DenoiseOptions(**bad))


def test_group_not_trained_for_is_rejected(tmp_path):
    from conftest import write_tiny_checkpoint
    from eqdenoise.checkpoint import load_model

    model = load_model(write_tiny_checkpoint(tmp_path / "c4.safetensors", group="c4"))
    with pytest.raises(EqdenoiseError, match="trained for group 'c4'"):
        restore(model, np.zeros((1, 8, 8), np.float32), DenoiseOptions(group="d4"))
    restore(model, np.zeros((1, 8, 8), np.float32), DenoiseOptions(group="c4"))


def test_clean_input_with_auto_sigma_is_returned_unchanged(tiny_gray):
    pixels = np.full((1, 8, 8), 0.5, np.float32)
    result = restore(tiny_gray, pixels, DenoiseOptions(sigma="auto"))
    assert result.sigma_255 == 0.0
    assert np.array_equal(result.pixels, pixels)
    assert not math.isnan(result.sigma_255)


def test_image_too_large_for_memory_is_refused(tiny_gray, monkeypatch):
    import eqdenoise.pipeline as pipeline_module

    monkeypatch.setattr(pipeline_module, "available_memory", lambda: 10_000)
    with pytest.raises(EqdenoiseError, match="needs about .* GiB of memory"):
        restore(tiny_gray, np.zeros((1, 64, 64), np.float32), DenoiseOptions(sigma=10.0))


@pytest.mark.parametrize("size, tile, overlap", [(100, 32, 8), (64, 64, 8), (257, 64, 16), (40, 64, 8)])
def test_tiles_cover_every_pixel_once(size, tile, overlap):
    from eqdenoise.predictors import tile_spans

    spans = tile_spans(size, tile, overlap)
    owned = [i for _, _, a, b in spans for i in range(a, b)]
    assert owned == list(range(size))
    assert all(start <= a and b <= end and end - start == min(tile, size) for start, end, a, b in spans)


def test_tiled_prediction_equals_whole_for_a_local_operator():
    from eqdenoise.predictors import tiled

    weight = torch.randn(1, 1, 5, 5)

    def local(x, t):
        return torch.nn.functional.conv2d(x, weight, padding=2)

    x = torch.randn(2, 1, 96, 136)
    assert torch.allclose(tiled(local, 32, 8)(x, 0.5), local(x, 0.5), atol=1e-5)
