"""Denoising: f(g·x) == g·f(x) bit for bit for canon and fa on gray and RGB, square and non-square, real and
random; options and refusals."""

import math

import numpy as np
import pytest

from conftest import random_image, sample_pixels
from eqdenoise.errors import EqdenoiseError
from eqdenoise.frames.groups import GROUPS
from eqdenoise.tasks.restoration import DenoiseOptions, restore

SETTINGS = {
    "tweedie-sigma25": dict(sigma=25.0),
    "ddim-eta0": dict(sigma=25.0, steps=3, eta=0.0),
    "ddim-eta1": dict(sigma=25.0, steps=3, eta=1.0),
    "sdedit-0.4": dict(sigma=None, strength=0.4, steps=3, eta=1.0),
    "sigma-auto": dict(sigma="auto", steps=2, eta=0.5),
}


def images():
    return {
        "gray-random-13x21": random_image(1, 13, 21, seed=1),
        "rgb-random-10x7": random_image(3, 10, 7, seed=2),
        "gray-real-40x56": sample_pixels("cat-gray-noisy25.png", crop=(40, 56)),
        "rgb-real-36x28": sample_pixels("coffee-rgb-noisy25.png", crop=(36, 28)),
    }


def assert_equivariant(model, pixels, options, group_name):
    reference = restore(model, pixels, options).pixels
    for g in GROUPS[group_name]:
        moved = restore(model, g.apply(pixels), options).pixels
        np.testing.assert_array_equal(moved, g.apply(reference), err_msg=f"{g.label}")


@pytest.mark.parametrize("method", ["canon", "fa"])
@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("image", list(images()))
def test_gray_model_is_bit_exact_on_d4(tiny_gray, method, setting, image):
    options = DenoiseOptions(method=method, seed=7, **SETTINGS[setting])
    assert_equivariant(tiny_gray, images()[image], options, "d4")


@pytest.mark.parametrize("method", ["canon", "fa"])
@pytest.mark.parametrize("setting", ["ddim-eta1", "sdedit-0.4"])
@pytest.mark.parametrize("image", ["rgb-random-10x7", "gray-random-13x21"])
def test_rgb_model_is_bit_exact_on_d4(tiny_rgb, method, setting, image):
    options = DenoiseOptions(method=method, seed=3, **SETTINGS[setting])
    assert_equivariant(tiny_rgb, images()[image], options, "d4")


@pytest.mark.parametrize("group", ["trivial", "flip", "c4"])
def test_subgroups_are_bit_exact(tiny_gray, group):
    options = DenoiseOptions(method="canon", group=group, sigma=None, strength=0.5, steps=2, eta=1.0)
    assert_equivariant(tiny_gray, random_image(1, 9, 14, seed=5), options, group)


def test_symmetric_input_with_a_tie_set_is_bit_exact(tiny_gray):
    pixels = np.zeros((1, 12, 12), dtype=np.float32)
    pixels[:, 3:9, 3:9] = 0.6
    pixels[:, 5, 5] = 0.2
    pixels = pixels + pixels[..., ::-1]
    options = DenoiseOptions(method="canon", sigma=None, strength=0.4, steps=2, eta=1.0)
    result = restore(tiny_gray, pixels / 2, options)
    assert result.frame_size >= 2
    assert_equivariant(tiny_gray, pixels / 2, options, "d4")


@pytest.mark.parametrize("setting", ["tweedie-sigma25", "sdedit-0.4"])
def test_plain_network_is_not_equivariant(tiny_gray, setting):
    pixels = random_image(1, 13, 21, seed=1)
    options = DenoiseOptions(method="none", seed=7, **SETTINGS[setting])
    reference = restore(tiny_gray, pixels, options).pixels
    errors = [np.abs(restore(tiny_gray, g.apply(pixels), options).pixels - g.apply(reference)).max()
              for g in GROUPS["d4"].elements[1:]]
    assert min(errors) > 1e-3


def test_same_seed_same_output_and_other_seed_differs(tiny_gray):
    pixels = random_image(1, 16, 16, seed=4)
    options = DenoiseOptions(sigma=None, strength=0.5, steps=3, eta=1.0, seed=11)
    first = restore(tiny_gray, pixels, options).pixels
    assert np.array_equal(first, restore(tiny_gray, pixels, options).pixels)
    other = DenoiseOptions(sigma=None, strength=0.5, steps=3, eta=1.0, seed=12)
    assert not np.array_equal(first, restore(tiny_gray, pixels, other).pixels)


@pytest.mark.parametrize("method", ["canon", "fa"])
def test_tiled_pipeline_is_bit_exact(tiny_gray, method):
    options = DenoiseOptions(method=method, sigma=None, strength=0.4, steps=2, eta=1.0, tile=64)
    assert_equivariant(tiny_gray, random_image(1, 100, 76, seed=8), options, "d4")


