"""eqdenoise: diffusion-based image restoration that is exactly equivariant to rotations and mirrors.

The API (``eqdenoise.denoise``, ``transfer``, ``verify``, ``sample``, ``load_model``, ``train_denoiser``,
``train_bridge``; ``eqdenoise/api.py``) is imported
on first use, so ``import eqdenoise`` and the command's start-up stay light.
"""

__version__ = "0.1.0"
__all__ = ["EqdenoiseError", "UsageError", "VerifyReport", "denoise", "load_model", "sample", "train_bridge",
           "train_denoiser", "transfer", "verify"]


def __getattr__(name: str):
    """Import the API lazily."""
    if name in __all__:
        from . import api, errors

        return getattr(errors if name in ("EqdenoiseError", "UsageError") else api, name)
    raise AttributeError(f"module 'eqdenoise' has no attribute {name!r}")
