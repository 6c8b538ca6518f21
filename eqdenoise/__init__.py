"""eqdenoise: diffusion-based image restoration that is exactly equivariant to rotations and mirrors."""

__version__ = "0.1.0"
