"""Training end to end on a small folder: checkpoints that load, resume that continues, clear errors."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import random_image, save_png
from eqdenoise.cli import app
from eqdenoise.diffusion.schedule import CosineSchedule
from eqdenoise.errors import EqdenoiseError
from eqdenoise.frames.groups import GROUPS, IDENTITY
from eqdenoise.nets.checkpoint import build_network, load_model
from eqdenoise.tasks.restoration import DenoiseOptions, restore
from eqdenoise.training.train import (
    TrainSettings,
    _loss,
    learning_rate,
    load_training_images,
    run_training,
    sample_sigma,
    sigma_weights,
    state_path,
)


def settings(folder, out, steps):
    return TrainSettings(data=str(folder), out=str(out), base=4, mults=(1, 2), steps=steps, batch=2, patch=16,
                         save_every=2, warmup=2)


def shape(checkpoint) -> tuple[int, int]:
    """(blocks per level, base width) of a checkpoint."""
    architecture = load_model(checkpoint).config["architecture"]
    return architecture["blocks"], architecture["base"]


def test_train_resume_and_use(folder, tmp_path):
    out = tmp_path / "m.safetensors"
    losses = []
    record = run_training(settings(folder, out, 4), progress=lambda s, t, loss: losses.append(loss))
    assert record["steps_done"] == 4 and len(losses) == 4 and all(np.isfinite(losses))
    assert state_path(out).is_file()
    first = load_model(out, task="denoise")
    assert first.config["training"]["steps_done"] == 4 and first.group == "d4"
    record = run_training(settings(folder, out, 6), resume=True)
    assert record["steps_done"] == 6
    log = [json.loads(line) for line in out.with_name("m.log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log] == [2, 4, 6]
    assert all(entry["max_loss"] >= entry["loss"] > 0 for entry in log)
    assert log[0]["max_loss"] == max(losses[:2]) and log[1]["max_loss"] == max(losses[2:4])
    resumed = load_model(out)
    assert any(not torch.equal(a, b) for a, b in zip(first.network.parameters(), resumed.network.parameters(), strict=True))
    result = restore(resumed, random_image(1, 10, 12), DenoiseOptions(sigma=20.0))
    assert result.pixels.shape == (1, 10, 12)


def test_resume_is_the_same_as_training_straight_through(folder, tmp_path):
    straight, split = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    run_training(settings(folder, straight, 4))
    assert run_training(settings(folder, split, 4), pause_at=3)["steps_done"] == 3
    run_training(settings(folder, split, 4), resume=True)
    for a, b in zip(load_model(straight).network.parameters(), load_model(split).network.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_training_errors(tmp_path, folder):
    (tmp_path / "empty").mkdir()
    with pytest.raises(EqdenoiseError, match="no PNG, JPEG or TIFF"):
        run_training(settings(tmp_path / "empty", tmp_path / "m.safetensors", 2))
    with pytest.raises(EqdenoiseError, match="no training state"):
        run_training(settings(folder, tmp_path / "new.safetensors", 2), resume=True)
    big = settings(folder, tmp_path / "m.safetensors", 2)
    big.patch = 64
    with pytest.raises(EqdenoiseError, match="smaller than the 64-pixel"):
        run_training(big)


def test_scales_add_a_resized_copy_of_every_image(folder, tmp_path):
    plain = load_training_images(folder, 1, 16)
    scaled = load_training_images(folder, 1, 16, (1.0, 0.8))
    assert len(plain) == 4 and len(scaled) == 8
    assert all(torch.equal(a, b) for a, b in zip(plain, scaled[0::2], strict=True))
    assert [tuple(t.shape) for t in scaled[1::2]] == [(1, 16, 16), (1, 19, 24), (1, 19, 24), (1, 19, 24)]
    assert all(t.min() >= -1 and t.max() <= 1 for t in scaled)
    smooth = tmp_path / "smooth"
    smooth.mkdir()
    ramp = np.tile(np.linspace(0.2, 0.8, 40, dtype=np.float32), (30, 1))[None]
    save_png(smooth / "ramp.png", ramp)
    original, half = load_training_images(smooth, 1, 8, (1.0, 0.5))
    assert half.shape == (1, 15, 20)
    assert abs(half.mean().item() - original.mean().item()) < 2e-3
    assert torch.all(half[0, :, 1:] >= half[0, :, :-1]) and torch.all(half[0, :, -1] - half[0, :, 0] > 1.0)
    with pytest.raises(EqdenoiseError, match="color.png: 14×14 at scale 0.7 is smaller than the 16-pixel"):
        load_training_images(folder, 1, 16, (1.0, 0.7))


def test_train_command_records_scales_and_refuses_bad_ones(folder, tmp_path):
    out = tmp_path / "scaled.safetensors"
    common = [str(folder), "--out", str(out), "--width", "4", "--steps", "1", "--batch", "2", "--patch", "16"]
    result = CliRunner().invoke(app, ["train", "denoiser", *common, "--scale", "1", "--scale", "0.8"])
    assert result.exit_code == 0, result.output
    assert load_model(out).config["training"]["settings"]["scales"] == [1.0, 0.8]
    for bad in ("0", "-0.5"):
        refused = CliRunner().invoke(app, ["train", "denoiser", *common, "--scale", bad])
        assert refused.exit_code == 2 and "--scale" in refused.output and "Traceback" not in refused.output
    too_small = CliRunner().invoke(app, ["train", "denoiser", *common, "--scale", "0.5", "--overwrite"])
    assert too_small.exit_code == 1 and "at scale 0.5 is smaller than the 16-pixel" in " ".join(too_small.output.split())


def test_learning_rate_warms_up_and_decays():
    s = TrainSettings(data="", out="", steps=100, warmup=10, lr=1.0)
    assert learning_rate(0, s) == pytest.approx(0.1)
    assert learning_rate(10, s) == pytest.approx(1.0)
    assert learning_rate(100, s) == pytest.approx(0.0, abs=1e-12)


def test_train_command(folder, tmp_path):
    out = tmp_path / "cli.safetensors"
    result = CliRunner().invoke(app, ["train", "denoiser", str(folder), "--out", str(out), "--width", "4",
                                      "--steps", "2", "--batch", "2", "--patch", "16", "--save-every", "1"])
    assert result.exit_code == 0, result.output
    assert load_model(out).config["architecture"]["base"] == 4
    state = tmp_path / "elsewhere.state.safetensors"
    result = CliRunner().invoke(app, ["train", "denoiser", str(folder), "--out", str(out), "--width", "4", "--steps", "3",
                                      "--batch", "2", "--patch", "16", "--state", str(state), "--overwrite"])
    assert result.exit_code == 0 and state.is_file()
    resumed = CliRunner().invoke(app, ["train", "denoiser", str(folder), "--out", str(out), "--width", "4", "--steps", "4",
                                       "--batch", "2", "--patch", "16", "--state", str(state), "--resume", "--override"])
    assert resumed.exit_code == 0 and "after 4 steps" in " ".join(resumed.output.split())
    assert load_model(out).config["training"]["settings"]["extra"]["overrides"] == [
        {"step": 3, "setting": "steps", "saved": 3, "given": 4}]


def train_cli(*args: str):
    return CliRunner().invoke(app, ["train", "denoiser", *args, "--width", "4", "--steps", "1", "--batch", "2",
                                    "--patch", "16"])


def test_train_never_replaces_a_run_or_a_training_image_without_being_told(folder, tmp_path):
    out = tmp_path / "run.safetensors"
    assert train_cli(str(folder), "--out", str(out)).exit_code == 0
    checkpoint, state = out.read_bytes(), state_path(out).read_bytes()
    again = train_cli(str(folder), "--out", str(out))
    assert again.exit_code == 1 and "checkpoint exists; use --resume" in " ".join(again.output.split())
    assert out.read_bytes() == checkpoint and state_path(out).read_bytes() == state
    assert train_cli(str(folder), "--out", str(out), "--overwrite", "--seed", "5").exit_code == 0
    assert out.read_bytes() != checkpoint
    assert len((tmp_path / "run.log.jsonl").read_text().splitlines()) == 1
    image = next(p for p in folder.iterdir() if p.suffix == ".png")
    before, listing = image.read_bytes(), sorted(p.name for p in folder.iterdir())
    for target in (image, folder / "new.safetensors"):
        into_data = train_cli(str(folder), "--out", str(target), "--overwrite")
        assert into_data.exit_code == 1 and "would be written into the training data folder" in " ".join(
            into_data.output.split())
    assert image.read_bytes() == before and sorted(p.name for p in folder.iterdir()) == listing
    same = train_cli(str(folder), "--out", str(tmp_path / "a.safetensors"), "--state", str(tmp_path / "a.safetensors"))
    assert same.exit_code == 1 and "--state names the checkpoint itself" in " ".join(same.output.split())
    (tmp_path / "folder.safetensors").mkdir()
    is_folder = train_cli(str(folder), "--out", str(tmp_path / "folder.safetensors"))
    assert is_folder.exit_code == 1 and "is a folder" in " ".join(is_folder.output.split())
    for result in (again, into_data, same, is_folder):
        assert "Traceback" not in result.output


def test_init_starts_from_a_checkpoints_weights(folder, tmp_path):
    start = tmp_path / "start.safetensors"
    run_training(settings(folder, start, 2))
    frozen = settings(folder, tmp_path / "frozen.safetensors", 2)
    frozen.init, frozen.lr, frozen.ema = str(start), 0.0, 0.0
    run_training(frozen)
    for a, b in zip(load_model(start).network.parameters(), load_model(frozen.out).network.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    other_levels = settings(folder, tmp_path / "other.safetensors", 2)
    other_levels.init, other_levels.mults = str(start), (1, 2, 4)
    with pytest.raises(EqdenoiseError, match="not the requested"):
        run_training(other_levels)


def test_init_grows_depth_and_width_keeping_the_function(folder, tmp_path):
    start = tmp_path / "start.safetensors"
    run_training(settings(folder, start, 2))
    deeper = settings(folder, tmp_path / "deeper.safetensors", 2)
    deeper.init, deeper.blocks, deeper.base, deeper.lr, deeper.ema = str(start), 3, 6, 0.0, 0.0
    run_training(deeper)
    before, after = load_model(start), load_model(deeper.out)
    assert shape(deeper.out) == (3, 6)
    assert sum(p.numel() for p in after.network.parameters()) > sum(p.numel() for p in before.network.parameters())
    x, sigma = torch.randn(2, 1, 12, 20), torch.tensor([0.2, 1.5])
    with torch.no_grad():
        assert torch.allclose(before.network(x, sigma), after.network(x, sigma), atol=1e-6)
    unset = settings(folder, tmp_path / "unset.safetensors", 2)
    unset.init, unset.blocks, unset.base = str(deeper.out), None, None
    run_training(unset)
    assert shape(unset.out) == (3, 6)
    for field, value in (("blocks", 2), ("base", 4)):
        smaller = settings(folder, tmp_path / f"smaller-{field}.safetensors", 2)
        smaller.init = str(deeper.out)
        setattr(smaller, field, value)
        with pytest.raises(EqdenoiseError, match="blocks per level and base width may grow"):
            run_training(smaller)


def test_train_command_blocks_and_stop_at(folder, tmp_path):
    out = tmp_path / "deep.safetensors"
    common = [str(folder), "--out", str(out), "--width", "4", "--blocks", "2", "--steps", "4", "--batch", "2", "--patch", "16"]
    stopped = CliRunner().invoke(app, ["train", "denoiser", *common, "--stop-at", "2"])
    assert stopped.exit_code == 0 and "after 2 steps" in " ".join(stopped.output.split()), stopped.output
    record = load_model(out).config
    assert record["architecture"]["blocks"] == 2 and record["training"]["steps_done"] == 2
    resumed = CliRunner().invoke(app, ["train", "denoiser", *common, "--resume"])
    assert resumed.exit_code == 0 and "after 4 steps" in " ".join(resumed.output.split())


def test_train_command_init_keeps_the_checkpoints_shape_unless_told(folder, tmp_path):
    deep, tuned, wider = (tmp_path / f"{name}.safetensors" for name in ("deep", "tuned", "wider"))
    common = ["--steps", "1", "--batch", "2", "--patch", "16"]
    made = CliRunner().invoke(app, ["train", "denoiser", str(folder), "--out", str(deep), *common, "--width", "6",
                                    "--blocks", "2"])
    assert made.exit_code == 0, made.output
    result = CliRunner().invoke(app, ["train", "denoiser", str(folder), "--out", str(tuned), *common, "--init", str(deep)])
    assert result.exit_code == 0, result.output
    assert shape(tuned) == (2, 6)
    grown = CliRunner().invoke(app, ["train", "denoiser", str(folder), "--out", str(wider), *common, "--init", str(deep),
                                     "--width", "8"])
    assert grown.exit_code == 0, grown.output
    assert shape(wider) == (2, 8)
    shrunk = CliRunner().invoke(app, ["train", "denoiser", str(folder), "--out", str(tmp_path / "narrow.safetensors"),
                                      *common, "--init", str(deep), "--width", "4"])
    assert shrunk.exit_code == 1 and "may grow" in shrunk.output and "Traceback" not in shrunk.output


def test_sigma_weights_grow_with_noise_inside_the_range_and_are_flat_outside():
    s = TrainSettings(data="", out="", sigma_min_255=5.0, sigma_max_255=80.0, sigma_weight=1.0)
    sigma = torch.tensor([1.0, 5.0, 15.0, 20.0, 50.0, 80.0, 500.0]) * 2 / 255
    w = sigma_weights(sigma, s)
    assert w[3].item() == pytest.approx(1.0)
    assert (w[4] / w[2]).item() == pytest.approx(50 / 15)
    assert w[0] == w[1] and w[5] == w[6] and w[1].item() == pytest.approx(0.25)
    s.sigma_weight = 0.0
    assert torch.equal(sigma_weights(sigma, s), torch.ones(7))


def test_train_command_noise_range_and_init(folder, tmp_path):
    start, out = tmp_path / "start.safetensors", tmp_path / "tuned.safetensors"
    common = ["--width", "4", "--steps", "2", "--batch", "2", "--patch", "16"]
    assert CliRunner().invoke(app, ["train", "denoiser", str(folder), "--out", str(start), *common]).exit_code == 0
    result = CliRunner().invoke(app, ["train", "denoiser", str(folder), "--out", str(out), *common, "--init", str(start),
                                      "--sigma-range", "5", "75", "--restoration-fraction", "0.9", "--warmup", "0",
                                      "--sigma-weight", "1"])
    assert result.exit_code == 0, result.output
    recorded = load_model(out).config["training"]["settings"]
    assert (recorded["init"], recorded["sigma_min_255"], recorded["sigma_max_255"]) == (str(start), 5.0, 75.0)
    assert recorded["restoration_fraction"] == 0.9 and recorded["warmup"] == 0 and recorded["sigma_weight"] == 1.0
    bad = CliRunner().invoke(app, ["train", "denoiser", str(folder), "--out", str(out), *common, "--sigma-range", "9", "3"])
    assert bad.exit_code == 2 and "--sigma-range" in bad.output


def test_resuming_a_run_started_from_init_exports_its_ema_not_the_random_start(folder, tmp_path):
    start = tmp_path / "start.safetensors"
    run_training(settings(folder, start, 2))
    tuned = settings(folder, tmp_path / "tuned.safetensors", 4)
    tuned.init, tuned.lr, tuned.ema = str(start), 0.0, 0.5
    run_training(tuned, pause_at=2)
    run_training(tuned, resume=True)
    for a, b in zip(load_model(start).network.parameters(), load_model(tuned.out).network.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-5)


def test_bf16_forward_runs_in_bfloat16_and_returns_fp32():
    from eqdenoise.nets.checkpoint import build_network
    from eqdenoise.nets.precision import run

    torch.manual_seed(0)
    network = build_network({"name": "unet", "channels": 1, "base": 4, "mults": [1, 2], "blocks": 1, "emb_dim": 128})
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.normal_(0.0, 0.3)
    x, sigma = torch.randn(2, 1, 16, 16), torch.tensor([0.1, 0.3])
    exact = run(network, x, sigma, "fp32")
    fast = run(network, x, sigma, "bf16")
    assert fast.dtype == torch.float32 and not torch.equal(fast, exact)
    assert torch.allclose(fast, exact, atol=0.05 * exact.abs().max().item())


def test_bf16_training_writes_fp32_checkpoints_and_resumes(folder, tmp_path):
    out = tmp_path / "bf16.safetensors"
    fast = settings(folder, out, 4)
    fast.precision = "bf16"
    losses = []
    assert run_training(fast, pause_at=2)["steps_done"] == 2
    assert run_training(fast, resume=True, progress=lambda s, t, loss: losses.append(loss))["steps_done"] == 4
    assert len(losses) == 2 and all(np.isfinite(losses))
    model = load_model(out)
    assert model.config["training"]["settings"]["precision"] == "bf16"
    assert all(p.dtype == torch.float32 and p.is_contiguous() for p in model.network.parameters())
    plain = tmp_path / "fp32.safetensors"
    run_training(settings(folder, plain, 4))
    pairs = zip(model.network.parameters(), load_model(plain).network.parameters(), strict=True)
    assert any(not torch.equal(a, b) for a, b in pairs)
    result = CliRunner().invoke(app, ["train", "denoiser", str(folder), "--out", str(tmp_path / "cli.safetensors"),
                                      "--width", "4", "--steps", "2", "--batch", "2", "--patch", "16",
                                      "--precision", "bf16"])
    assert result.exit_code == 0, result.output
    assert load_model(tmp_path / "cli.safetensors").config["training"]["settings"]["precision"] == "bf16"


def _train_cli(*arguments: str):
    return CliRunner().invoke(app, ["train", "denoiser", *arguments])


def test_resume_takes_the_saved_settings_not_the_defaults(folder, tmp_path):
    start, straight, split = (tmp_path / f"{name}.safetensors" for name in ("start", "straight", "split"))
    run_training(settings(folder, start, 2))
    run = ["--init", str(start), "--lr", "0.002", "--warmup", "1", "--steps", "4", "--batch", "2", "--patch", "16",
           "--seed", "3"]
    assert _train_cli(str(folder), "--out", str(straight), *run).exit_code == 0
    assert _train_cli(str(folder), "--out", str(split), *run, "--stop-at", "2").exit_code == 0
    resumed = _train_cli(str(folder), "--out", str(split), "--resume")
    assert resumed.exit_code == 0 and "after 4 steps" in " ".join(resumed.output.split()), resumed.output
    for a, b in zip(load_model(straight).network.parameters(), load_model(split).network.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_resume_refuses_a_changed_setting_unless_overridden(folder, tmp_path):
    out = tmp_path / "m.safetensors"
    common = [str(folder), "--out", str(out), "--width", "4", "--steps", "4", "--batch", "2", "--patch", "16"]
    assert _train_cli(*common, "--lr", "0.001", "--stop-at", "2").exit_code == 0
    state_bytes = state_path(out).read_bytes()
    refused = _train_cli(*common, "--lr", "0", "--resume")
    message = " ".join(refused.output.split())
    assert refused.exit_code == 1 and "lr 0.0 (saved 0.001)" in message and "--override" in message
    assert "Traceback" not in refused.output and state_path(out).read_bytes() == state_bytes
    assert _train_cli(*common, "--lr", "0.001", "--resume").exit_code == 0
    assert _train_cli(str(folder), "--out", str(out), "--steps", "6", "--stop-at", "5", "--resume").exit_code == 1
    changed = _train_cli(str(folder), "--out", str(out), "--steps", "6", "--lr", "0", "--resume", "--override")
    assert changed.exit_code == 0, changed.output
    training = load_model(out).config["training"]["settings"]
    assert training["lr"] == 0.0 and training["steps"] == 6
    assert training["extra"]["overrides"] == [{"step": 4, "setting": "steps", "saved": 4, "given": 6},
                                              {"step": 4, "setting": "lr", "saved": 0.001, "given": 0.0}]


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


def test_teacher_fa_turns_the_batch_for_the_teacher_and_its_prediction_back(tiny_gray_path):
    teacher = load_model(tiny_gray_path).network.eval()
    student = build_network(load_model(tiny_gray_path).config["architecture"])
    batch = torch.rand(2, 1, 8, 8) * 2 - 1
    schedule, elements = CosineSchedule(), GROUPS["d4"].elements
    base = dict(data="", out="", batch=2, sigma_weight=0.0, restoration_fraction=0.0, teacher_weight=1.0)
    turned = _loss(TrainSettings(**base, teacher_fa=True), student, batch, schedule,
                   torch.Generator().manual_seed(5), teacher, elements=elements)
    plain = _loss(TrainSettings(**base), student, batch, schedule, torch.Generator().manual_seed(5), teacher,
                  elements=elements)
    generator = torch.Generator().manual_seed(5)
    sigma = sample_sigma(TrainSettings(**base), schedule, generator)
    noisy = schedule.add_noise(batch, torch.randn(batch.shape, generator=generator), sigma)
    element = elements[int(torch.randint(len(elements), (1,), generator=generator))]
    with torch.no_grad():
        guess = element.inverse().apply(teacher(element.apply(noisy), sigma))
        predicted = student(noisy, sigma)
    torch.testing.assert_close(turned, torch.mean((predicted - guess) ** 2), rtol=1e-4, atol=1e-6)
    assert element != IDENTITY and not torch.isclose(turned, plain)


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
                                      "--teacher", str(tiny_gray_path), "--teacher-weight", "0.75", "--teacher-fa",
                                      "--steps", "2", "--batch", "2", "--patch", "16"])
    assert result.exit_code == 0, result.output
    model = load_model(out)
    assert model.config["architecture"]["mults"] == [1, 3] and model.config["architecture"]["unshuffle"] == 2
    assert model.network.stride == 4
    recorded = model.config["training"]["settings"]
    assert recorded["teacher"] == str(tiny_gray_path) and recorded["teacher_weight"] == 0.75 and recorded["teacher_fa"]
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


def test_a_weight_tied_network_trains_from_the_command_line_and_continues_from_init(folder, tmp_path):
    out = tmp_path / "wt.safetensors"
    result = CliRunner().invoke(app, ["train", "denoiser", str(folder), "--out", str(out), "--network", "wt",
                                 "--group", "c4", "--width", "2", "--level", "1", "--level", "2", "--steps", "3",
                                 "--batch", "2", "--patch", "16", "--warmup", "1"])
    assert result.exit_code == 0, result.output
    model = load_model(out)
    assert model.config["architecture"]["name"] == "wt-unet" and model.equivariant_group == "c4"
    assert model.config["training"]["settings"]["network"] == "wt"
    x, sigma = torch.randn(1, 1, 8, 12), torch.tensor([1.0])
    with torch.no_grad():
        reference = model.network(x, sigma)
        for g in GROUPS["c4"]:
            torch.testing.assert_close(model.network(g.apply(x), sigma), g.apply(reference), rtol=0, atol=1e-5)
    more = TrainSettings(data=str(folder), out=str(tmp_path / "more.safetensors"), init=str(out), group="c4",
                         steps=1, batch=2, patch=16, lr=0.0, ema=0.0)
    run_training(more)
    with torch.no_grad():
        torch.testing.assert_close(load_model(more.out).network(x, sigma), reference, rtol=0, atol=1e-6)
    refused = CliRunner().invoke(app, ["train", "denoiser", str(folder), "--out", str(tmp_path / "no.safetensors"),
                                  "--network", "wt", "--unshuffle", "2", "--steps", "1"])
    assert refused.exit_code == 1 and "weight-tied" in refused.output and "Traceback" not in refused.output


def orbit_error_ratio(path) -> float:
    """Largest |f(g·x) − g·f(x)| over d4 relative to max |f(x)|, on one fixed input."""
    model = load_model(path)
    x, sigma = torch.randn(1, 1, 16, 16, generator=torch.Generator().manual_seed(5)), torch.tensor([0.5])
    with torch.no_grad():
        reference = model.network(x, sigma)
        error = max(float((model.network(g.apply(x), sigma) - g.apply(reference)).abs().max()) for g in GROUPS["d4"])
    return error / float(reference.abs().max())


def test_reg_pulls_a_plain_network_towards_equivariance(folder, tmp_path):
    ratios = {}
    for reg in (0.0, 10.0):
        run = TrainSettings(data=str(folder), out=str(tmp_path / f"reg{reg}.safetensors"), base=4, mults=(1, 2),
                            steps=40, batch=4, patch=16, warmup=1, lr=3e-3, ema=0.5, seed=1, reg=reg)
        run_training(run)
        ratios[reg] = orbit_error_ratio(run.out)
        assert load_model(run.out).config["training"]["settings"]["reg"] == reg
    assert ratios[10.0] < 0.5 * ratios[0.0], ratios


def test_the_reg_penalty_vanishes_for_a_weight_tied_network_and_not_for_a_plain_one():
    from conftest import wt_architecture
    from eqdenoise.training.train import equivariance_penalty

    x, sigma, weights = torch.randn(2, 1, 16, 12), torch.tensor([0.4, 2.0]), torch.ones(2)
    element = GROUPS["d4"].elements[5]
    for architecture, vanishes in ((wt_architecture(1, "d4"), True), ({**wt_architecture(1, "d4"), "name": "unet"},
                                                                         False)):
        network = build_network(architecture)
        with torch.no_grad():
            for param in network.parameters():
                param.normal_(0.0, 1.0 / max(1, param[0].numel()) ** 0.5)
            penalty = float(equivariance_penalty(network(x, sigma), network, x, sigma, element, weights, "fp32"))
        assert (penalty < 1e-10) == vanishes, penalty


@pytest.mark.parametrize(("options", "message"), [
    (["--scale", "1000"], "--scale 1000 must be from 0.05 to 4"),
    (["--batch", "100000000"], "--batch 100000000 of 16² patches is 25,600,000,000 values a step, over the 4,194,304"),
    (["--lr", "nan"], "--lr nan is not a finite number"),
    (["--lr", "inf"], "--lr inf is not a finite number"),
    (["--lr", "5"], "--lr 5 must be in [0, 1]"),
    (["--sigma-range", "50", "10"], "--sigma-range two increasing positive levels"),
    (["--sigma-range", "10", "300"], "--sigma-range 10 300 must have 0 < LOW < HIGH ≤ 255"),
    (["--patch", "4096"], "--patch 4096 must be from 8 to 2048"),
    (["--reg", "inf"], "--reg inf is not a finite number"),
])
def test_train_bounds_every_size_and_number_before_reading_data(folder, tmp_path, options, message):
    out = tmp_path / "bounded.safetensors"
    result = CliRunner().invoke(app, ["train", "denoiser", str(folder), "--out", str(out), "--width", "4", "--steps", "1",
                                      "--batch", "2", "--patch", "16", *options])
    assert result.exit_code == 2 and message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output and not out.exists() and not state_path(out).exists()


def test_training_data_that_would_not_fit_in_memory_is_refused_by_its_size(folder, tmp_path, monkeypatch):
    import eqdenoise.training.train_bounds

    monkeypatch.setattr(eqdenoise.training.train_bounds, "MAX_TRAINING_VALUES", 2000)
    with pytest.raises(EqdenoiseError, match="at scale 4 the training images reach [0-9,]+ values, over the 2,000"):
        load_training_images(folder, 1, 16, (1.0, 4.0))


def test_resume_from_a_damaged_state_is_one_line(folder, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    out = tmp_path / "run.safetensors"
    assert train_cli(str(folder), "--out", str(out)).exit_code == 0
    state = state_path(out)
    with safe_open(str(state), framework="pt") as handle:
        metadata = handle.metadata()
    tensors = load_file(state)
    for damage, expected in [(lambda t, m: (t, {"eqdenoise_train_state": json.dumps({"step": 1})}), "settings are incomplete"),
                             (lambda t, m: ({k: v for k, v in t.items() if k != "rng"}, m), "incomplete or does not fit"),
                             (lambda t, m: ({k: v for k, v in t.items() if not k.startswith("ema.")}, m),
                              "incomplete or does not fit")]:
        kept, meta = damage(dict(tensors), dict(metadata))
        save_file(kept, str(state), metadata=meta)
        result = train_cli(str(folder), "--out", str(out), "--resume")
        assert result.exit_code == 1 and expected in " ".join(result.output.split()), result.output
        assert "Traceback" not in result.output


def test_a_full_disk_while_training_is_one_line_and_keeps_the_last_checkpoint(folder, tmp_path, monkeypatch):
    import eqdenoise.nets.checkpoint

    out = tmp_path / "run.safetensors"
    assert train_cli(str(folder), "--out", str(out)).exit_code == 0
    before = out.read_bytes()

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(eqdenoise.nets.checkpoint, "save_file", no_space)
    result = train_cli(str(folder), "--out", str(out), "--overwrite")
    assert result.exit_code == 1 and "could not be written (" in result.output and "No space left" in result.output
    assert "Traceback" not in result.output and out.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_train_refuses_float_images_in_physical_units_as_denoise_does(folder, tmp_path):
    """A float TIFF of 935…3125 was trained on (clipped) although denoise refuses it: one rule for both."""
    from PIL import Image

    from eqdenoise.api import denoise_file

    physical = folder / "hu.tif"
    Image.fromarray(np.random.default_rng(0).uniform(935, 3125, (20, 20)).astype(np.float32), mode="F").save(physical)
    with pytest.raises(EqdenoiseError, match="hu.tif: pixel values span 9[0-9.]+…3[0-9.]+, beyond -1…2") as trained:
        load_training_images(folder, 1, 16)
    with pytest.raises(EqdenoiseError, match="pixel values span 9[0-9.]+…3[0-9.]+, beyond -1…2") as denoised:
        denoise_file(physical, tmp_path / "out.tif", sigma=10)
    assert all("denoise and train take float images scaled to [0, 1]" in str(e.value) for e in (trained, denoised))
    physical.unlink()
    Image.fromarray(np.random.default_rng(0).uniform(-0.05, 1.05, (20, 20)).astype(np.float32), mode="F").save(
        folder / "scaled.tif")
    assert len(load_training_images(folder, 1, 16)) == 5


@pytest.mark.parametrize("minutes", ["-1", "0", "nan", "inf"])
def test_train_minutes_must_be_a_positive_number(folder, tmp_path, minutes):
    result = train_cli(str(folder), "--out", str(tmp_path / "m.safetensors"), "--minutes", minutes)
    assert result.exit_code == 2 and "--minutes must be a positive number" in result.output, result.output
    assert not (tmp_path / "m.safetensors").exists()


def test_the_api_trains_and_resumes_from_the_states_own_settings(folder, tmp_path):
    """eqdenoise.train_denoiser takes the command's option names and defaults; resume needs none of them again."""
    import eqdenoise

    out = tmp_path / "api.safetensors"
    seen = []
    record = eqdenoise.train_denoiser(folder, out, width=4, steps=4, batch=2, patch=16, stop_at=2,
                                      progress=lambda step, total, loss: seen.append((step, total)))
    assert record["steps_done"] == 2 and seen[-1] == (2, 4)
    resumed = eqdenoise.train_denoiser(folder, out, resume=True)
    assert resumed["steps_done"] == 4
    saved = load_model(out).config["training"]["settings"]
    assert (saved["base"], saved["batch"], saved["patch"], saved["steps"]) == (4, 2, 16, 4)
    with pytest.raises(EqdenoiseError, match="differ from the saved run: batch 3 \\(saved 2\\)"):
        eqdenoise.train_denoiser(folder, out, resume=True, batch=3)
    with pytest.raises(eqdenoise.UsageError, match="unknown training option 'widht'"):
        eqdenoise.train_denoiser(folder, tmp_path / "other.safetensors", widht=4)
    with pytest.raises(eqdenoise.UsageError, match="--patch a multiple of 4"):
        eqdenoise.train_denoiser(folder, tmp_path / "other.safetensors", patch=18)


def test_the_commands_defaults_are_the_apis():
    """The CLI shows and the API uses one table of defaults per task."""
    import inspect

    from eqdenoise.cli.train import train_bridge_command, train_denoiser_command
    from eqdenoise.training.train_options import BRIDGE_DEFAULTS, DENOISER_DEFAULTS

    for command, defaults in ((train_denoiser_command, DENOISER_DEFAULTS), (train_bridge_command, BRIDGE_DEFAULTS)):
        shown = {name: p.default for name, p in inspect.signature(command).parameters.items() if name in defaults}
        assert set(shown) == set(defaults)
        for name, value in shown.items():
            assert getattr(value, "value", value) == defaults[name], name


@pytest.mark.parametrize("length", [300, 252])
def test_a_checkpoint_name_whose_own_or_whose_states_name_is_too_long_is_one_line(folder, tmp_path, length):
    """A 300-byte --out was an OSError traceback; a 252-byte one fits, but its state's name (258 bytes) does not."""
    out = tmp_path / ("x" * (length - len(".safetensors")) + ".safetensors")
    result = train_cli(str(folder), "--out", str(out))
    assert result.exit_code == 1 and "over the 255-byte limit" in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output and [p.name for p in tmp_path.iterdir()] == ["data"]
