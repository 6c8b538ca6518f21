"""Device choice: auto falls back to the CPU here, a missing GPU is one line, results on the CPU are unchanged."""

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import eqdenoise
from conftest import random_image, save_png
from eqdenoise.cli import app
from eqdenoise.devices import device_note, resolve_device
from eqdenoise.errors import EqdenoiseError

runner = CliRunner()


def test_auto_picks_cuda_then_mps_then_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("eqdenoise.devices._has_mps", lambda: False)
    assert resolve_device("auto") == torch.device("cpu") and resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr("eqdenoise.devices._has_mps", lambda: True)
    assert resolve_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark


def test_a_device_this_machine_lacks_is_one_line(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("eqdenoise.devices._has_mps", lambda: False)
    for name, message in [("cuda", "sees no CUDA GPU"), ("cuda:1", "sees no CUDA GPU"), ("mps", "no Apple Metal"),
                          ("tpu", "unknown device 'tpu'")]:
        with pytest.raises(EqdenoiseError, match=message):
            resolve_device(name)
    assert device_note("cpu") == ""


def test_the_cli_and_the_api_take_a_device(tmp_path, tiny_gray_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    save_png(tmp_path / "a.png", random_image(1, 12, 16, seed=2))
    common = ["denoise", str(tmp_path / "a.png"), "--model", str(tiny_gray_path), "--sigma", "20"]
    on_cpu = runner.invoke(app, [*common, "-o", str(tmp_path / "cpu.png"), "--device", "cpu"])
    assert on_cpu.exit_code == 0, on_cpu.output
    by_default = runner.invoke(app, [*common, "-o", str(tmp_path / "auto.png")])
    assert by_default.exit_code == 0 and (tmp_path / "auto.png").read_bytes() == (tmp_path / "cpu.png").read_bytes()
    refused = runner.invoke(app, [*common, "-o", str(tmp_path / "gpu.png"), "--device", "cuda"])
    assert refused.exit_code == 1 and "sees no CUDA GPU" in refused.output and not (tmp_path / "gpu.png").exists()
    image = random_image(1, 12, 16, seed=3)[0]
    model = eqdenoise.load_model(tiny_gray_path)
    np.testing.assert_array_equal(eqdenoise.denoise(image, model=model, sigma=20.0, device="cpu"),
                                  eqdenoise.denoise(image, model=model, sigma=20.0))
    with pytest.raises(EqdenoiseError, match="sees no CUDA GPU"):
        eqdenoise.denoise(image, model=model, sigma=20.0, device="cuda")
