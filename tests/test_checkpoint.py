"""Checkpoints load with their config, and every kind of bad file gives a clear error naming it."""

import json

import pytest
import torch
from safetensors.torch import save_file

from conftest import tiny_architecture, write_tiny_checkpoint
from eqdenoise.checkpoint import CONFIG_KEY, load_model, read_config
from eqdenoise.errors import EqdenoiseError
from eqdenoise.registry import resolve_model


def test_roundtrip_keeps_weights_and_config(tmp_path):
    path = write_tiny_checkpoint(tmp_path / "m.safetensors", channels=3, group="c4")
    model = load_model(path, task="denoise")
    assert model.channels == 3 and model.group == "c4" and model.task == "denoise"
    assert read_config(path)["architecture"] == tiny_architecture(3)
    again = load_model(path)
    for a, b in zip(model.network.parameters(), again.network.parameters(), strict=True):
        assert torch.equal(a, b)


def test_bad_checkpoints_are_reported_by_name(tmp_path):
    good = write_tiny_checkpoint(tmp_path / "good.safetensors")
    data = good.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 64)
    save_file({"w": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    save_file({"w": torch.zeros(2)}, str(tmp_path / "badjson.safetensors"), metadata={CONFIG_KEY: "{oops"})
    config = read_config(good)
    save_file({"w": torch.zeros(2)}, str(tmp_path / "mismatch.safetensors"), metadata={CONFIG_KEY: json.dumps(config)})
    bridge = write_tiny_checkpoint(tmp_path / "bridge.safetensors", task="bridge")
    two = write_tiny_checkpoint(tmp_path / "two.safetensors", channels=2)
    bridge_config = read_config(bridge)
    no_range = {k: v for k, v in bridge_config.items() if k != "source_range"}
    save_file({"w": torch.zeros(2)}, str(tmp_path / "norange.safetensors"), metadata={CONFIG_KEY: json.dumps(no_range)})
    eps_bridge = dict(bridge_config, prediction="eps")
    save_file({"w": torch.zeros(2)}, str(tmp_path / "epsbridge.safetensors"),
              metadata={CONFIG_KEY: json.dumps(eps_bridge)})
    odd_group = dict(config, group="c8")
    save_file({"w": torch.zeros(2)}, str(tmp_path / "c8.safetensors"), metadata={CONFIG_KEY: json.dumps(odd_group)})
    cases = {
        tmp_path / "missing.safetensors": "not found",
        tmp_path / "cut.safetensors": "not a readable safetensors",
        tmp_path / "junk.safetensors": "not a readable safetensors",
        tmp_path / "plain.safetensors": "no eqdenoise config",
        tmp_path / "badjson.safetensors": "not valid JSON",
        tmp_path / "mismatch.safetensors": "do not match its config",
        bridge: "'bridge' checkpoint, not a 'denoise'",
        two: "has 2 channels",
        tmp_path / "c8.safetensors": "unknown group 'c8'",
        tmp_path / "norange.safetensors": "bridge checkpoint needs a source range",
        tmp_path / "epsbridge.safetensors": "unsupported prediction target 'eps' for a bridge model",
    }
    for path, message in cases.items():
        with pytest.raises(EqdenoiseError, match=message) as info:
            load_model(path, task="denoise")
        assert str(info.value).startswith(str(path))


def test_nan_weights_are_rejected(tmp_path):
    path = write_tiny_checkpoint(tmp_path / "nan.safetensors")
    model = load_model(path)
    with torch.no_grad():
        next(model.network.parameters()).fill_(float("nan"))
    from eqdenoise.checkpoint import save_model

    save_model(model.network, model.config, path)
    with pytest.raises(EqdenoiseError, match="NaN"):
        load_model(path)


def test_unknown_model_name(tmp_path):
    with pytest.raises(EqdenoiseError, match="no shipped model of that name"):
        resolve_model("gray-d9", task="denoise")
