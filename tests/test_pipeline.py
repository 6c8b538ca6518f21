"""The one place a method is decided: run_method (frame or not, progress) and method_predictor (tiling, fa)."""


import numpy as np
import pytest
import torch

from eqdenoise.canon import canonical_frame
from eqdenoise.errors import EqdenoiseError
from eqdenoise.groups import GROUPS, IDENTITY
from eqdenoise.pipeline import method_predictor, pad_to_multiple, run_method
from eqdenoise.restoration import DenoiseOptions, restore


def test_none_runs_the_pipeline_on_the_input_itself():
    x = torch.rand(1, 1, 6, 9)
    seen, calls = [], []

    def in_frame(batch, on_step, element, noise):
        seen.append((batch, element))
        on_step()
        on_step()
        return batch * 2

    out = run_method(x, "none", GROUPS["d4"], 2, in_frame, lambda done, total: calls.append((done, total)))
    assert seen[0][0] is x and seen[0][1] == IDENTITY
    assert torch.equal(out, x * 2) and calls == [(1, 2), (2, 2)]


def test_canon_runs_the_pipeline_on_the_canonical_array_and_turns_back():
    group = GROUPS["d4"]
    x = torch.rand(1, 1, 6, 9, generator=torch.Generator().manual_seed(2))
    (h,) = canonical_frame(x, group)
    seen = []

    def in_frame(batch, on_step, element, noise):
        seen.append((batch, element))
        on_step()
        return torch.cumsum(batch, dim=-1)

    out = run_method(x, "canon", group, 1, in_frame)
    assert torch.equal(seen[0][0], h.inverse().apply(x)) and seen[0][1] == h
    assert torch.equal(out, h.apply(torch.cumsum(h.inverse().apply(x), dim=-1)))
    for g in group:
        assert torch.equal(run_method(g.apply(x), "canon", group, 1, in_frame), g.apply(out))


def test_only_fa_averages_the_network_over_the_group(tiny_gray):
    group = GROUPS["d4"]
    x = torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(3))

    def network(batch, t):
        return torch.cumsum(batch, dim=-1) * t

    plain = method_predictor(network, tiny_gray, "canon", group, 0)(x, 0.5)
    averaged = method_predictor(network, tiny_gray, "fa", group, 0)(x, 0.5)
    assert torch.equal(plain, network(x, 0.5))
    expected = sum(g.apply(network(g.inverse().apply(x), 0.5)) for g in group) / len(group)
    torch.testing.assert_close(averaged, expected, rtol=0, atol=1e-6)
    for g in group:
        torch.testing.assert_close(method_predictor(network, tiny_gray, "fa", group, 0)(g.apply(x), 0.5),
                                   g.apply(averaged), rtol=0, atol=1e-6)


def test_padding_reaches_the_stride_and_keeps_size():
    x = torch.rand(1, 1, 13, 6)
    padded, (h, w) = pad_to_multiple(x, 4)
    assert padded.shape[-2:] == (16, 8) and (h, w) == (13, 6)
    assert torch.equal(padded[..., :13, :6], x)
    tiny, _ = pad_to_multiple(torch.rand(1, 1, 1, 2), 4)
    assert tiny.shape[-2:] == (4, 4)


def test_image_too_large_for_memory_is_refused(tiny_gray, monkeypatch):
    import eqdenoise.pipeline as pipeline_module

    monkeypatch.setattr(pipeline_module, "available_memory", lambda: 10_000)
    with pytest.raises(EqdenoiseError, match="needs about .* GiB of memory"):
        restore(tiny_gray, np.zeros((1, 64, 64), np.float32), DenoiseOptions(sigma=10.0))
