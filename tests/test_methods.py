"""Methods as objects, one definition each: run (frame or not, progress), predictor (tiling, fa), pad, check, promise."""


import numpy as np
import pytest
import torch

from eqdenoise.errors import EqdenoiseError
from eqdenoise.frames.canon import canonical_frame
from eqdenoise.frames.groups import GROUPS, IDENTITY
from eqdenoise.tasks.methods import METHODS, Method, get_method, pad_to_multiple
from eqdenoise.tasks.restoration import DenoiseOptions, restore


def test_none_runs_the_pipeline_on_the_input_itself():
    x = torch.rand(1, 1, 6, 9)
    seen, calls = [], []

    def in_frame(batch, on_step, element, noise):
        seen.append((batch, element))
        on_step()
        on_step()
        return batch * 2

    out = METHODS["none"].run(x, GROUPS["d4"], 2, in_frame, lambda done, total: calls.append((done, total)), 0,
                              "canonical")
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

    out = METHODS["canon"].run(x, group, 1, in_frame, None, 0, "canonical")
    assert torch.equal(seen[0][0], h.inverse().apply(x)) and seen[0][1] == h
    assert torch.equal(out, h.apply(torch.cumsum(h.inverse().apply(x), dim=-1)))
    for g in group:
        assert torch.equal(METHODS["canon"].run(g.apply(x), group, 1, in_frame, None, 0, "canonical"), g.apply(out))


def test_only_fa_averages_the_network_over_the_group(tiny_gray):
    group = GROUPS["d4"]
    x = torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(3))

    def network(batch, t):
        return torch.cumsum(batch, dim=-1) * t

    plain = METHODS["canon"].predictor(network, tiny_gray, group, 0, IDENTITY)(x, 0.5)
    averaged = METHODS["fa"].predictor(network, tiny_gray, group, 0, IDENTITY)(x, 0.5)
    assert torch.equal(plain, network(x, 0.5))
    expected = sum(g.apply(network(g.inverse().apply(x), 0.5)) for g in group) / len(group)
    torch.testing.assert_close(averaged, expected, rtol=0, atol=1e-6)
    for g in group:
        torch.testing.assert_close(METHODS["fa"].predictor(network, tiny_gray, group, 0, IDENTITY)(g.apply(x), 0.5),
                                   g.apply(averaged), rtol=0, atol=1e-6)


def test_padding_reaches_the_stride_and_keeps_size():
    x = torch.rand(1, 1, 13, 6)
    padded, (h, w) = pad_to_multiple(x, 4)
    assert padded.shape[-2:] == (16, 8) and (h, w) == (13, 6)
    assert torch.equal(padded[..., :13, :6], x)
    tiny, _ = pad_to_multiple(torch.rand(1, 1, 1, 2), 4)
    assert tiny.shape[-2:] == (4, 4)


def test_image_too_large_for_memory_is_refused(tiny_gray, monkeypatch):
    import eqdenoise.tasks.pipeline as pipeline_module

    monkeypatch.setattr(pipeline_module, "available_memory", lambda: 10_000)
    with pytest.raises(EqdenoiseError, match="needs about .* GiB of memory"):
        restore(tiny_gray, np.zeros((1, 64, 64), np.float32), DenoiseOptions(sigma=10.0))


def test_a_method_is_one_definition_and_no_other_module_compares_method_names():
    """Every name in METHODS is only ever looked up there: no line of another module that speaks of a method holds
    a method's name in quotes (a comparison, a default, a choice)."""
    import re
    from pathlib import Path

    import eqdenoise

    quoted = re.compile(r"method.*[\"'](" + "|".join(METHODS) + r")[\"']")
    for path in Path(eqdenoise.__file__).parent.rglob("*.py"):
        if path.name != "methods.py":
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                assert not quoted.search(line), f"{path.name}:{number}: {line.strip()}"


def test_a_new_method_is_one_definition_passed_where_a_name_goes(tiny_gray):
    """A toy method (canon, with its result mirrored) given as an object runs through every task unchanged."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Mirrored(Method):
        def run(self, batch, group, steps, in_frame, progress, seed, noise_frame):
            return super().run(batch, group, steps, in_frame, progress, seed, noise_frame).flip(-1)

    toy = Mirrored("mirrored", "canon, mirrored")
    image = np.random.default_rng(0).random((1, 10, 12)).astype(np.float32)
    plain = restore(tiny_gray, image, DenoiseOptions(sigma=20.0)).pixels
    mirrored = restore(tiny_gray, image, DenoiseOptions(sigma=20.0, method=toy)).pixels
    np.testing.assert_array_equal(mirrored, plain[..., ::-1])
    assert get_method(toy) is toy and get_method("fa") is METHODS["fa"]
    with pytest.raises(EqdenoiseError, match="unknown method 'magic'; choose one of canon, fa, wt, none"):
        get_method("magic")