@pytest.mark.parametrize("method", ["canon", "fa"])
@pytest.mark.parametrize("image", list(images()))
def test_bf16_pipeline_is_bit_exact_on_d4(tiny_gray, tiny_rgb, method, image):
    pixels = images()[image]
    model = tiny_rgb if image.startswith("rgb") else tiny_gray
    options = DenoiseOptions(method=method, seed=5, precision="bf16", **SETTINGS["ddim-eta1"])
    assert_equivariant(model, pixels, options, "d4")


@pytest.mark.parametrize("bad", [dict(sigma=25.0, strength=0.5), dict(sigma=None, strength=1.5), dict(sigma=300.0),
                                 dict(sigma="loud"), dict(steps=0), dict(eta=2.0), dict(method="reg"), dict(method="wt")])
def test_bad_options_are_rejected(tiny_gray, bad):
    with pytest.raises(EqdenoiseError):
        restore(tiny_gray, np.zeros((1, 8, 8), np.float32), DenoiseOptions(**bad))


def test_group_not_trained_for_is_rejected(tmp_path):
    from conftest import write_tiny_checkpoint
    from eqdenoise.nets.checkpoint import load_model

    model = load_model(write_tiny_checkpoint(tmp_path / "c4.safetensors", group="c4"))
    with pytest.raises(EqdenoiseError, match="trained for group 'c4'"):
        restore(model, np.zeros((1, 8, 8), np.float32), DenoiseOptions(group="d4"))
    restore(model, np.zeros((1, 8, 8), np.float32), DenoiseOptions(group="c4"))


def test_clean_input_with_auto_sigma_is_returned_unchanged(tiny_gray):
    pixels = np.full((1, 8, 8), 0.5, np.float32)
    result = restore(tiny_gray, pixels, DenoiseOptions(sigma="auto"))
    assert result.sigma_255 == 0.0
    assert np.array_equal(result.pixels, pixels)
    assert not math.isnan(result.sigma_255)


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("image", ["gray-random-13x21", "gray-real-40x56"])
def test_wt_is_equivariant_to_float_rounding_and_canon_on_it_is_bit_exact(tiny_wt, setting, image):
    pixels = images()[image]
    wt = DenoiseOptions(method="wt", **SETTINGS[setting])
    reference = restore(tiny_wt, pixels, wt).pixels
    for g in GROUPS["d4"]:
        moved = restore(tiny_wt, g.apply(pixels), wt).pixels
        np.testing.assert_allclose(moved, g.apply(reference), rtol=0, atol=1e-5, err_msg=g.label)
    assert_equivariant(tiny_wt, pixels, DenoiseOptions(method="canon", **SETTINGS[setting]), "d4")


def test_wt_differs_from_canon_on_the_same_network_only_by_float_rounding(tiny_wt):
    pixels = images()["gray-real-40x56"]
    wt = restore(tiny_wt, pixels, DenoiseOptions(method="wt", sigma=25.0, steps=3, eta=1.0)).pixels
    canon = restore(tiny_wt, pixels, DenoiseOptions(method="canon", sigma=25.0, steps=3, eta=1.0)).pixels
    np.testing.assert_allclose(wt, canon, rtol=0, atol=1e-5)


def wt_orbit_error(model, pixels, options) -> float:
    reference = restore(model, pixels, options).pixels
    return max(float(np.abs(restore(model, g.apply(pixels), options).pixels - g.apply(reference)).max())
               for g in GROUPS["d4"])


@pytest.mark.parametrize("image", ["gray-random-13x21", "gray-real-40x56"])
@pytest.mark.parametrize("setting", ["deterministic", "stochastic", "strength"])
def test_a_weight_tied_network_without_a_frame_is_equivariant_with_canonical_noise(tiny_wt, image, setting):
    options = DenoiseOptions(method="none", **{"deterministic": dict(sigma=25.0, steps=2, eta=0.0),
                                               "stochastic": dict(sigma=25.0, steps=3, eta=1.0),
                                               "strength": dict(strength=0.4, steps=2)}[setting])
    assert wt_orbit_error(tiny_wt, images()[image], options) <= 1e-5


def test_without_a_frame_input_frame_noise_breaks_a_weight_tied_network_once_noise_is_drawn(tiny_wt):
    pixels = images()["gray-real-40x56"]
    assert wt_orbit_error(tiny_wt, pixels, DenoiseOptions(method="none", sigma=25.0, steps=3, eta=1.0,
                                                          noise_frame="input")) > 1e-3
    assert wt_orbit_error(tiny_wt, pixels, DenoiseOptions(method="none", sigma=25.0, steps=2, eta=0.0,
                                                          noise_frame="input")) <= 1e-5


def test_wt_needs_a_weight_tied_network_and_tiles_need_a_frame(tiny_gray, tiny_wt):
    pixels = random_image(1, 70, 70, seed=4)
    with pytest.raises(EqdenoiseError, match="--method wt needs a weight-tied checkpoint"):
        restore(tiny_gray, pixels, DenoiseOptions(method="wt", sigma=10.0))
    with pytest.raises(EqdenoiseError, match="tiles break a weight-tied network's equivariance without a frame"):
        restore(tiny_wt, pixels, DenoiseOptions(method="none", sigma=10.0, tile=64))
    tiled = restore(tiny_wt, pixels, DenoiseOptions(method="wt", sigma=10.0, tile=64)).pixels
    whole = restore(tiny_wt, pixels, DenoiseOptions(method="wt", sigma=10.0, tile=0)).pixels
    assert tiled.shape == whole.shape


