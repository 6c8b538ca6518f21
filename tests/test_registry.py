"""The shipped-model registry: where models live, the default per channel count, names, paths and hashes."""

import json

import pytest

from conftest import write_tiny_checkpoint
from eqdenoise.errors import EqdenoiseError
from eqdenoise.nets.registry import COLOR_DENOISER, GRAY_DENOISER, default_denoiser, manifest, resolve_model, sha256


@pytest.fixture
def models(tmp_path, monkeypatch):
    """A models folder with one tiny gray checkpoint named like the gray default, pointed at by $EQDENOISE_MODELS."""
    path = write_tiny_checkpoint(tmp_path / "tiny.safetensors")
    entry = {"name": GRAY_DENOISER, "file": path.name, "sha256": sha256(path)}
    (tmp_path / "manifest.json").write_text(json.dumps({"models": [entry]}))
    monkeypatch.setenv("EQDENOISE_MODELS", str(tmp_path))
    return tmp_path


def test_names_resolve_through_the_manifest_and_paths_directly(models):
    assert [entry["name"] for entry in manifest()] == [GRAY_DENOISER]
    assert resolve_model(GRAY_DENOISER, task="denoise").config["channels"] == 1
    assert resolve_model(str(models / "tiny.safetensors"), task="denoise").config["channels"] == 1


def test_colour_falls_back_to_the_gray_default_when_no_colour_model_is_installed(models):
    assert default_denoiser(1) == GRAY_DENOISER
    assert default_denoiser(3) == GRAY_DENOISER
    entries = manifest() + [{"name": COLOR_DENOISER, "file": "rgb.safetensors", "sha256": "0"}]
    (models / "manifest.json").write_text(json.dumps({"models": entries}))
    assert default_denoiser(3) == COLOR_DENOISER


def test_a_changed_or_missing_shipped_file_is_refused(models):
    (models / "tiny.safetensors").write_bytes((models / "tiny.safetensors").read_bytes()[:-1] + b"!")
    with pytest.raises(EqdenoiseError, match="corrupted \\(SHA-256 mismatch\\)"):
        resolve_model(GRAY_DENOISER, task="denoise")
    (models / "tiny.safetensors").unlink()
    with pytest.raises(EqdenoiseError, match="is missing"):
        resolve_model(GRAY_DENOISER, task="denoise")


def test_unknown_names_list_what_is_shipped_and_a_damaged_manifest_is_named(models):
    with pytest.raises(EqdenoiseError, match=f"no shipped model of that name \\(shipped: {GRAY_DENOISER}\\)"):
        resolve_model("gray-d9", task="denoise")
    (models / "manifest.json").write_text("{")
    with pytest.raises(EqdenoiseError, match="manifest.json: model manifest is damaged"):
        manifest()
