"""U-Net shapes and strides; the pixel-unshuffle network is exact in the frame and not without it."""

import numpy as np
import pytest
import torch

from conftest import random_image, sample_pixels, unshuffle_architecture, write_tiny_checkpoint
from eqdenoise.frames.groups import GROUPS
from eqdenoise.nets.checkpoint import build_network, load_model
from eqdenoise.tasks.restoration import DenoiseOptions, restore


@pytest.fixture(scope="module", params=[1, 3], ids=["gray", "rgb"])
def unshuffle_model(request, tmp_path_factory):
    """A random-weight unshuffle-2 checkpoint (no zero layer, so far from equivariant), loaded."""
    path = write_tiny_checkpoint(tmp_path_factory.mktemp("unshuffle") / "net.safetensors", channels=request.param,
                                 seed=request.param, architecture=unshuffle_architecture(request.param))
    return load_model(path)


def test_unshuffle_network_shapes_and_stride():
    network = build_network(unshuffle_architecture(3))
    assert network.stride == 4 and network.conv_in.in_channels == 12 and network.conv_out.out_channels == 12
    out = network(torch.randn(2, 3, 8, 12), torch.tensor(0.5))
    assert out.shape == (2, 3, 8, 12)
    with pytest.raises(ValueError, match="not a multiple of 4"):
        network(torch.randn(1, 3, 6, 8), torch.tensor(0.5))


@pytest.mark.parametrize("method", ["canon", "fa"])
@pytest.mark.parametrize("image", ["random-13x21", "real-36x28", "random-16x16"])
def test_unshuffle_network_is_bit_exact_on_d4(unshuffle_model, method, image):
    channels = unshuffle_model.channels
    pixels = {"random-13x21": random_image(channels, 13, 21, seed=4),
              "random-16x16": random_image(channels, 16, 16, seed=5),
              "real-36x28": sample_pixels("coffee-rgb-noisy25.png" if channels == 3 else "cat-gray-noisy25.png",
                                          crop=(36, 28))}[image]
    for options in (DenoiseOptions(method=method, sigma=25.0), DenoiseOptions(method=method, sigma=25.0, steps=3,
                                                                              eta=1.0, seed=2)):
        reference = restore(unshuffle_model, pixels, options).pixels
        for g in GROUPS["d4"]:
            moved = restore(unshuffle_model, g.apply(pixels), options).pixels
            np.testing.assert_array_equal(moved, g.apply(reference), err_msg=g.label)


def test_unshuffle_without_a_frame_is_not_equivariant(unshuffle_model):
    """The check above can fail: without the frame the same network is orientation-dependent."""
    pixels = random_image(unshuffle_model.channels, 16, 16, seed=6)
    options = DenoiseOptions(method="none", sigma=25.0)
    turned = GROUPS["d4"].elements[1]
    reference = restore(unshuffle_model, pixels, options).pixels
    assert not np.array_equal(restore(unshuffle_model, turned.apply(pixels), options).pixels, turned.apply(reference))