@pytest.mark.parametrize("method", ["canon", "fa"])
def test_noise_drawn_in_the_inputs_frame_breaks_equivariance_only_when_noise_is_drawn(tiny_gray, method):
    pixels = images()["gray-real-40x56"]
    stochastic = DenoiseOptions(method=method, sigma=25.0, steps=3, eta=1.0, noise_frame="input")
    reference = restore(tiny_gray, pixels, stochastic).pixels
    turned = GROUPS["d4"].elements[1]
    assert np.abs(restore(tiny_gray, turned.apply(pixels), stochastic).pixels - turned.apply(reference)).max() > 1e-3
    assert_equivariant(tiny_gray, pixels, DenoiseOptions(method=method, sigma=25.0, steps=3, eta=1.0), "d4")
    assert_equivariant(tiny_gray, pixels, DenoiseOptions(method=method, sigma=25.0, steps=3, eta=0.0,
                                                         noise_frame="input"), "d4")


def test_an_unknown_noise_frame_is_refused(tiny_gray):
    with pytest.raises(EqdenoiseError, match="unknown noise frame 'sideways'"):
        restore(tiny_gray, np.zeros((1, 8, 8), np.float32), DenoiseOptions(sigma=10.0, noise_frame="sideways"))


def test_float_values_beyond_what_noise_reaches_are_refused_not_clipped(tiny_gray):
    pixels = np.linspace(935.0, 3125.0, 64, dtype=np.float32).reshape(1, 8, 8)
    with pytest.raises(EqdenoiseError, match="pixel values span 935…3125, beyond -1…2 that a \\[0, 1\\] image"):
        restore(tiny_gray, pixels, DenoiseOptions(sigma=10.0))
    with pytest.raises(EqdenoiseError, match="beyond -6…7"):
        restore(tiny_gray, pixels / 255.0, DenoiseOptions(sigma="auto"))
    with pytest.raises(EqdenoiseError, match="beyond -1…2"):
        restore(tiny_gray, pixels / 1000.0, DenoiseOptions(strength=0.3))
    noisy = random_image(1, 16, 16, seed=3) + np.random.default_rng(0).normal(0, 50 / 255, (1, 16, 16)).astype(np.float32)
    noisy[0, 0, 0], noisy[0, 0, 1] = -1.1, 2.1
    restore(tiny_gray, noisy, DenoiseOptions(sigma=50.0))
    restore(tiny_gray, noisy, DenoiseOptions(sigma="auto"))


def test_a_checkpoint_whose_weights_are_huge_or_whose_output_is_not_finite_is_refused(tmp_path):
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from conftest import write_tiny_checkpoint
    from eqdenoise.nets.checkpoint import load_model

    path = write_tiny_checkpoint(tmp_path / "huge.safetensors")
    pixels = random_image(1, 16, 16, seed=1)
    restore(load_model(path), pixels, DenoiseOptions(sigma=25.0))
    model = load_model(path)
    tensors = load_file(path)
    tensors["conv_out.weight"] = tensors["conv_out.weight"] * 1e6
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    save_file(tensors, path, metadata=metadata)
    with pytest.raises(EqdenoiseError, match="huge.safetensors: checkpoint weights reach [0-9.]+e\\+05, where trained"):
        load_model(path)
    with torch.no_grad():
        model.network.conv_out.weight.fill_(float("inf"))
    with pytest.raises(EqdenoiseError, match="the model produced NaN or infinite values"):
        restore(model, pixels, DenoiseOptions(sigma=25.0))


def test_a_gray_model_sees_gray_content_of_a_colour_image_as_its_mean_at_a_third_of_the_variance(tiny_gray):
    gray = random_image(1, 12, 10, seed=4)
    options = DenoiseOptions(method="none", sigma=25.0)
    colour = restore(tiny_gray, np.repeat(gray, 3, axis=0), options).pixels
    alone = restore(tiny_gray, gray, DenoiseOptions(method="none", sigma=25.0 / math.sqrt(3))).pixels
    np.testing.assert_allclose(colour.mean(axis=0), alone[0], atol=1e-5)
    assert np.abs(colour - colour.mean(axis=0)).max() > 1e-4


def test_auto_sigma_of_a_colour_image_under_a_gray_model_is_the_images_sigma(tiny_gray):
    flat = np.full((3, 96, 96), 0.5, np.float32) + np.linspace(-0.2, 0.2, 3, dtype=np.float32)[:, None, None]
    noisy = flat + np.random.default_rng(0).normal(0, 20 / 255, flat.shape).astype(np.float32)
    assert restore(tiny_gray, noisy, DenoiseOptions(sigma="auto")).sigma_255 == pytest.approx(20, rel=0.1)
