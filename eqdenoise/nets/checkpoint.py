"""Checkpoints: safetensors files whose metadata holds one JSON config (docs/method.md, "Checkpoints"); never pickle."""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..diffusion.bridge_schedule import BrownianBridge
from ..diffusion.schedule import CosineSchedule
from ..errors import EqdenoiseError, first_line
from ..files.atomic import atomic_path
from ..files.input_files import check_input_file
from ..frames.groups import GROUPS
from .architecture_checks import check_architecture
from .opponent import OpponentDenoiser
from .precision import for_inference
from .unet import UNet
from .wt_unet import WTUNet

FORMAT = "eqdenoise-checkpoint"
FORMAT_VERSION = 1
CONFIG_KEY = "eqdenoise_config"
WEIGHT_BOUND = 1e3


@dataclass
class Model:
    """A loaded checkpoint: the network, its schedule and the full config it came with."""

    network: UNet
    schedule: CosineSchedule | BrownianBridge
    config: dict
    path: Path
    _inference: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def inference_network(self, device: torch.device | str = "cpu") -> UNet:
        """The network laid out for inference (channels-last) on ``device``, prepared once per device and reused."""
        device = torch.device(device)
        if device not in self._inference:
            self._inference[device] = for_inference(self.network).to(device)
        return self._inference[device]

    @property
    def channels(self) -> int:
        return int(self.config["channels"])

    @property
    def group(self) -> str:
        return str(self.config["group"])

    @property
    def task(self) -> str:
        return str(self.config["task"])

    @property
    def equivariant_group(self) -> str | None:
        """The group the network is equivariant to by construction (a weight-tied network), else None."""
        return equivariant_group(self.config["architecture"])


def equivariant_group(architecture: dict) -> str | None:
    """The group a network of this architecture is equivariant to by construction (``wt-unet``), else None."""
    return str(architecture["group"]) if architecture.get("name") == WT_NAME else None


def network_width(architecture: dict) -> int:
    """Channels of the network's first level: the base width, times the group's order for a weight-tied network."""
    group = equivariant_group(architecture)
    return int(architecture["base"]) * (len(GROUPS[group]) if group else 1)


WT_NAME = "wt-unet"
OPPONENT_NAMES = {"opponent-unet": False, "opponent-guided-unet": True, "opponent-split-unet": True}
SPLIT_NAME = "opponent-split-unet"


def build_network(architecture: dict) -> UNet | WTUNet | OpponentDenoiser:
    """Instantiate the network that an ``architecture`` config describes: ``unet``, weight-tied ``wt-unet``, or a
    colour network of gray U-Nets on the opponent channels: one for all three (``opponent-unet``,
    ``opponent-guided-unet``), or one of width ``base`` for the mean and a guided one of width ``chroma_base`` for
    the colour differences (``opponent-split-unet``)."""
    in_channels = architecture.get("in_channels")
    name = architecture.get("name")
    if name in OPPONENT_NAMES:
        if architecture.get("channels") != 3 or in_channels is not None:
            raise ValueError("an opponent network takes and returns 3 channels (RGB)")
        if (name == SPLIT_NAME) != ("chroma_base" in architecture):
            raise ValueError("chroma_base belongs to an opponent-split-unet, and it needs one")
        gray = {key: value for key, value in architecture.items() if key != "chroma_base"}
        if name == SPLIT_NAME:
            return OpponentDenoiser(build_network({**gray, "name": "unet", "channels": 1}), chroma=build_network(
                {**gray, "name": "unet", "channels": 1, "in_channels": 2, "base": architecture["chroma_base"]}))
        guide = OPPONENT_NAMES[name]
        return OpponentDenoiser(build_network({**gray, "name": "unet", "channels": 1,
                                               "in_channels": 2 if guide else None}), guide=guide)
    if architecture.get("name") == WT_NAME:
        if architecture.get("group") not in ("c4", "d4"):
            raise ValueError(f"a weight-tied network is built for group c4 or d4, not {architecture.get('group')!r}")
        return WTUNet(group=str(architecture["group"]), channels=int(architecture["channels"]),
                      base=int(architecture["base"]), mults=tuple(int(m) for m in architecture["mults"]),
                      blocks=int(architecture["blocks"]), emb_dim=int(architecture["emb_dim"]),
                      in_channels=int(in_channels) if in_channels else None)
    if architecture.get("name") != "unet":
        raise ValueError(f"unknown architecture {architecture.get('name')!r}")
    return UNet(channels=int(architecture["channels"]), base=int(architecture["base"]),
                mults=tuple(int(m) for m in architecture["mults"]), blocks=int(architecture["blocks"]),
                emb_dim=int(architecture["emb_dim"]), in_channels=int(in_channels) if in_channels else None,
                attention=int(architecture.get("attention", 0)), unshuffle=int(architecture.get("unshuffle", 1)))


