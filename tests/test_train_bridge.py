"""Training a bridge on two small paired folders end to end, resume, and the errors users meet."""

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from eqdenoise.cli import app
from eqdenoise.errors import EqdenoiseError
from eqdenoise.nets.checkpoint import load_model
from eqdenoise.training.petsim import PetSimulator
from eqdenoise.training.train import TrainSettings, run_training

runner = CliRunner()


def _phantom(seed: int, size=(40, 44)) -> np.ndarray:
    """A CT-like slice in HU: air, a soft-tissue disc with a fat ring and a bone spot."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: size[0], : size[1]]
    r = np.hypot(yy - size[0] / 2 - rng.integers(-3, 4), xx - size[1] / 2)
    hu = np.where(r < 16, -80.0, -1000.0)
    hu = np.where(r < 13, 40.0, hu)
    hu[size[0] // 2 - 2: size[0] // 2 + 2, size[1] // 3: size[1] // 3 + 4] = 700.0
    return (hu + rng.normal(0, 10, size)).astype(np.float32)


@pytest.fixture()
def pairs(tmp_path):
    """CT as float TIFF (HU) and simulated PET as 16-bit PNG, matched by name."""
    source, target = tmp_path / "ct", tmp_path / "pet"
    source.mkdir()
    target.mkdir()
    sim = PetSimulator(fwhm_px=3.0)
    for i in range(3):
        hu = _phantom(i)
        Image.fromarray(hu, mode="F").save(source / f"case{i}.tiff")
        pet = np.clip(sim.sample(hu, np.random.default_rng(i)) / 2.0, 0, 1)
        Image.fromarray(np.rint(pet * 65535).astype(np.uint16)).save(target / f"case{i}.png")
    return source, target


def bridge_settings(source, target, out, steps, **extra):
    return TrainSettings(data=str(source), target=str(target), out=str(out), task="bridge", base=4, mults=(1, 2),
                         steps=steps, batch=2, patch=16, save_every=2, warmup=2,
                         source_range={"unit": "HU", "low": -1000.0, "high": 1000.0},
                         target_range={"unit": "image", "low": 0.0, "high": 1.0},
                         modalities={"source": "CT", "target": "PET"}, **extra)


def test_train_bridge_command_then_transfer(pairs, tmp_path):
    source, target = pairs
    out = tmp_path / "bridge.safetensors"
    result = runner.invoke(app, ["train", "bridge", "--source", str(source), "--target", str(target), "--out", str(out),
                                 "--source-window", "-1000", "1000", "--width", "4", "--steps", "3", "--batch", "2",
                                 "--patch", "16", "--save-every", "1"])
    assert result.exit_code == 0, result.output
    model = load_model(out, task="bridge")
    assert model.config["source_range"] == {"unit": "HU", "low": -1000.0, "high": 1000.0}
    assert model.config["modalities"] == {"source": "CT", "target": "PET"} and model.group == "d4"
    assert model.config["training"]["steps_done"] == 3
    result = runner.invoke(app, ["transfer", str(source / "case0.tiff"), "-m", str(out), "--steps", "2",
                                 "-o", str(tmp_path / "case0-pet.tiff")])
    assert result.exit_code == 0, result.output
    assert np.asarray(Image.open(tmp_path / "case0-pet.tiff")).shape == (40, 44)


def test_bridge_training_lowers_the_loss_and_resumes_exactly(pairs, tmp_path):
    source, target = pairs
    losses = []
    run_training(bridge_settings(source, target, tmp_path / "long.safetensors", 40, lr=3e-3),
                   progress=lambda s, t, loss: losses.append(loss))
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:5])
    straight, split = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    run_training(bridge_settings(source, target, straight, 4))
    run_training(bridge_settings(source, target, split, 4), pause_at=3)
    run_training(bridge_settings(source, target, split, 4), resume=True)
    for a, b in zip(load_model(straight).network.parameters(), load_model(split).network.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_regression_baseline_trains_at_the_source_end_only(pairs, tmp_path):
    source, target = pairs
    out = tmp_path / "reg.safetensors"
    run_training(bridge_settings(source, target, out, 2, regression=True))
    assert load_model(out, task="bridge").config["training"]["settings"]["regression"] is True


def test_pairing_errors(pairs, tmp_path):
    source, target = pairs
    (target / "case0.png").rename(target / "other.png")
    with pytest.raises(EqdenoiseError, match="no partner for case0, other"):
        run_training(bridge_settings(source, target, tmp_path / "m.safetensors", 2))
    (target / "other.png").rename(target / "case0.png")
    Image.fromarray(np.zeros((40, 40), np.uint16)).save(target / "case1.png")
    with pytest.raises(EqdenoiseError, match="sizes differ"):
        run_training(bridge_settings(source, target, tmp_path / "m.safetensors", 2))


def test_physical_sources_need_a_window(pairs, tmp_path):
    source, target = pairs
    result = runner.invoke(app, ["train", "bridge", "--source", str(source), "--target", str(target),
                                 "--out", str(tmp_path / "m.safetensors"), "--width", "4", "--steps", "1"])
    assert result.exit_code == 1 and "--source-window LOW HIGH" in result.output
    result = runner.invoke(app, ["train", "bridge", "--source", str(source), "--target", str(target),
                                 "--out", str(tmp_path / "m.safetensors"), "--source-window", "5", "1"])
    assert result.exit_code == 2 and "HIGH must be above LOW" in result.output


def test_shipped_weights_are_bias_corrected_ema_or_raw(pairs, tmp_path):
    from safetensors import safe_open

    from eqdenoise.training.train import state_path

    source, target = pairs
    out = tmp_path / "m.safetensors"
    run_training(bridge_settings(source, target, out, 4, lr=3e-3))
    with safe_open(str(state_path(out)), "pt") as handle:
        raw = {k[6:]: handle.get_tensor(k) for k in handle.keys() if k.startswith("model.")}
    out_layer = load_model(out).network.conv_out.weight
    assert out_layer.abs().mean() > 0.2 * raw["conv_out.weight"].abs().mean()
    run_training(bridge_settings(source, target, out, 4, ema=0.0), resume=True)
    for key, value in load_model(out).network.state_dict().items():
        assert torch.equal(value, raw[key])
    assert load_model(out).config["training"]["settings"]["ema"] == 0.0
