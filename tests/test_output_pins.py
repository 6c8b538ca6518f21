"""Output pins: the exact result bytes of every shipped model under each method it takes, on small images (gray, RGB,
a bridge on CT, samples), so that a restructuring that must not change behaviour is held to the bit.

The pins were made with ``python tests/test_output_pins.py --write`` on the machine named in ``tests/output_pins.json``;
float results depend on the CPU's kernels and on the torch version, so on another platform the test skips and says so.
"""

import functools
import hashlib
import json
import platform
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import eqdenoise
from conftest import ct_small_path, sample_pixels
from eqdenoise.nets.registry import manifest

PINS = Path(__file__).with_name("output_pins.json")
DENOISE_RUNS = {"sigma25": {"sigma": 25}, "strength": {"strength": 0.3, "steps": 2, "eta": 1.0, "seed": 3}}
TRANSFER_RUNS = {"onepass": {}, "bridge3": {"steps": 3, "eta": 1.0, "seed": 5}}


def platform_key() -> str:
    """What float results depend on: torch's version and the CPU's vector instructions."""
    return f"torch {torch.__version__}, {platform.machine()}, {torch.backends.cpu.get_cpu_capability()}"


def _methods(model) -> list[str]:
    return ["canon", "fa", "none", *(["wt"] if model.equivariant_group else [])]


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:24]


def _image(entry: dict) -> np.ndarray:
    """A small float32 image for a denoiser: a gray or colour crop of a shipped noisy sample."""
    if entry["channels"] == 3:
        return np.ascontiguousarray(sample_pixels("coffee-rgb-noisy25.png", crop=(20, 26)).transpose(1, 2, 0))
    return np.ascontiguousarray(sample_pixels("cat-gray-noisy25.png", crop=(20, 26))[0])


@functools.cache
def cases() -> dict[str, callable]:
    """Every pinned run by name, each a function returning its result array."""
    from eqdenoise.files.dicom import read_dicom

    runs = {}
    ct = np.ascontiguousarray(read_dicom(ct_small_path()).values[0, 40:64, 50:70])
    for entry in manifest():
        model = eqdenoise.load_model(entry["name"])
        for method in _methods(model):
            if entry["task"] == "bridge":
                for run, options in TRANSFER_RUNS.items():
                    runs[f"{entry['name']}/{method}/{run}"] = (
                        lambda m=model, o=options, k=method: eqdenoise.transfer(ct, model=m, method=k, **o))
                continue
            for run, options in DENOISE_RUNS.items():
                runs[f"{entry['name']}/{method}/{run}"] = (
                    lambda m=model, o=options, k=method, e=entry: eqdenoise.denoise(_image(e), model=m, method=k, **o))
            runs[f"{entry['name']}/{method}/sample"] = (
                lambda m=model, k=method: np.stack(eqdenoise.sample(
                    m, n=2, size=(2 * m.network.stride, 3 * m.network.stride), steps=3, eta=1.0, seed=7, method=k)))
    return runs


def _pins() -> dict:
    return json.loads(PINS.read_text()) if PINS.is_file() else {}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_pins().get("outputs", {})))
def test_every_shipped_model_gives_its_pinned_output_bytes(name):
    pins = _pins()
    if pins["platform"] != platform_key():
        pytest.skip(f"pins made on {pins['platform']}, this is {platform_key()}; rewrite them with "
                    "`python tests/test_output_pins.py --write` on the commit before a change")
    assert _digest(cases()[name]()) == pins["outputs"][name]


def test_the_pins_cover_every_shipped_model_and_method():
    """A model or method added without a pin fails here, so the pins keep up with what ships."""
    if not manifest():
        pytest.skip("no shipped models installed")
    assert sorted(_pins()["outputs"]) == sorted(cases())


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    outputs = {name: _digest(run()) for name, run in sorted(cases().items())}
    PINS.write_text(json.dumps({"platform": platform_key(), "outputs": outputs}, indent=1) + "\n")
    print(f"wrote {len(outputs)} pins for {platform_key()} to {PINS}")
