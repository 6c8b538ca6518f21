"""The Python API: array rules (shape, dtype, range), exact equivariance, reports, errors, and docs/api.md's examples."""

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import eqdenoise
from eqdenoise.api import denoise_file, image_planes
from eqdenoise.cli import app
from eqdenoise.frames.groups import GROUPS
from eqdenoise.tasks.restoration import DenoiseOptions

ROOT = Path(__file__).resolve().parent.parent


def turn(element, array):
    """An H×W or H×W×C array moved by a group element."""
    if array.ndim == 2:
        return element.apply(array)
    return np.moveaxis(element.apply(np.moveaxis(array, -1, 0)), 0, -1)


def random_array(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if dtype == np.float32:
        return rng.random(shape, dtype=np.float32)
    return rng.integers(0, np.iinfo(dtype).max + 1, size=shape).astype(dtype)


@pytest.mark.parametrize(("shape", "dtype", "model"), [((12, 20), np.uint8, "gray"), ((12, 20, 1), np.uint16, "gray"),
                                                      ((16, 10, 3), np.float32, "rgb"), ((9, 14, 3), np.uint8, "gray")])
def test_the_result_has_the_inputs_shape_and_dtype_and_is_exactly_equivariant(shape, dtype, model, tiny_gray,
                                                                              tiny_rgb):
    network = tiny_gray if model == "gray" else tiny_rgb
    image = random_array(shape, dtype)
    result = eqdenoise.denoise(image, model=network, sigma=20)
    assert result.dtype == image.dtype and result.shape == image.shape
    for element in GROUPS["d4"]:
        expected = turn(element, result)
        assert np.array_equal(eqdenoise.denoise(turn(element, image), model=network, sigma=20), expected), element.label


def test_an_array_gives_what_the_same_file_gives(tmp_path, tiny_gray_path):
    image = random_array((14, 22), np.uint8, seed=4)
    source = tmp_path / "in.png"
    Image.fromarray(image).save(source)
    result = CliRunner().invoke(app, ["denoise", str(source), "-m", str(tiny_gray_path), "--sigma", "30"])
    assert result.exit_code == 0, result.output
    from_file = np.asarray(Image.open(tmp_path / "in-denoised.png"))
    assert np.array_equal(eqdenoise.denoise(image, model=str(tiny_gray_path), sigma=30), from_file)
    sigmas = denoise_file(source, tmp_path / "api.png", model=tiny_gray_path, sigma=30)
    assert sigmas == [30.0] and (tmp_path / "api.png").read_bytes() == (tmp_path / "in-denoised.png").read_bytes()


@pytest.mark.parametrize(("image", "message"), [
    (np.zeros((8, 8), np.float64), "float64 are not supported"),
    (np.zeros((8, 8, 4), np.uint8), "C = 1 or 3"),
    (np.zeros((2, 8, 8, 1), np.uint8), "C = 1 or 3"),
    (np.full((8, 8), np.nan, np.float32), "NaN"),
])
def test_bad_arrays_are_refused_with_one_line(image, message, tiny_gray):
    with pytest.raises(eqdenoise.EqdenoiseError, match=message):
        eqdenoise.denoise(image, model=tiny_gray)


def test_bad_options_and_models_are_refused(tiny_gray, tiny_bridge):
    image = random_array((8, 8), np.uint8)
    for options, message in (({"sigma": 0}, "--sigma must be in"), ({"sigma": 20, "strength": 0.5}, "either"),
                             ({"method": "magic"}, "unknown method"), ({"steps": 0}, "--steps"),
                             ({"strength": 1e-300}, "--strength must be in"), ({"seed": 2**64}, "--seed"),
                             ({"seed": -1}, "--seed"), ({"tile": 3}, "--tile")):
        with pytest.raises(eqdenoise.UsageError, match=message):
            eqdenoise.denoise(image, model=tiny_gray, **options)
    with pytest.raises(eqdenoise.EqdenoiseError, match="not a denoise one") as info:
        eqdenoise.denoise(image, model=tiny_bridge)
    assert not isinstance(info.value, eqdenoise.UsageError)
    with pytest.raises(eqdenoise.EqdenoiseError, match="not a bridge one"):
        eqdenoise.transfer(image, model=tiny_gray)


def test_strength_alone_is_a_valid_choice(tiny_gray):
    DenoiseOptions(strength=0.4).check()
    image = random_array((10, 12), np.uint8)
    assert eqdenoise.denoise(image, model=tiny_gray, strength=0.4).shape == image.shape


def test_verify_reports_every_element(tiny_gray):
    image = random_array((10, 13), np.uint8, seed=2)
    report = eqdenoise.verify(image, model=tiny_gray, sigma=20)
    assert report.passed and report.unit == "levels" and report.group == "d4"
    assert [r.element for r in report.elements] == list(GROUPS["d4"])
    assert all(r.max_abs_diff == 0 and r.differing_pixels == 0 for r in report.elements)
    plain = eqdenoise.verify(image, model=tiny_gray, sigma=20, method="none", group="c4")
    assert not plain.passed and len(plain.elements) == 4 and plain.to_dict()["passed"] is False
    calls = []
    eqdenoise.verify(image, model=tiny_gray, sigma=20, group="flip", progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_transfer_keeps_integer_windows_and_physical_floats(tiny_bridge):
    windowed = random_array((12, 16), np.uint16, seed=5)
    result = eqdenoise.transfer(windowed, model=tiny_bridge)
    assert result.dtype == np.uint16 and result.shape == windowed.shape
    assert np.array_equal(eqdenoise.transfer(windowed.T, model=tiny_bridge), result.T)
    physical = (random_array((12, 16), np.float32, seed=6) - 0.5) * 3000.0
    translated = eqdenoise.transfer(physical, model=tiny_bridge)
    assert translated.dtype == np.float32 and translated.shape == physical.shape
    assert np.array_equal(eqdenoise.transfer(physical[::-1], model=tiny_bridge), translated[::-1])


def test_image_planes_reads_the_full_range_of_each_dtype():
    for dtype, peak in ((np.uint8, 255), (np.uint16, 65535)):
        pixels, found = image_planes(np.array([[0, peak]], dtype=dtype))
        assert found == peak and pixels.dtype == np.float32 and pixels.tolist() == [[[0.0, 1.0]]]


def test_import_is_light_and_the_api_is_reachable():
    import subprocess
    import sys

    probe = "import sys, eqdenoise; print('torch' in sys.modules, callable(eqdenoise.denoise))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.split() == ["False", "True"]


def docs_examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "api.md").read_text(), flags=re.S)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(docs_examples())))
def test_docs_api_examples_run(index, monkeypatch):
    monkeypatch.chdir(ROOT)
    exec(compile(docs_examples()[index], f"docs/api.md example {index + 1}", "exec"), {})


