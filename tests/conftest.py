"""Shared fixtures: tiny random-weight checkpoints and small real and random images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from eqdenoise.diffusion.bridge_schedule import BrownianBridge
from eqdenoise.diffusion.schedule import CosineSchedule
from eqdenoise.nets.checkpoint import build_network, load_model, make_config, save_model

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SHARED_DATA = ROOT.parent / "shared" / "data" / "dncnn-gray"


def tiny_architecture(channels: int, task: str = "denoise") -> dict:
    architecture = {"name": "unet", "channels": channels, "base": 4, "mults": [1, 2], "blocks": 1, "emb_dim": 16}
    if channels == 3:
        architecture["attention"] = 3
    if task == "bridge":
        architecture["in_channels"] = 2 * channels
    return architecture


CT_WINDOW = {"unit": "HU", "low": -1000.0, "high": 1000.0}
PET_WINDOW = {"unit": "activity", "low": 0.0, "high": 2.0}


def write_tiny_checkpoint(path: Path, channels: int = 1, group: str = "d4", task: str = "denoise",
                          seed: int = 0, architecture: dict | None = None) -> Path:
    """A checkpoint whose every weight is random (no zero-initialised layer), so it is far from equivariant."""
    torch.manual_seed(seed)
    architecture = architecture or tiny_architecture(channels, task)
    network = build_network(architecture)
    with torch.no_grad():
        for param in network.parameters():
            param.normal_(0.0, 0.3 if architecture["name"] == "unet" else 1.0 / max(1, param[0].numel()) ** 0.5)
    if task == "bridge":
        config = make_config(task=task, architecture=architecture, group=group, schedule=BrownianBridge(),
                             source_range=CT_WINDOW, target_range=PET_WINDOW,
                             modalities={"source": "CT", "target": "PET"})
    else:
        config = make_config(task=task, architecture=architecture, group=group, schedule=CosineSchedule())
    save_model(network, config, path)
    return path


@pytest.fixture()
def folder(tmp_path):
    """A small training folder: three gray images and one colour image."""
    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        save_png(data / f"img{i}.png", random_image(1, 24, 30, seed=i))
    save_png(data / "color.png", random_image(3, 20, 20, seed=9))
    return data


@pytest.fixture(scope="session")
def tiny_gray_path(tmp_path_factory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-gray.safetensors", channels=1)


@pytest.fixture(scope="session")
def tiny_rgb_path(tmp_path_factory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-rgb.safetensors", channels=3)


@pytest.fixture(scope="session")
def tiny_bridge_path(tmp_path_factory) -> Path:
    return write_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-bridge.safetensors", task="bridge")


@pytest.fixture(scope="session")
def tiny_bridge(tiny_bridge_path):
    return load_model(tiny_bridge_path)


@pytest.fixture(scope="session")
def tiny_gray(tiny_gray_path):
    return load_model(tiny_gray_path)


@pytest.fixture(scope="session")
def tiny_rgb(tiny_rgb_path):
    return load_model(tiny_rgb_path)


def random_image(channels: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """Random 8-bit-grid pixels in [0, 1], shape (C, H, W)."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(channels, height, width)) / 255.0).astype(np.float32)


def sample_pixels(name: str, crop: tuple[int, int] | None = None) -> np.ndarray:
    """A shipped sample photograph as (C, H, W) in [0, 1], optionally cropped to (H, W)."""
    array = np.asarray(Image.open(SAMPLES / name), dtype=np.float32) / 255.0
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    if crop:
        array = array[:, : crop[0], : crop[1]]
    return np.ascontiguousarray(array)


def save_png(path: Path, pixels: np.ndarray) -> Path:
    """Write (C, H, W) [0, 1] pixels as an 8-bit PNG."""
    values = np.clip(np.rint(pixels * 255), 0, 255).astype(np.uint8)
    Image.fromarray(values[0] if values.shape[0] == 1 else values.transpose(1, 2, 0)).save(path)
    return path


def ct_small_path() -> Path:
    """pydicom's own 128×128 CT slice (patient 1CT1; held out from ct2pet-d4's training)."""
    from pydicom.data import get_testdata_file

    return Path(get_testdata_file("CT_small.dcm"))


def ct_small_unit(crop: tuple[int, int] | None = None) -> np.ndarray:
    """The CT_small slice through the CT window [-1000, 1000] HU, as (1, H, W) in [0, 1]."""
    from eqdenoise.files.dicom import read_dicom

    hu = read_dicom(ct_small_path()).values
    unit = np.clip((hu - CT_WINDOW["low"]) / (CT_WINDOW["high"] - CT_WINDOW["low"]), 0, 1).astype(np.float32)
    return np.ascontiguousarray(unit[:, : crop[0], : crop[1]]) if crop else unit


def unshuffle_architecture(channels: int) -> dict:
    """A tiny pixel-unshuffle-2 U-Net's architecture (two levels, two blocks each)."""
    return {"name": "unet", "channels": channels, "base": 4, "mults": [1, 2], "blocks": 2, "emb_dim": 16,
            "unshuffle": 2}


def wt_architecture(channels: int = 1, group: str = "d4", task: str = "denoise") -> dict:
    """A tiny weight-tied U-Net's architecture (two fields at the top, three levels, stride 4)."""
    in_channels = 2 * channels if task == "bridge" else channels
    return {"name": "wt-unet", "group": group, "channels": channels, "in_channels": in_channels, "base": 2,
            "mults": [1, 2, 2], "blocks": 1, "emb_dim": 16}


@pytest.fixture(scope="session")
def tiny_wt(tmp_path_factory):
    """A random-weight weight-tied d4 gray denoiser (every layer random, weights scaled by fan-in), loaded."""
    path = tmp_path_factory.mktemp("wt") / "tiny-wt.safetensors"
    return load_model(write_tiny_checkpoint(path, architecture=wt_architecture()))


def opponent_architecture(guided: bool = True) -> dict:
    """A tiny colour network made of one pixel-unshuffle-2 gray U-Net run on the opponent channels."""
    name = "opponent-guided-unet" if guided else "opponent-unet"
    return {**unshuffle_architecture(3), "name": name}


def split_architecture(chroma_base: int = 2) -> dict:
    """A tiny split colour network: a pixel-unshuffle-2 gray U-Net for the mean, a narrower guided one for the chroma."""
    return {**unshuffle_architecture(3), "name": "opponent-split-unet", "chroma_base": chroma_base}


@pytest.fixture(scope="session")
def tiny_split(tmp_path_factory):
    """A random-weight split opponent colour denoiser, loaded."""
    path = tmp_path_factory.mktemp("split") / "tiny-split.safetensors"
    return load_model(write_tiny_checkpoint(path, channels=3, architecture=split_architecture()))


@pytest.fixture(scope="session")
def tiny_opponent(tmp_path_factory):
    """A random-weight guided opponent colour denoiser, loaded."""
    path = tmp_path_factory.mktemp("opponent") / "tiny-opponent.safetensors"
    return load_model(write_tiny_checkpoint(path, channels=3, architecture=opponent_architecture()))
