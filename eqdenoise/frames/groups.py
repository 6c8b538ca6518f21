"""Symmetry groups of the square acting on (..., H, W) tensors by exact pixel permutations.

An element is a pair (k, m): first mirror horizontally if m, then rotate by k quarter turns
counter-clockwise (``torch.rot90`` convention). Composition ``a * b`` means "apply b, then a".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

Array = torch.Tensor | np.ndarray


@dataclass(frozen=True, order=True)
class Element:
    """A rotation by ``k`` quarter turns applied after a horizontal mirror if ``mirror``."""

    k: int
    mirror: bool

    def __mul__(self, other: Element) -> Element:
        """Compose: ``(self * other)·x == self·(other·x)``, using F·R^k = R^-k·F."""
        k = (self.k + (-other.k if self.mirror else other.k)) % 4
        return Element(k, self.mirror != other.mirror)

    def inverse(self) -> Element:
        """The element that undoes this one."""
        return Element(self.k, True) if self.mirror else Element((-self.k) % 4, False)

    def apply(self, x: Array) -> Array:
        """Act on the last two axes of a torch tensor or numpy array (a copy, contiguous with positive strides: a
        one-pixel side would keep a negative stride through ``ascontiguousarray``, which torch refuses)."""
        if isinstance(x, np.ndarray):
            y = np.flip(x, axis=-1) if self.mirror else x
            return np.rot90(y, self.k, axes=(-2, -1)).copy(order="C")
        y = torch.flip(x, dims=(-1,)) if self.mirror else x
        return torch.rot90(y, self.k, dims=(-2, -1)).contiguous()

    def transformed_shape(self, height: int, width: int) -> tuple[int, int]:
        """Spatial shape of an H×W image after this element acts on it."""
        return (width, height) if self.k % 2 else (height, width)

    @property
    def label(self) -> str:
        """Human-readable name, e.g. ``rot90``, ``mirror+rot180``."""
        rot = f"rot{90 * self.k}"
        if self.mirror:
            return "mirror" if self.k == 0 else f"mirror+{rot}"
        return "identity" if self.k == 0 else rot


IDENTITY = Element(0, False)


@dataclass(frozen=True)
class Group:
    """A named finite group of image symmetries, with its elements in a fixed order."""

    name: str
    elements: tuple[Element, ...]

    def __len__(self) -> int:
        return len(self.elements)

    def __iter__(self):
        return iter(self.elements)

    def is_subgroup_of(self, other: Group) -> bool:
        """True when every element of this group is in ``other``."""
        return set(self.elements) <= set(other.elements)


GROUPS: dict[str, Group] = {
    "trivial": Group("trivial", (IDENTITY,)),
    "flip": Group("flip", (IDENTITY, Element(0, True))),
    "c4": Group("c4", tuple(Element(k, False) for k in range(4))),
    "d4": Group("d4", tuple(Element(k, m) for m in (False, True) for k in range(4))),
}


def get_group(name: str) -> Group:
    """Look up a group by name, with a clear error for unknown names."""
    from ..errors import EqdenoiseError

    try:
        return GROUPS[name]
    except KeyError:
        raise EqdenoiseError(f"unknown group {name!r}; choose one of {', '.join(GROUPS)}") from None