def test_docs_have_examples():
    assert len(docs_examples()) >= 5


def test_a_batch_is_checked_whole_before_any_file_and_runs_as_the_command_does(tmp_path, tiny_gray_path):
    from eqdenoise.api import denoise_batch

    for name in ("a.png", "b.png"):
        Image.fromarray(random_array((12, 10), np.uint8)).save(tmp_path / name)
    for keywords, error in (({"sigma": 300}, eqdenoise.UsageError), ({"overwrite": True, "skip_existing": True},
                                                                      eqdenoise.UsageError),
                            ({"shard": "3/2"}, eqdenoise.UsageError), ({"model": tmp_path / "no.safetensors"},
                                                                       eqdenoise.EqdenoiseError)):
        with pytest.raises(error):
            denoise_batch([tmp_path / "a.png", tmp_path / "b.png"], tmp_path / "out", **{"model": tiny_gray_path,
                                                                                          **keywords})
        assert not (tmp_path / "out").exists()
    batch = denoise_batch([tmp_path], tmp_path / "out", model=tiny_gray_path, sigma=10, shard="2/2")
    steps, outcomes = [], []
    summary = batch.run(on_file=outcomes.append, progress=lambda source, done, total: steps.append(source.name))
    assert batch.size == 1 and summary.done == 1 and outcomes[0].result == [10.0] and steps == ["b.png"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.png"]


def test_options_are_checked_once_on_the_command_path_and_pass_as_one_object(tmp_path, tiny_gray_path, monkeypatch):
    """The command makes one DenoiseOptions (checked when made) and every layer below takes that object."""
    from eqdenoise.api import denoise_options
    from eqdenoise.tasks.restoration import DenoiseOptions

    for name in ("a.png", "b.png"):
        Image.fromarray(random_array((12, 10), np.uint8)).save(tmp_path / name)
    checks = []
    real_check = DenoiseOptions.check
    monkeypatch.setattr(DenoiseOptions, "check", lambda self: checks.append(self) or real_check(self))
    result = CliRunner().invoke(app, ["denoise", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o",
                                      str(tmp_path / "out"), "-m", str(tiny_gray_path), "--sigma", "10"])
    assert result.exit_code == 0, result.output
    assert len(checks) == 1
    made = denoise_options(sigma=10)
    assert np.array_equal(eqdenoise.denoise(random_array((12, 10), np.uint8), model=tiny_gray_path, options=made),
                          eqdenoise.denoise(random_array((12, 10), np.uint8), model=tiny_gray_path, sigma=10))
    with pytest.raises(eqdenoise.UsageError, match="give options= or the option keywords \\(sigma\\), not both"):
        eqdenoise.denoise(random_array((12, 10), np.uint8), model=tiny_gray_path, options=made, sigma=10)