IMAGE_RANGE = {"unit": "image", "low": 0.0, "high": 1.0,
               "note": "image values scaled to [0, 1] by their bit depth, then mapped to [-1, 1]"}
PREDICTION = {"denoise": "eps", "bridge": "x0"}


def make_config(*, task: str, architecture: dict, group: str, schedule: CosineSchedule | BrownianBridge,
                training: dict | None = None, source_range: dict | None = None,
                target_range: dict | None = None, modalities: dict | None = None) -> dict:
    """Assemble a checkpoint config with every field docs/method.md "Checkpoints" lists (ranges and modalities for bridges)."""
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "task": task,
        "architecture": architecture,
        "group": group,
        "channels": int(architecture["channels"]),
        "prediction": PREDICTION[task],
        "schedule": schedule.to_config(),
        "data_range": target_range or IMAGE_RANGE,
        "training": training or {},
        "equivariant_by_construction": equivariant_group(architecture),
    }
    if task == "bridge":
        config["source_range"] = source_range or IMAGE_RANGE
        config["modalities"] = modalities or {"source": "source", "target": "target"}
    return config


def atomic_save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    """Write a safetensors file through a temporary file and a rename, so no half file is left."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, tmp, metadata=metadata)
    except (EqdenoiseError, MemoryError):
        raise
    except Exception as exc:
        raise EqdenoiseError(f"{path}: could not be written ({first_line(exc)}); the previous file, if any, is kept") from None


def save_model(network: UNet, config: dict, path: Path) -> None:
    """Save network weights with their config."""
    atomic_save(network.state_dict(), Path(path), {CONFIG_KEY: json.dumps(config, sort_keys=True)})


def read_config(path: Path) -> dict:
    """Read and check the JSON config of a checkpoint without loading its weights."""
    path = Path(path)
    if not os.path.lexists(path):
        raise EqdenoiseError(f"{path}: checkpoint not found")
    check_input_file(path, "checkpoint")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except Exception as exc:
        raise EqdenoiseError(f"{path}: not a readable safetensors checkpoint ({first_line(exc)})") from None
    if CONFIG_KEY not in metadata:
        raise EqdenoiseError(f"{path}: safetensors file has no eqdenoise config in its metadata")
    config = _parse_config(path, metadata[CONFIG_KEY])
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise EqdenoiseError(f"{path}: not an eqdenoise checkpoint")
    if config.get("format_version") != FORMAT_VERSION:
        raise EqdenoiseError(f"{path}: checkpoint format version {config.get('format_version')!r} "
                             f"is not supported (expected {FORMAT_VERSION})")
    missing = [k for k in ("task", "architecture", "group", "channels", "prediction", "schedule")
               if k not in config]
    if missing:
        raise EqdenoiseError(f"{path}: checkpoint config lacks {', '.join(missing)}")
    for key in ("task", "group", "prediction"):
        if not isinstance(config[key], str):
            raise EqdenoiseError(f"{path}: checkpoint config's {key} {config[key]!r} is not a name")
    if config["task"] not in PREDICTION:
        raise EqdenoiseError(f"{path}: unknown checkpoint task {config['task']!r}")
    if config["prediction"] != PREDICTION[config["task"]]:
        raise EqdenoiseError(f"{path}: unsupported prediction target {config['prediction']!r} for a {config['task']} model")
    try:
        check_architecture(config["architecture"])
    except ValueError as exc:
        raise EqdenoiseError(f"{path}: bad checkpoint config ({exc})") from None
    if not isinstance(config["group"], str) or config["group"] not in GROUPS:
        raise EqdenoiseError(f"{path}: checkpoint was trained for unknown group {config['group']!r}")
    channels = config["channels"]
    if channels not in (1, 3) or channels != config["architecture"].get("channels"):
        raise EqdenoiseError(f"{path}: checkpoint has {channels!r} channels; eqdenoise handles 1 (gray) or 3 (RGB)")
    if config["task"] == "bridge" and (config["architecture"].get("in_channels") != 2 * channels
                                       or not isinstance(config.get("source_range"), dict)):
        raise EqdenoiseError(f"{path}: bridge checkpoint needs a source range and a network that sees "
                             f"{2 * channels} channels (state and source)")
    return config


MAX_CONFIG_DEPTH = 32
MAX_CONFIG_CHARACTERS = 1_000_000


def _parse_config(path: Path, text: str) -> dict:
    """The checkpoint's JSON config, refused in one line when it is not JSON, too large, nested deeper than a config
    is (which would exhaust the parser's recursion) or holds a number Python will not convert."""
    if len(text) > MAX_CONFIG_CHARACTERS:
        raise EqdenoiseError(f"{path}: checkpoint config is {len(text):,} characters, over the "
                             f"{MAX_CONFIG_CHARACTERS:,} a config can need")
    if _nesting(text) > MAX_CONFIG_DEPTH:
        raise EqdenoiseError(f"{path}: checkpoint config is nested more than {MAX_CONFIG_DEPTH} levels deep")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise EqdenoiseError(f"{path}: checkpoint config is not valid JSON ({exc.msg})") from None
    except (ValueError, RecursionError) as exc:
        raise EqdenoiseError(f"{path}: checkpoint config holds a value that cannot be read ({first_line(exc)})") from None


def _nesting(text: str) -> int:
    """The deepest nesting of JSON arrays and objects in ``text`` (brackets inside strings not counted)."""
    depth = deepest = 0
    for token in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif bracket in "]}":
            depth -= 1
    return deepest


def load_model(path: Path, task: str | None = None) -> Model:
    """Load a checkpoint, checking its config and that its tensors match the architecture."""
    path = Path(path)
    config = read_config(path)
    if task is not None and config["task"] != task:
        raise EqdenoiseError(f"{path}: this is a {config['task']!r} checkpoint, not a {task!r} one")
    try:
        with torch.device("meta"):
            skeleton = build_network(config["architecture"])
        if config["task"] == "bridge":
            schedule = BrownianBridge.from_config(config["schedule"])
            for key in ("source_range", "data_range"):
                _check_range(key, config[key])
        else:
            schedule = CosineSchedule.from_config(config["schedule"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EqdenoiseError(f"{path}: bad checkpoint config ({first_line(exc)})") from None
    _check_tensor_shapes(path, skeleton)
    try:
        network = build_network(config["architecture"])
        with safe_open(str(path), framework="pt") as handle:
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
        network.load_state_dict(tensors, strict=True)
    except Exception as exc:
        raise EqdenoiseError(f"{path}: checkpoint tensors do not match its config ({first_line(exc)})") from None
    if not all(torch.isfinite(t).all() for t in tensors.values()):
        raise EqdenoiseError(f"{path}: checkpoint weights contain NaN or Inf")
    largest = max((float(t.abs().max()) for t in tensors.values() if t.numel()), default=0.0)
    if largest > WEIGHT_BOUND:
        raise EqdenoiseError(f"{path}: checkpoint weights reach {largest:.3g}, where trained weights stay below "
                             f"{WEIGHT_BOUND:g}; the checkpoint is damaged")
    network.eval()
    return Model(network=network, schedule=schedule, config=config, path=path)


def _check_range(key: str, value: object) -> None:
    """A config range {low, high}: finite numbers with low < high."""
    low, high = float(value["low"]), float(value["high"])
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"{key} {low:g}…{high:g} is not a finite range with low < high")


def _check_tensor_shapes(path: Path, skeleton: torch.nn.Module) -> None:
    """Compare the file's tensor names and shapes with the (unallocated) network before any weight is made or read,
    and refuse tensors that are not float32 (trained weights are; booleans or integers would be cast without a word)."""
    expected = {key: tuple(value.shape) for key, value in skeleton.state_dict().items()}
    try:
        with safe_open(str(path), framework="pt") as handle:
            slices = {key: handle.get_slice(key) for key in handle.keys()}
            found = {key: tuple(piece.get_shape()) for key, piece in slices.items()}
            dtypes = {key: piece.get_dtype() for key, piece in slices.items()}
    except Exception as exc:
        raise EqdenoiseError(f"{path}: not a readable safetensors checkpoint ({first_line(exc)})") from None
    for key, dtype in sorted(dtypes.items()):
        if dtype != "F32":
            raise EqdenoiseError(f"{path}: checkpoint tensor {key} is {dtype}; eqdenoise checkpoints hold float32 "
                                 "weights only")
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    wrong = sorted(key for key in set(expected) & set(found) if expected[key] != found[key])
    if missing or extra or wrong:
        first = (f"{missing[0]} is missing" if missing else f"{extra[0]} is unexpected" if extra
                 else f"{wrong[0]} is {list(found[wrong[0]])}, the config needs {list(expected[wrong[0]])}")
        count = len(missing) + len(extra) + len(wrong)
        raise EqdenoiseError(f"{path}: checkpoint tensors do not match its config ({first}"
                             f"{f', and {count - 1} more' if count > 1 else ''})")
