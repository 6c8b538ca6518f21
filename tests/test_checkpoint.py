"""Checkpoints load with their config, and every kind of bad file gives a clear error naming it."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from conftest import tiny_architecture, write_tiny_checkpoint
from eqdenoise.errors import EqdenoiseError
from eqdenoise.nets.checkpoint import CONFIG_KEY, load_model, read_config
from eqdenoise.nets.registry import resolve_model


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
    from eqdenoise.nets.checkpoint import save_model

    save_model(model.network, model.config, path)
    with pytest.raises(EqdenoiseError, match="NaN"):
        load_model(path)


def test_unknown_model_name(tmp_path):
    with pytest.raises(EqdenoiseError, match="no shipped model of that name"):
        resolve_model("gray-d9", task="denoise")


HOSTILE_ARCHITECTURES = {
    "wide": ({"base": 3000}, "base 3000 must be a whole number from 1 to 1024"),
    "wide-but-allowed": ({"base": 1000}, "do not match its config \\(conv_in.bias is \\[4\\], the config needs \\[1000\\]"),
    "deep": ({"blocks": 10000}, "blocks 10000 must be a whole number from 1 to 32"),
    "deep-but-allowed": ({"blocks": 32}, "do not match its config"),
    "text": ({"base": "8"}, "base '8' must be a whole number"),
    "fraction": ({"base": 8.5}, "base 8.5 must be a whole number"),
    "boolean": ({"blocks": True}, "blocks True must be a whole number"),
    "no-levels": ({"mults": []}, "mults \\[\\] must be a list of 1 to 8"),
    "mults-text": ({"mults": "124"}, "mults '124' must be a list"),
    "negative": ({"base": -4}, "base -4 must be a whole number from 1"),
    "odd-embedding": ({"emb_dim": 127}, "emb_dim 127 must be even"),
    "huge-embedding": ({"emb_dim": 10**9}, "emb_dim 1000000000 must be a whole number"),
    "null-name": ({"name": None}, "architecture name None is not a string"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_ARCHITECTURES))
def test_a_hostile_architecture_is_refused_before_anything_is_built(tmp_path, case):
    good = write_tiny_checkpoint(tmp_path / "good.safetensors")
    config = read_config(good)
    change, message = HOSTILE_ARCHITECTURES[case]
    config["architecture"] = dict(config["architecture"], **change)
    path = tmp_path / f"{case}.safetensors"
    save_file(load_file(good), str(path), metadata={CONFIG_KEY: json.dumps(config)})
    with pytest.raises(EqdenoiseError, match=message) as info:
        load_model(path)
    assert str(info.value).startswith(f"{path}: ")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("architecture", [1, 2], "the architecture is not a JSON object"),
    ("schedule", {"kind": "cosine", "sigma_max": float("nan")}, "sigma_max nan is outside"),
    ("schedule", {"kind": "cosine", "sigma_max": 1e-9}, "sigma_max 1e-09 is outside"),
    ("schedule", {"kind": "cosine", "sigma_max": "big"}, "could not convert"),
    ("schedule", {"kind": "cosine"}, "sigma_max"),
    ("group", ["d4"], r"group \[.d4.\] is not a name"),
])
def test_a_hostile_config_field_is_refused_in_one_line(tmp_path, field, value, message):
    good = write_tiny_checkpoint(tmp_path / "good.safetensors")
    config = dict(read_config(good), **{field: value})
    path = tmp_path / "hostile.safetensors"
    save_file(load_file(good), str(path), metadata={CONFIG_KEY: json.dumps(config)})
    with pytest.raises(EqdenoiseError, match=message) as info:
        load_model(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_a_hostile_bridge_schedule_or_range_is_refused(tmp_path):
    good = write_tiny_checkpoint(tmp_path / "bridge.safetensors", task="bridge")
    for change, message in [({"schedule": {"kind": "brownian-bridge", "beta": float("inf")}}, "beta inf is outside"),
                            ({"schedule": {"kind": "brownian-bridge", "beta": 0}}, "beta 0.0 is outside"),
                            ({"source_range": {"low": 5, "high": 5}}, "source_range 5…5 is not a finite range"),
                            ({"data_range": {"low": "x", "high": 1}}, "could not convert")]:
        config = dict(read_config(good), **change)
        path = tmp_path / "hostile.safetensors"
        save_file(load_file(good), str(path), metadata={CONFIG_KEY: json.dumps(config)})
        with pytest.raises(EqdenoiseError, match=message):
            load_model(path)


def _with_config_text(source, path, text: str):
    """A copy of a checkpoint whose config metadata is ``text`` as it stands."""
    save_file(load_file(source), str(path), metadata={CONFIG_KEY: text})
    return path


@pytest.mark.parametrize(("make", "message"), [
    (lambda config: '{"a": ' * 5000 + "1" + "}" * 5000, "nested more than 32 levels deep"),
    (lambda config: json.dumps(config)[:-1] + ', "x": [' * 40 + "]" * 40 + "}", "nested more than 32 levels deep"),
    (lambda config: json.dumps(config)[:-1] + ', "big": ' + "9" * 5000 + "}", "holds a value that cannot be read"),
    (lambda config: json.dumps({**config, "channels": 0}).replace('"channels": 0', '"channels": ' + "7" * 4400),
     "cannot be read"),
    (lambda config: " " * 1_000_001, "over the 1,000,000"),
])
def test_hostile_config_text_is_one_line(tmp_path, tiny_gray_path, make, message):
    """Deep nesting raised RecursionError and a 5,000-digit integer ValueError, as tracebacks."""
    path = _with_config_text(tiny_gray_path, tmp_path / "hostile.safetensors", make(read_config(tiny_gray_path)))
    with pytest.raises(EqdenoiseError, match=message) as info:
        load_model(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_brackets_inside_config_strings_do_not_count_as_nesting(tmp_path, tiny_gray_path):
    config = read_config(tiny_gray_path)
    config["training"] = {"note": "[[[[" * 20 + '\\" {{{{' * 20}
    load_model(_with_config_text(tiny_gray_path, tmp_path / "noted.safetensors", json.dumps(config)))


@pytest.mark.parametrize("dtype", [torch.bool, torch.int8, torch.int32, torch.int64, torch.float16, torch.bfloat16,
                                   torch.float64])
def test_tensors_that_are_not_float32_are_refused(tmp_path, tiny_gray_path, dtype):
    """Boolean tensors raised NotImplementedError; integer ones were cast and run without a word."""
    tensors = load_file(tiny_gray_path)
    name = sorted(tensors)[0]
    tensors[name] = (tensors[name] > 0).to(dtype)
    path = tmp_path / "typed.safetensors"
    save_file(tensors, str(path), metadata={CONFIG_KEY: json.dumps(read_config(tiny_gray_path))})
    with pytest.raises(EqdenoiseError, match=f"checkpoint tensor {name} is [A-Z0-9]+; eqdenoise checkpoints hold float32"):
        load_model(path)


def test_a_fifo_or_device_given_as_checkpoint_is_named_for_what_it_is(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.safetensors")
    for path in (tmp_path / "pipe.safetensors", "/dev/zero"):
        with pytest.raises(EqdenoiseError, match="not a regular file \\(a FIFO, device or socket\\)"):
            load_model(path)
    with pytest.raises(EqdenoiseError, match="checkpoint not found"):
        load_model(tmp_path / "absent.safetensors")
