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
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from conftest import ct_small_path, write_tiny_checkpoint
from eqdenoise.cli import app
from eqdenoise.errors import EqdenoiseError
from eqdenoise.files.dicom import read_dicom
from eqdenoise.files.imageio import read_pages
from eqdenoise.nets.checkpoint import CONFIG_KEY, load_model, read_config

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


TIFF_DTYPES = [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.float32, np.float64, np.float16]


@st.composite
def tiff_layouts(draw):
    """A small TIFF's sample type, samples per pixel, planar configuration, photometric tag, compression and pages."""
    samples = draw(st.integers(1, 4))
    photometric = "rgb" if samples >= 3 else draw(st.sampled_from(["minisblack", "miniswhite"]))
    return (draw(st.sampled_from(TIFF_DTYPES)), samples, draw(st.sampled_from(["contig", "separate"])), photometric,
            draw(st.sampled_from([None, "zlib"])), draw(st.integers(1, 3)), draw(st.integers(0, 2**32 - 1)))


def _tiff_values(dtype, shape, rng) -> np.ndarray:
    """Values across a type's range: [0, 1] and a little beyond for floats, up to 70,000 for wide integers."""
    if np.dtype(dtype).kind == "f":
        return rng.uniform(-0.1, 1.1, shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -70_000), min(info.max, 70_000) + 1, shape, dtype=np.int64).astype(dtype)


def test_tiff_layouts_are_read_as_stored_or_refused_in_one_line():
    """Every TIFF layout (sample type, samples, planes, photometric, compression, pages) is read faithfully, the values
    tifffile reads scaled by the bit depth (MinIsWhite as intensities), or refused in one line: never misread."""

    @given(tiff_layouts())
    def check(layout):
        dtype, samples, planar, photometric, compression, count, seed = layout
        TRIED["tiff layouts"] += 1
        rng = np.random.default_rng(seed)
        path = WORK / "layout.tif"
        stored = [_tiff_values(dtype, (samples, 5, 7), rng) for _ in range(count)]
        extra = {"extrasamples": ["unassalpha"]} if samples in (2, 4) else {}
        try:
            with tifffile.TiffWriter(path) as writer:
                for planes in stored:
                    data = planes if planar == "separate" else np.moveaxis(planes, 0, -1).squeeze(-1) \
                        if samples == 1 else np.moveaxis(planes, 0, -1)
                    writer.write(data, photometric=photometric, planarconfig=planar if samples > 1 else None,
                                 compression=compression, **extra)
        except (ValueError, TypeError):
            return
        try:
            pages = read_pages(path)
        except EqdenoiseError as exc:
            assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc), str(exc)
            return
        for page, planes in zip(pages, stored, strict=True):
            colours = planes[: 3 if samples >= 3 else 1].astype(np.float64)
            if photometric == "miniswhite":
                colours = np.iinfo(dtype).max - colours
            if page.peak == 1.0:
                np.testing.assert_array_equal(page.pixels, colours.astype(np.float32), err_msg=str(layout))
            else:
                np.testing.assert_array_equal(np.rint(page.pixels.astype(np.float64) * page.peak), colours,
                                              err_msg=str(layout))
            if samples in (2, 4):
                np.testing.assert_array_equal(page.alpha, planes[-1], err_msg=str(layout))

    check()


def test_sigma_auto_on_jpeg_of_any_chroma_subsampling_reads_the_noise_the_pixels_have(tmp_path_factory):
    """σ auto on a noisy colour photograph saved as JPEG (4:4:4, 4:2:2 or 4:2:0, quality 90–100) is within 25% of
    the estimate on the same pixels as PNG: subsampled chroma does not hide the noise from the estimate."""
    from conftest import sample_pixels, write_tiny_checkpoint
    from eqdenoise.api import denoise_file

    model = write_tiny_checkpoint(tmp_path_factory.mktemp("rgb") / "rgb.safetensors", channels=3)
    clean = sample_pixels("coffee-rgb.png", crop=(96, 96)).transpose(1, 2, 0) * 255

    @given(st.floats(8.0, 40.0), st.sampled_from([0, 1, 2]), st.integers(90, 100), st.integers(0, 2**32 - 1))
    def check(sigma, subsampling, quality, seed):
        TRIED["jpeg sigma"] += 1
        noisy = np.clip(np.rint(clean + np.random.default_rng(seed).normal(0, sigma, clean.shape)), 0, 255)
        Image.fromarray(noisy.astype(np.uint8)).save(WORK / "noisy.png")
        Image.fromarray(noisy.astype(np.uint8)).save(WORK / "noisy.jpg", quality=quality, subsampling=subsampling)
        (png,) = denoise_file(WORK / "noisy.png", WORK / "out.png", model=model, overwrite=True)
        (jpeg,) = denoise_file(WORK / "noisy.jpg", WORK / "out.jpg", model=model, overwrite=True)
        assert abs(jpeg - png) < 0.25 * png, (sigma, subsampling, quality, jpeg, png)

    check()


