"""Fuzzing: mutated image, DICOM and checkpoint bytes, hostile configs and random option values never give a
traceback, only a result or one EqdenoiseError line, and leave no file behind.

The CI profile tries a few dozen inputs per target; ``HYPOTHESIS_PROFILE=long`` (``benchmarks/fuzz.sh``) many more.
"""

import io
import json
import os
import resource
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from conftest import ct_small_path, write_tiny_checkpoint
from eqdenoise.checkpoint import CONFIG_KEY, load_model, read_config
from eqdenoise.cli import app
from eqdenoise.dicom import read_dicom
from eqdenoise.errors import EqdenoiseError
from eqdenoise.imageio import read_pages

settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
settings.register_profile("long", max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

WORK = Path(tempfile.mkdtemp(prefix="eqdenoise-fuzz-"))
runner = CliRunner()
TRIED: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_inputs_tried():
    """After the module: memory stayed bounded (peak resident under 4 GiB), and the number of inputs tried per target
    is written where FUZZ_REPORT names (benchmarks/fuzz.sh)."""
    yield
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    assert peak_gib < 4.0, f"the process peaked at {peak_gib:.1f} GiB"
    if os.environ.get("FUZZ_REPORT"):
        Path(os.environ["FUZZ_REPORT"]).write_text(json.dumps(dict(sorted(TRIED.items())), indent=1))


def _image_bytes(fmt: str, mode: str, **save) -> bytes:
    """A small valid image file of this format and mode, the seed of the mutations."""
    rng = np.random.default_rng(0)
    shape = (12, 9) if mode in ("L", "I;16", "F") else (12, 9, 3)
    values = rng.random(shape) if mode == "F" else rng.integers(0, 65535 if mode == "I;16" else 255, shape)
    dtype = {"L": np.uint8, "RGB": np.uint8, "I;16": np.uint16, "F": np.float32}[mode]
    buffer = io.BytesIO()
    Image.fromarray(values.astype(dtype)).save(buffer, format=fmt, **save)
    return buffer.getvalue()


SEEDS = {
    "png-gray": _image_bytes("PNG", "L"),
    "png-rgb": _image_bytes("PNG", "RGB"),
    "png-16": _image_bytes("PNG", "I;16"),
    "jpeg": _image_bytes("JPEG", "RGB", quality=90),
    "tiff-float": _image_bytes("TIFF", "F"),
    "tiff-deflate": _image_bytes("TIFF", "RGB", compression="tiff_adobe_deflate"),
}


def mutations(size: int):
    """Byte edits, insertions and a truncation of a file of ``size`` bytes."""
    edit = st.tuples(st.integers(0, size - 1), st.integers(0, 255))
    return st.tuples(st.lists(edit, max_size=12), st.lists(edit, max_size=3), st.integers(1, size))


def mutate(data: bytes, change) -> bytes:
    """Apply ``mutations`` output to ``data``."""
    edits, inserts, keep = change
    body = bytearray(data)
    for position, value in edits:
        body[position] = value
    for position, value in inserts:
        body[position:position] = bytes([value, value ^ 0xFF])
    return bytes(body[:keep])


def expect_result_or_one_line(read, path: Path) -> None:
    """``read(path)`` returns, or raises one EqdenoiseError line naming the file; nothing else."""
    try:
        read(path)
    except EqdenoiseError as exc:
        assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc), str(exc)


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_mutated_images_are_read_or_refused_in_one_line(seed):
    data = SEEDS[seed]

    @given(mutations(len(data)))
    def check(change):
        TRIED[f"image {seed}"] += 1
        path = WORK / f"mutated-{seed}.{ 'jpg' if seed == 'jpeg' else seed.split('-')[0]}"
        path.write_bytes(mutate(data, change))
        expect_result_or_one_line(read_pages, path)

    check()


def test_mutated_dicom_is_read_or_refused_in_one_line():
    data = ct_small_path().read_bytes()

    @given(mutations(len(data)))
    def check(change):
        TRIED["dicom"] += 1
        path = WORK / "mutated.dcm"
        path.write_bytes(mutate(data, change))
        expect_result_or_one_line(read_dicom, path)

    check()


@pytest.fixture(scope="module")
def seed_checkpoint() -> Path:
    return write_tiny_checkpoint(WORK / "seed.safetensors")


