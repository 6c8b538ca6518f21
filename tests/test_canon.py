"""Canonical frames: Fr(k·x) = k·Fr(x) exactly, tie sets, and the order-free mean."""

import itertools

import pytest
import torch

from eqdenoise.frames.canon import canonical_frame, frame_scores, order_free_mean, run_in_frame
from eqdenoise.frames.groups import GROUPS


@pytest.mark.parametrize("group", ["flip", "c4", "d4"])
@pytest.mark.parametrize("shape", [(1, 9, 13), (3, 8, 8), (2, 1, 5, 4)])
def test_frame_is_equivariant(group, shape):
    g = GROUPS[group]
    for seed in range(5):
        x = torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1
        frame = canonical_frame(x, g)
        for k in g:
            assert canonical_frame(k.apply(x), g) == sorted(k * h for h in frame)


def test_canonical_array_is_the_same_for_every_orientation():
    x = torch.rand(1, 6, 11) * 2 - 1
    group = GROUPS["d4"]
    canon_arrays = []
    for k in group:
        moved = k.apply(x)
        (h,) = canonical_frame(moved, group)
        canon_arrays.append(h.inverse().apply(moved))
    assert all(torch.equal(canon_arrays[0], a) for a in canon_arrays)


def test_ties_give_the_whole_stabiliser():
    flat = torch.zeros(1, 6, 6)
    assert len(canonical_frame(flat, GROUPS["d4"])) == 8
    mirror_symmetric = torch.rand(1, 6, 3)
    mirror_symmetric = torch.cat([mirror_symmetric, mirror_symmetric.flip(-1)], dim=-1)
    assert len(canonical_frame(mirror_symmetric, GROUPS["flip"])) == 2


def test_scores_are_exact_integers():
    x = torch.rand(3, 7, 5) * 2 - 1
    scores = frame_scores(x, GROUPS["d4"])
    assert all(isinstance(s, int) for s in scores)
    assert len(set(scores)) == 8


def test_order_free_mean_does_not_depend_on_order():
    terms = [torch.randn(4, 5) * 10 ** i for i in range(4)]
    reference = order_free_mean(terms)
    for perm in itertools.permutations(terms):
        assert torch.equal(order_free_mean(list(perm)), reference)
    assert torch.allclose(reference, torch.stack(terms).mean(0))


@pytest.mark.parametrize("symmetric", [False, True])
def test_run_in_frame_makes_any_function_exactly_equivariant(symmetric):
    group = GROUPS["d4"]
    x = torch.rand(2, 7, 10) * 2 - 1
    if symmetric:
        x = torch.zeros(2, 8, 8)
        x[:, 2:6, 2:6] = 0.5
    weight = torch.randn(3, 2, 3, 3)

    def not_equivariant(a):
        y = torch.nn.functional.conv2d(a[None], weight, padding=1)[0, :2]
        return torch.cumsum(y, dim=-1) + torch.linspace(0, 1, a.shape[-1])

    reference = run_in_frame(lambda a, h: not_equivariant(a), x, group)
    for k in group:
        assert torch.equal(run_in_frame(lambda a, h: not_equivariant(a), k.apply(x), group), k.apply(reference))
    assert not torch.equal(not_equivariant(group.elements[1].apply(x)), group.elements[1].apply(not_equivariant(x)))


@pytest.mark.parametrize("shape", [(1, 9, 13), (3, 8, 8), (2, 1, 300, 7), (1, 1, 5)])
def test_scores_equal_the_definition_on_the_moved_image(shape):
    from eqdenoise.frames.canon import quantize_for_scores, ramp_template

    x = torch.rand(shape, generator=torch.Generator().manual_seed(3)) * 2.2 - 1.1
    q = quantize_for_scores(x)
    group = GROUPS["d4"]
    direct = [int((g.inverse().apply(q) * ramp_template(*g.inverse().transformed_shape(*x.shape[-2:]))).sum())
              for g in group]
    assert frame_scores(x, group) == direct
