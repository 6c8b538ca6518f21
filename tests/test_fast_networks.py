"""Issue 18's network family and training: pixel-unshuffle U-Nets, distillation, the batched hot path."""

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import random_image, sample_pixels, write_tiny_checkpoint
from eqdenoise.checkpoint import build_network, load_model
from eqdenoise.cli import app
from eqdenoise.errors import EqdenoiseError
from eqdenoise.groups import GROUPS
from eqdenoise.predictors import eps_predictor, frame_averaged
from eqdenoise.restoration import DenoiseOptions, restore
from eqdenoise.schedule import CosineSchedule
from eqdenoise.train import TrainSettings, _loss, run_training, sample_sigma


def unshuffle_architecture(channels: int) -> dict:
    return {"name": "unet", "channels": channels, "base": 4, "mults": [1, 2], "blocks": 2, "emb_dim": 16,
            "unshuffle": 2}


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


def test_frame_averaging_in_one_batch_equals_one_pass_per_element(tiny_gray):
    predict = eps_predictor(tiny_gray)
    group = GROUPS["d4"]
    for shape in ((1, 1, 12, 12), (1, 1, 8, 12)):
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
        batched = frame_averaged(predict, group)(x, 0.4)
        single = sum(g.apply(predict(g.inverse().apply(x), 0.4)) for g in group) / len(group)
        assert not torch.equal(single, torch.zeros_like(single))
        torch.testing.assert_close(batched, single, rtol=0, atol=1e-5 * float(single.abs().max()))


def test_inference_network_is_prepared_once(tiny_gray):
    first = tiny_gray.inference_network()
    assert tiny_gray.inference_network() is first
    assert first is not tiny_gray.network


def test_distillation_target_is_the_lerp_of_noise_and_teacher(tiny_gray_path):
    teacher = load_model(tiny_gray_path).network.eval()
    student = build_network(load_model(tiny_gray_path).config["architecture"])
    batch = torch.rand(2, 1, 8, 8) * 2 - 1
    schedule = CosineSchedule()
    base = dict(data="", out="", batch=2, sigma_weight=0.0, restoration_fraction=0.0)
    losses = {}
    for weight in (0.0, 0.5, 1.0):
        settings = TrainSettings(**base, teacher_weight=weight)
        losses[weight] = _loss(settings, student, batch, schedule, torch.Generator().manual_seed(3), teacher)
    generator = torch.Generator().manual_seed(3)
    sigma = sample_sigma(TrainSettings(**base), schedule, generator)
    eps = torch.randn(batch.shape, generator=generator)
    noisy = schedule.add_noise(batch, eps, sigma)
    with torch.no_grad():
        guess, predicted = teacher(noisy, sigma), student(noisy, sigma)
    for weight, loss in losses.items():
        expected = torch.mean((predicted - torch.lerp(eps, guess, weight)) ** 2)
        torch.testing.assert_close(loss, expected, rtol=1e-4, atol=1e-6)
    assert not torch.isclose(losses[0.0], losses[1.0])


def test_distillation_refuses_a_teacher_of_other_channels_and_a_bad_patch(folder, tmp_path, tiny_rgb_path,
                                                                          tiny_gray_path):
    with pytest.raises(EqdenoiseError, match="3-channel teacher for a 1-channel model"):
        run_training(TrainSettings(data=str(folder), out=str(tmp_path / "a.safetensors"), base=4, mults=(1, 2),
                                   steps=1, batch=2, patch=16, teacher=str(tiny_rgb_path), teacher_weight=0.5))
    with pytest.raises(EqdenoiseError, match="not a multiple of the network's stride 8"):
        run_training(TrainSettings(data=str(folder), out=str(tmp_path / "b.safetensors"), base=4, mults=(1, 2, 4),
                                   unshuffle=2, steps=1, batch=2, patch=20))


def test_train_command_levels_unshuffle_and_teacher(folder, tmp_path, tiny_gray_path):
    out = tmp_path / "fast.safetensors"
    result = CliRunner().invoke(app, ["train", "denoiser", str(folder), "--out", str(out), "--width", "4",
                                      "--level", "1", "--level", "3", "--unshuffle", "2", "--blocks", "2",
                                      "--teacher", str(tiny_gray_path), "--teacher-weight", "0.75",
                                      "--steps", "2", "--batch", "2", "--patch", "16"])
    assert result.exit_code == 0, result.output
    model = load_model(out)
    assert model.config["architecture"]["mults"] == [1, 3] and model.config["architecture"]["unshuffle"] == 2
    assert model.network.stride == 4
    recorded = model.config["training"]["settings"]
    assert recorded["teacher"] == str(tiny_gray_path) and recorded["teacher_weight"] == 0.75
    assert restore(model, random_image(1, 10, 14), DenoiseOptions(sigma=20.0)).pixels.shape == (1, 10, 14)
    refused = CliRunner().invoke(app, ["train", "denoiser", str(folder), "--out", str(tmp_path / "x.safetensors"),
                                       "--width", "4", "--unshuffle", "2", "--steps", "1", "--batch", "2",
                                       "--patch", "20"])
    assert refused.exit_code == 1 and "stride" in refused.output and "Traceback" not in refused.output


def test_init_continues_and_grows_an_unshuffle_network(folder, tmp_path):
    start = TrainSettings(data=str(folder), out=str(tmp_path / "start.safetensors"), base=4, mults=(1, 2), unshuffle=2,
                          steps=2, batch=2, patch=16, warmup=1)
    run_training(start)
    wider = TrainSettings(data=str(folder), out=str(tmp_path / "wider.safetensors"), init=start.out, base=6, blocks=2,
                          steps=1, batch=2, patch=16, lr=0.0, ema=0.0)
    run_training(wider)
    before, after = load_model(start.out), load_model(wider.out)
    assert after.config["architecture"]["unshuffle"] == 2 and after.config["architecture"]["base"] == 6
    x, sigma = torch.randn(2, 1, 8, 12), torch.tensor([0.3, 2.0])
    with torch.no_grad():
        torch.testing.assert_close(before.network(x, sigma), after.network(x, sigma), rtol=0, atol=1e-6)


RSS_AFTER_FREE = """
import sys, numpy as np
from eqdenoise.allocator import keep_freed_memory
if sys.argv[1] == "keep" and not keep_freed_memory():
    print("unsupported"); raise SystemExit
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 >> 20
start = rss()
block = np.ones(64 << 20, dtype=np.float32)
del block
print(rss() - start)
"""


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")
def test_keep_freed_memory_keeps_a_freed_block_mapped_for_reuse():
    import subprocess
    import sys

    def held(mode: str) -> str:
        return subprocess.run([sys.executable, "-c", RSS_AFTER_FREE, mode], capture_output=True, text=True,
                              check=True).stdout.strip()

    kept = held("keep")
    if kept == "unsupported":
        pytest.skip("not glibc: mallopt is unavailable")
    assert int(held("default")) < 64, "glibc returned the 256 MiB block by default"
    assert int(kept) >= 200, f"only {kept} MiB of a freed 256 MiB block stayed mapped"