def test_mutated_checkpoint_bytes_are_loaded_or_refused_in_one_line(seed_checkpoint):
    data = seed_checkpoint.read_bytes()
    header = 8 + int.from_bytes(data[:8], "little")

    @given(mutations(header + 64))
    def check(change):
        TRIED["checkpoint bytes"] += 1
        path = WORK / "mutated.safetensors"
        path.write_bytes(mutate(data[: header + 64], change) + data[header + 64:])
        expect_result_or_one_line(load_model, path)

    check()


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=True)
                           | st.text(max_size=8), lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=8)
ARCHITECTURE_KEYS = st.sampled_from(["name", "channels", "base", "mults", "blocks", "emb_dim", "attention",
                                     "unshuffle", "in_channels", "group"])
CONFIG_KEYS = st.sampled_from(["task", "group", "channels", "prediction", "schedule", "format_version",
                               "data_range", "architecture"])


def test_hostile_configs_are_loaded_or_refused_in_one_line(seed_checkpoint):
    tensors, config = load_file(seed_checkpoint), read_config(seed_checkpoint)

    @given(st.dictionaries(ARCHITECTURE_KEYS, JSON_VALUES, max_size=3), st.dictionaries(CONFIG_KEYS, JSON_VALUES,
                                                                                          max_size=2))
    def check(architecture_change, config_change):
        TRIED["checkpoint config"] += 1
        hostile = {**config, "architecture": {**config["architecture"], **architecture_change}, **config_change}
        path = WORK / "hostile.safetensors"
        save_file(tensors, str(path), metadata={CONFIG_KEY: json.dumps(hostile)})
        expect_result_or_one_line(load_model, path)

    check()


OPTION_VALUES = st.one_of(st.sampled_from(["0", "-1", "1e9", "nan", "inf", "-inf", "", "auto", "0.5", "255", "1000",
                                           "3", "x", "--", "1e-300"]), st.text(max_size=6))
DENOISE_OPTIONS = st.sampled_from(["--sigma", "--strength", "--steps", "--eta", "--seed", "--tile", "--method",
                                   "--group", "--precision", "--noise-frame", "-o", "--device", "--shard"])


def test_random_option_values_exit_0_1_or_2_without_a_traceback(tmp_path_factory, seed_checkpoint):
    from conftest import random_image, save_png

    inputs = tmp_path_factory.mktemp("inputs")
    save_png(inputs / "a.png", random_image(1, 10, 14, seed=1))

    @given(st.lists(st.tuples(DENOISE_OPTIONS, OPTION_VALUES), max_size=3))
    def check(options):
        TRIED["denoise options"] += 1
        outputs = WORK / "outputs"
        shutil.rmtree(outputs, ignore_errors=True)
        outputs.mkdir()
        args = ["denoise", str(inputs / "a.png"), "-o", str(outputs / "a.png"), "--model", str(seed_checkpoint)]
        for option, value in options:
            args += [option, str(outputs / value.replace("/", "_")) if option == "-o" else value]
        result = runner.invoke(app, args)
        assert result.exit_code in (0, 1, 2), (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
        assert "Traceback" not in result.output
        assert not [p for p in outputs.rglob(".*")], args
        assert sorted(p.name for p in inputs.iterdir()) == ["a.png"]

    check()


def test_the_inputs_earlier_long_runs_found_stay_fixed(seed_checkpoint):
    path = WORK / "found.tif"
    path.write_bytes(mutate(SEEDS["tiff-float"], ([], [(80, 0), (81, 0)], 566)))
    with pytest.raises(EqdenoiseError, match="found.tif: image file is damaged or truncated \\(Missing dimensions\\)"):
        read_pages(path)
    path = WORK / "found.png"
    path.write_bytes(mutate(SEEDS["png-16"], ([(33, 213)], [], 276)))
    expect_result_or_one_line(read_pages, path)
    config = dict(read_config(seed_checkpoint), task=[])
    path = WORK / "found.safetensors"
    save_file(load_file(seed_checkpoint), str(path), metadata={CONFIG_KEY: json.dumps(config)})
    with pytest.raises(EqdenoiseError, match="checkpoint config's task \\[\\] is not a name"):
        load_model(path)
