"""The group table (closure, identity, inverses, associativity) and that actions match composition."""

import itertools

import numpy as np
import pytest
import torch

from eqdenoise.errors import EqdenoiseError
from eqdenoise.frames.groups import GROUPS, IDENTITY, get_group


@pytest.mark.parametrize("name", list(GROUPS))
def test_group_axioms(name):
    group = GROUPS[name]
    elements = set(group)
    assert len(elements) == len(group) == {"trivial": 1, "flip": 2, "c4": 4, "d4": 8}[name]
    assert IDENTITY in elements
    for a, b in itertools.product(group, repeat=2):
        assert a * b in elements
    for a in group:
        assert a * IDENTITY == IDENTITY * a == a
        assert a.inverse() in elements
        assert a * a.inverse() == a.inverse() * a == IDENTITY
    for a, b, c in itertools.product(group, repeat=3):
        assert (a * b) * c == a * (b * c)


@pytest.mark.parametrize("shape", [(5, 7), (6, 6), (3, 1, 4, 9)])
def test_action_is_composition_on_tensors_and_arrays(shape):
    x = torch.arange(int(np.prod(shape)), dtype=torch.float32).reshape(shape)
    for a, b in itertools.product(GROUPS["d4"], repeat=2):
        assert torch.equal(a.apply(b.apply(x)), (a * b).apply(x))
        assert np.array_equal(a.apply(b.apply(x.numpy())), (a * b).apply(x.numpy()))
        assert torch.equal(a.inverse().apply(a.apply(x)), x)


def test_actions_are_distinct_and_shapes_follow_rotation():
    x = torch.arange(35.0).reshape(5, 7)
    images = [g.apply(x) for g in GROUPS["d4"]]
    for g, image in zip(GROUPS["d4"], images, strict=True):
        assert image.shape == g.transformed_shape(5, 7)
    assert len({tuple(im.flatten().tolist()) + tuple(im.shape) for im in images}) == 8


def test_known_elements():
    x = torch.tensor([[1, 2], [3, 4]])
    rot90 = GROUPS["c4"].elements[1]
    mirror = GROUPS["flip"].elements[1]
    assert rot90.apply(x).tolist() == [[2, 4], [1, 3]]
    assert mirror.apply(x).tolist() == [[2, 1], [4, 3]]


def test_subgroups_and_unknown_name():
    assert GROUPS["flip"].is_subgroup_of(GROUPS["d4"])
    assert GROUPS["c4"].is_subgroup_of(GROUPS["d4"])
    assert not GROUPS["d4"].is_subgroup_of(GROUPS["c4"])
    assert not GROUPS["flip"].is_subgroup_of(GROUPS["c4"])
    with pytest.raises(EqdenoiseError, match="unknown group"):
        get_group("c8")


def test_the_command_line_offers_exactly_the_library_groups():
    from eqdenoise.frames.groups import GROUPS
    from eqdenoise.names import GROUP_NAMES

    assert tuple(GROUPS) == GROUP_NAMES
