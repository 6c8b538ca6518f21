"""The shipped rotated Fashion-MNIST priors: WT equivariant to float rounding (10⁻⁵ a step, 10 steps), frames exact."""

import numpy as np
import pytest

import eqdenoise
from eqdenoise.frames.groups import GROUPS
from eqdenoise.nets.registry import manifest

NAMES = ("rot-fmnist-plain", "rot-fmnist-reg", "rot-fmnist-wt")


def test_the_three_priors_are_shipped_for_c4():
    entries = {entry["name"]: entry for entry in manifest()}
    assert all(entries[name]["group"] == "c4" and entries[name]["task"] == "denoise" for name in NAMES)
    assert eqdenoise.load_model("rot-fmnist-wt").equivariant_group == "c4"
    assert eqdenoise.load_model("rot-fmnist-plain").equivariant_group is None


@pytest.mark.parametrize("name, method, tolerance", [("rot-fmnist-wt", "wt", 1e-4), ("rot-fmnist-wt", "none", 1e-4),
                                                     ("rot-fmnist-plain", "canon", 0.0),
                                                     ("rot-fmnist-reg", "fa", 0.0)])
def test_turning_the_noise_turns_the_sample(name, method, tolerance):
    model = eqdenoise.load_model(name)
    noise = np.random.default_rng(1).standard_normal((28, 28)).astype(np.float32)
    eta = 0.0 if method == "none" else 1.0
    (drawn,) = eqdenoise.sample(model, noise=noise, steps=10, eta=eta, method=method)
    assert drawn.shape == (28, 28) and 0.02 < drawn.std()
    for g in GROUPS["c4"]:
        (turned,) = eqdenoise.sample(model, noise=g.apply(noise), steps=10, eta=eta, method=method)
        assert np.abs(turned - g.apply(drawn)).max() <= tolerance, g.label


def test_the_plain_prior_without_a_frame_is_not_equivariant():
    model = eqdenoise.load_model("rot-fmnist-plain")
    noise = np.random.default_rng(2).standard_normal((28, 28)).astype(np.float32)
    (drawn,) = eqdenoise.sample(model, noise=noise, steps=10, method="none")
    (turned,) = eqdenoise.sample(model, noise=np.rot90(noise).copy(), steps=10, method="none")
    assert np.abs(turned - np.rot90(drawn)).max() > 1e-3
