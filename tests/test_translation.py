"""Transfer with a bridge: bit-exact equivariance of canon and fa, sampler options, and clear errors."""

import numpy as np
import pytest

from conftest import ct_small_unit, random_image
from eqdenoise.errors import EqdenoiseError
from eqdenoise.frames.groups import GROUPS
from eqdenoise.tasks.translation import TransferOptions, translate

SETTINGS = {
    "one-step": dict(steps=1),
    "eta0-4steps": dict(steps=4, eta=0.0),
    "eta1-3steps": dict(steps=3, eta=1.0),
}


def images():
    return {
        "random-13x21": random_image(1, 13, 21, seed=1),
        "ct-real-40x56": ct_small_unit(crop=(40, 56)),
        "ct-real-square-48": ct_small_unit(crop=(48, 48)),
    }


def assert_equivariant(model, pixels, options, group_name):
    reference = translate(model, pixels, options)
    for g in GROUPS[group_name]:
        moved = translate(model, g.apply(pixels), options)
        np.testing.assert_array_equal(moved, g.apply(reference), err_msg=g.label)


@pytest.mark.parametrize("method", ["canon", "fa"])
@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("image", list(images()))
def test_bridge_is_bit_exact_on_d4(tiny_bridge, method, setting, image):
    assert_equivariant(tiny_bridge, images()[image], TransferOptions(method=method, seed=5, **SETTINGS[setting]), "d4")


@pytest.mark.parametrize("method", ["canon", "fa"])
@pytest.mark.parametrize("image", ["random-13x21", "ct-real-square-48"])
def test_bf16_bridge_is_bit_exact_on_d4(tiny_bridge, method, image):
    options = TransferOptions(method=method, seed=5, precision="bf16", **SETTINGS["eta1-3steps"])
    assert_equivariant(tiny_bridge, images()[image], options, "d4")


@pytest.mark.parametrize("group", ["trivial", "flip", "c4"])
def test_subgroups_are_bit_exact(tiny_bridge, group):
    assert_equivariant(tiny_bridge, random_image(1, 9, 14, seed=4), TransferOptions(group=group, steps=3, eta=1.0), group)


def test_tiled_transfer_is_bit_exact(tiny_bridge):
    pixels = random_image(1, 150, 130, seed=6)
    options = TransferOptions(steps=2, eta=1.0, tile=64)
    assert_equivariant(tiny_bridge, pixels, options, "d4")
    untiled = translate(tiny_bridge, pixels, TransferOptions(steps=2, eta=1.0, tile=0))
    assert untiled.shape == pixels.shape


def test_plain_network_is_not_equivariant(tiny_bridge):
    pixels = ct_small_unit(crop=(40, 56))
    options = TransferOptions(method="none", steps=2)
    reference = translate(tiny_bridge, pixels, options)
    worst = max(np.abs(translate(tiny_bridge, g.apply(pixels), options) - g.apply(reference)).max()
                for g in GROUPS["d4"])
    assert worst > 1e-3


def test_seed_and_eta_change_the_sample_but_not_its_range(tiny_bridge):
    pixels = random_image(1, 24, 24, seed=8)
    a = translate(tiny_bridge, pixels, TransferOptions(steps=3, seed=1))
    assert np.array_equal(a, translate(tiny_bridge, pixels, TransferOptions(steps=3, seed=1)))
    assert not np.array_equal(a, translate(tiny_bridge, pixels, TransferOptions(steps=3, seed=2)))
    assert a.min() >= 0.0 and a.max() <= 1.0


def test_progress_counts_every_step_of_every_frame_element(tiny_bridge):
    calls = []
    translate(tiny_bridge, random_image(1, 16, 16, seed=3), TransferOptions(steps=3),
              progress=lambda done, total: calls.append((done, total)))
    assert calls[-1][0] == calls[-1][1] and calls[-1][1] % 3 == 0


@pytest.mark.parametrize("pixels, options, message", [
    (random_image(3, 16, 16), {}, "translates 1-channel images, this one has 3"),
    (np.full((1, 16, 16), np.nan, np.float32), {}, "NaN"),
    (random_image(1, 16, 16), {"steps": 0}, "--steps"),
    (random_image(1, 16, 16), {"method": "reg"}, "unknown method"),
    (random_image(1, 16, 16), {"method": "wt"}, "needs a weight-tied checkpoint"),
    (random_image(1, 16, 16), {"precision": "fp16"}, "unknown precision"),
])
def test_bad_inputs_are_reported(tiny_bridge, pixels, options, message):
    """Bad option values are refused when the options are made (an options object is a checked one), the rest when
    they meet the model and the image."""
    with pytest.raises(EqdenoiseError, match=message):
        translate(tiny_bridge, pixels, TransferOptions(**options))


def test_a_denoiser_is_not_a_bridge(tiny_gray):
    with pytest.raises(EqdenoiseError, match="not a bridge"):
        translate(tiny_gray, random_image(1, 16, 16), TransferOptions())


def test_image_too_large_for_memory_is_refused(tiny_bridge, monkeypatch):
    import eqdenoise.tasks.pipeline as pipeline_module

    monkeypatch.setattr(pipeline_module, "available_memory", lambda: 10_000)
    with pytest.raises(EqdenoiseError, match="needs about .* GiB of memory"):
        translate(tiny_bridge, random_image(1, 64, 64), TransferOptions())


def test_a_weight_tied_bridge_is_equivariant_to_float_rounding_with_wt_and_without_a_frame(tmp_path):
    import torch

    from conftest import write_tiny_checkpoint, wt_architecture
    from eqdenoise.nets.checkpoint import load_model

    bridge = load_model(write_tiny_checkpoint(tmp_path / "wt-bridge.safetensors", task="bridge",
                                              architecture=wt_architecture(1, "d4", task="bridge")))
    with torch.no_grad():
        bridge.network.conv_out.weight.mul_(0.02)
    source = images()["ct-real-40x56"]
    stochastic = TransferOptions(method="wt", steps=3, eta=1.0)
    reference = translate(bridge, source, stochastic)
    assert reference.std() > 0.01 and 0.0 < reference.mean() < 1.0
    assert np.abs(translate(bridge, source, TransferOptions(method="wt", steps=3, eta=1.0, seed=1)) - reference).max() > 1e-3
    for options in (stochastic, TransferOptions(method="none", steps=1), TransferOptions(method="none", steps=2)):
        reference = translate(bridge, source, options)
        for g in GROUPS["d4"]:
            np.testing.assert_allclose(translate(bridge, g.apply(source), options), g.apply(reference),
                                       rtol=0, atol=1e-5, err_msg=f"{options.method} {g.label}")
    noisy_without_frame = TransferOptions(method="none", steps=2, noise_frame="input")
    reference = translate(bridge, source, noisy_without_frame)
    turned = GROUPS["d4"].elements[1]
    assert np.abs(translate(bridge, turned.apply(source), noisy_without_frame) - turned.apply(reference)).max() > 1e-3
