"""Group convolutions: the Cayley reading table, the stored weight layout, and the transformation law."""

import pytest
import torch

from eqdenoise.frames.groups import GROUPS, IDENTITY
from eqdenoise.nets.gconv import GroupConv, LiftingConv, inverse_products, pool_over_group

TOLERANCE = 1e-5


def moved_fields(fields: torch.Tensor, g, group) -> torch.Tensor:
    """g acting on fields (N, C·|G|, H, W): turned in space and permuted along the group axis, F'(h) = g·F(g⁻¹h)."""
    elements = list(group)
    n, channels, height, width = fields.shape
    split = fields.view(n, channels // len(elements), len(elements), height, width)
    order = [elements.index(g.inverse() * h) for h in elements]
    return g.apply(split[:, :, order]).reshape(n, channels, *g.transformed_shape(height, width))


@pytest.mark.parametrize("name", ["c4", "d4"])
def test_reading_table_rows_are_permutations_and_the_identity_row_is_the_order(name):
    table = inverse_products(GROUPS[name])
    assert table[0] == list(range(len(GROUPS[name])))
    assert all(sorted(row) == list(range(len(GROUPS[name]))) for row in table)


def test_weights_keep_the_split_gconv_layout_and_the_identity_kernel_is_stored_as_is():
    group = GROUPS["d4"]
    layer = GroupConv(group, in_fields=3, out_fields=5)
    assert tuple(layer.weight.shape) == (5, 3, 8, 3, 3) and tuple(layer.bias.shape) == (5,)
    weight, bias = layer.expanded()
    assert tuple(weight.shape) == (40, 24, 3, 3)
    assert torch.equal(weight.view(5, 8, 3, 8, 3, 3)[:, 0], layer.weight)
    assert torch.equal(bias.view(5, 8)[:, 3], layer.bias)


@pytest.mark.parametrize("name", ["c4", "d4"])
def test_lifting_and_group_convolutions_commute_with_the_group(name):
    group = GROUPS[name]
    torch.manual_seed(0)
    lift, conv = LiftingConv(group, 2, 3), GroupConv(group, 3, 4)
    x = torch.randn(2, 2, 10, 14)
    with torch.no_grad():
        lifted = lift(x)
        out = conv(lifted)
        for g in group:
            torch.testing.assert_close(lift(g.apply(x)), moved_fields(lifted, g, group), rtol=0, atol=TOLERANCE)
            torch.testing.assert_close(conv(moved_fields(lifted, g, group)), moved_fields(out, g, group),
                                       rtol=0, atol=TOLERANCE)
            torch.testing.assert_close(pool_over_group(moved_fields(out, g, group), group),
                                       g.apply(pool_over_group(out, group)), rtol=0, atol=TOLERANCE)


def test_an_untied_kernel_would_not_commute():
    group = GROUPS["c4"]
    torch.manual_seed(1)
    conv = GroupConv(group, 1, 1)
    fields = torch.randn(1, 4, 8, 8)
    g = next(e for e in group if e != IDENTITY)
    with torch.no_grad():
        plain = torch.nn.functional.conv2d(fields, conv.weight.flatten(1, 2).repeat_interleave(4, dim=0), padding=1)
        moved = torch.nn.functional.conv2d(moved_fields(fields, g, group), conv.weight.flatten(1, 2)
                                           .repeat_interleave(4, dim=0), padding=1)
    assert (moved - moved_fields(plain, g, group)).abs().max() > 0.1
