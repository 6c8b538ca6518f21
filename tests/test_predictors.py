"""Predictors: the ε-to-x̂0 contract, tiles, and frame averaging in one batch with a network prepared once."""

import pytest
import torch

from eqdenoise.diffusion.samplers import ddim_sample
from eqdenoise.diffusion.schedule import CosineSchedule
from eqdenoise.frames.groups import GROUPS
from eqdenoise.tasks.predictors import eps_predictor, frame_averaged

schedule = CosineSchedule()


def test_an_eps_network_reaches_the_sampler_as_a_denoiser():
    from eqdenoise.tasks.predictors import eps_denoiser

    x0 = torch.rand(1, 1, 8, 8) * 1.8 - 0.9
    eps = torch.randn_like(x0)
    t = 0.45
    x_t = schedule.alpha(t) * x0 + schedule.std(t) * eps
    denoiser = eps_denoiser(lambda x, time: (x - schedule.alpha(time) * x0) / schedule.std(time), schedule)
    torch.testing.assert_close(denoiser(x_t, t), x0, atol=1e-5, rtol=0)
    far = torch.full_like(x0, 3.0)
    assert ddim_sample(lambda x, time: far.clone(), schedule, x_t, t, steps=1).max() == 1.0


@pytest.mark.parametrize("size, tile, overlap", [(100, 32, 8), (64, 64, 8), (257, 64, 16), (40, 64, 8)])
def test_tiles_cover_every_pixel_once(size, tile, overlap):
    from eqdenoise.tasks.predictors import tile_spans

    spans = tile_spans(size, tile, overlap)
    owned = [i for _, _, a, b in spans for i in range(a, b)]
    assert owned == list(range(size))
    assert all(start <= a and b <= end and end - start == min(tile, size) for start, end, a, b in spans)


def test_tiled_prediction_equals_whole_for_a_local_operator():
    from eqdenoise.tasks.predictors import tiled

    weight = torch.randn(1, 1, 5, 5)

    def local(x, t):
        return torch.nn.functional.conv2d(x, weight, padding=2)

    x = torch.randn(2, 1, 96, 136)
    assert torch.allclose(tiled(local, 32, 8)(x, 0.5), local(x, 0.5), atol=1e-5)


def test_frame_averaging_in_one_batch_equals_one_pass_per_element(tiny_gray):
    predict = eps_predictor(tiny_gray)
    group = GROUPS["d4"]
    for shape in ((1, 1, 12, 12), (1, 1, 8, 12)):
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
        batched = frame_averaged(predict, group)(x, 0.4)
        single = sum(g.apply(predict(g.inverse().apply(x), 0.4)) for g in group) / len(group)
        assert not torch.equal(single, torch.zeros_like(single))
        torch.testing.assert_close(batched, single, rtol=0, atol=1e-5 * float(single.abs().max()))


def test_inference_network_is_prepared_once(tiny_gray):
    first = tiny_gray.inference_network()
    assert tiny_gray.inference_network() is first
    assert first is not tiny_gray.network