def test_hostile_config_structure_and_tensor_types_are_loaded_or_refused_in_one_line(seed_checkpoint):
    """Config JSON nested to any depth or holding integers of any length, and weights of any dtype: a model of
    float32 weights, or one line."""
    import torch

    tensors, config = load_file(seed_checkpoint), read_config(seed_checkpoint)
    dtypes = [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int8, torch.uint8, torch.int32,
              torch.int64, torch.bool]

    @given(st.integers(0, 20_000), st.integers(1, 6000), st.sampled_from(sorted(config)), st.sampled_from(dtypes),
           st.booleans())
    def check(depth, digits, field, dtype, as_number):
        TRIED["checkpoint structure"] += 1
        nested = "[" * depth + "1" + "]" * depth
        text = json.dumps({**config, field: "PLACE"}).replace('"PLACE"', "9" * digits if as_number else nested)
        typed = dict(tensors)
        name = sorted(typed)[depth % len(typed)]
        typed[name] = typed[name].to(dtype)
        path = WORK / "structure.safetensors"
        save_file(typed, str(path), metadata={CONFIG_KEY: text})
        try:
            model = load_model(path)
        except EqdenoiseError as exc:
            assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc), str(exc)
        else:
            assert dtype == torch.float32 and all(p.dtype == torch.float32 for p in model.network.parameters())

    check()


BOUND_VALUES = st.sampled_from([str(2**63 - 1), str(2**63), str(2**64), str(-(2**63)), "0.001", "0.000999", "1", "1.0001",
                                "63", "64", "65", "255", "255.0001", "1e-300", "5e-324", "1/1", "2/1", "0/1", "1/0",
                                "1000", "1001"])
SAMPLE_SIDES = st.sampled_from(["0", "-4", "1", "3", "4", "8", "10", "64", "8192", str(2**31), str(2**64)])


def test_option_values_at_and_past_their_bounds_exit_0_or_2_and_touch_nothing_on_2(tmp_path_factory, seed_checkpoint):
    """Each option at and just past each of its bounds: a result (exit 0), a usage error (exit 2) that creates no
    output folder, or (the seed checkpoint's weights are random) its network's non-finite output over many steps at a
    high σ (exit 1, one line per file); never a traceback. Sample sizes likewise."""
    from conftest import random_image, save_png

    inputs = tmp_path_factory.mktemp("bounds")
    save_png(inputs / "a.png", random_image(1, 10, 14, seed=1))
    save_png(inputs / "b.png", random_image(1, 10, 14, seed=2))

    @given(st.lists(st.tuples(st.sampled_from(["--sigma", "--strength", "--steps", "--eta", "--seed", "--tile",
                                                "--shard"]), BOUND_VALUES), min_size=1, max_size=2),
           st.tuples(SAMPLE_SIDES, SAMPLE_SIDES), st.sampled_from(["1", "2"]))
    def check(options, size, count):
        TRIED["option bounds"] += 1
        outputs = WORK / "bounded"
        shutil.rmtree(outputs, ignore_errors=True)
        args = ["denoise", str(inputs / "a.png"), str(inputs / "b.png"), "-o", str(outputs), "--model",
                str(seed_checkpoint), "--steps", "1"]
        for option, value in options:
            args += [option, value]
        result = runner.invoke(app, args)
        assert result.exit_code in (0, 1, 2), (args, result.output)
        assert result.exit_code != 1 or "the model produced NaN or infinite values" in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
        assert "Traceback" not in result.output
        assert outputs.exists() == (result.exit_code != 2), args
        shutil.rmtree(outputs, ignore_errors=True)
        seed = dict(options).get("--seed", "0")
        args = ["sample", "-m", str(seed_checkpoint), "-o", str(outputs), "--size", *size, "--steps", "1", "-n", count,
                "--seed", seed]
        result = runner.invoke(app, args)
        assert result.exit_code in (0, 1, 2), (args, result.output)
        assert result.exit_code != 1 or "the model produced NaN or infinite values" in result.output, result.output
        assert "Traceback" not in result.output and outputs.exists() == (result.exit_code == 0), args

    check()


def test_file_names_at_the_length_limit_fail_alone_in_one_line(tmp_path_factory, seed_checkpoint):
    """Inputs whose names, default output names or temporaries' names reach the file system's 255 bytes: each is done
    or fails in one line naming it, the other file of the batch is done, and no temporary is left."""
    from conftest import random_image, save_png

    @given(st.integers(230, 251), st.sampled_from(["x", "é", "字"]), st.sampled_from([".png", ".tif", ".jpg"]))
    def check(length, character, suffix):
        TRIED["long names"] += 1
        folder = WORK / "names"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        stem = character * (length // len(character.encode()))
        stem = stem[: len(stem) - max(0, len((stem + suffix).encode()) - 255) // len(character.encode()) - 1] \
            if len((stem + suffix).encode()) > 255 else stem
        name = folder / (stem + suffix)
        image = Image.fromarray((random_image(1, 10, 14, seed=length)[0] * 255).astype(np.uint8))
        image.save(name)
        save_png(folder / "b.png", random_image(1, 10, 14, seed=2))
        result = runner.invoke(app, ["denoise", str(name), str(folder / "b.png"), "--model", str(seed_checkpoint),
                                     "--sigma", "10"])
        assert result.exit_code in (0, 1) and "Traceback" not in result.output, result.output
        assert (folder / "b-denoised.png").is_file()
        assert not [p for p in folder.iterdir() if p.name.startswith(".")]
        if result.exit_code == 1:
            assert "over the 255-byte limit" in " ".join(result.output.split())

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
    gray_alpha = np.random.default_rng(0).integers(0, 256, (2, 5, 7)).astype(np.uint8)
    tifffile.imwrite(WORK / "planes.tif", gray_alpha, photometric="minisblack", planarconfig="separate",
                     compression="zlib", extrasamples=["unassalpha"])
    with pytest.raises(EqdenoiseError, match="gray\\+alpha images stored as separate planes are not supported"):
        read_pages(WORK / "planes.tif")
    result = runner.invoke(app, ["denoise", str(WORK / "found.png"), "-o", "\0", "--model", str(seed_checkpoint)])
    assert result.exit_code == 2 and "a file name cannot hold a NUL byte" in result.output
