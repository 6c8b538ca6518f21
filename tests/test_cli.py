"""The command line as a user drives it: batches with bad files, outputs, verify's exit codes, --help."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from typer.testing import CliRunner

from conftest import ct_small_path, random_image, sample_pixels, save_png, write_tiny_checkpoint
from eqdenoise.cli import app
from eqdenoise.files.dicom import read_dicom

runner = CliRunner()


@pytest.fixture()
def batch(tmp_path):
    """Two valid PNGs and one truncated one."""
    save_png(tmp_path / "a.png", random_image(1, 12, 20, seed=1))
    save_png(tmp_path / "b.png", random_image(3, 16, 10, seed=2))
    save_png(tmp_path / "full.png", random_image(1, 64, 64, seed=3))
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "full.png").unlink()
    (tmp_path / "out").mkdir()
    return tmp_path


def test_batch_with_truncated_png_processes_the_rest_and_exits_1(batch, tiny_gray_path):
    files = [str(batch / n) for n in ("a.png", "cut.png", "b.png")]
    result = subprocess.run([sys.executable, "-m", "eqdenoise", "denoise", *files, "-o", str(batch / "out"),
                             "--model", str(tiny_gray_path), "--sigma", "20"], capture_output=True, text=True)
    assert result.returncode == 1
    assert sorted(p.name for p in (batch / "out").iterdir()) == ["a.png", "b.png"]
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len([e for e in errors if "cut.png: image file is damaged" in e]) == 1
    assert errors[-1] == f"error: 2 done, 0 skipped, 1 failed: {batch / 'cut.png'}"
    assert "damaged or truncated" in result.stderr and "Traceback" not in result.stderr
    out_a = Image.open(batch / "out" / "a.png")
    assert out_a.mode == "L" and out_a.size == (20, 12)
    assert Image.open(batch / "out" / "b.png").mode == "RGB"


def test_outputs_are_not_clobbered_and_inputs_never_overwritten(batch, tiny_gray_path):
    a = str(batch / "a.png")
    before = (batch / "a.png").read_bytes()
    first = runner.invoke(app, ["denoise", a, "--model", str(tiny_gray_path)])
    assert first.exit_code == 0, first.output
    assert (batch / "a-denoised.png").exists()
    again = runner.invoke(app, ["denoise", a, "--model", str(tiny_gray_path)])
    assert again.exit_code == 1 and "output exists" in again.output
    assert runner.invoke(app, ["denoise", a, "--model", str(tiny_gray_path), "--overwrite"]).exit_code == 0
    onto_input = runner.invoke(app, ["denoise", a, "-o", a, "--model", str(tiny_gray_path), "--overwrite"])
    assert onto_input.exit_code == 1 and "refusing to overwrite" in onto_input.output
    assert (batch / "a.png").read_bytes() == before


def test_no_input_of_a_batch_is_written_even_when_it_is_another_inputs_output(batch, tiny_gray_path):
    model = ["--model", str(tiny_gray_path), "--sigma", "20", "--overwrite"]
    save_png(batch / "a-denoised.png", random_image(1, 12, 20, seed=9))
    before = (batch / "a-denoised.png").read_bytes()
    pair = runner.invoke(app, ["denoise", str(batch / "a.png"), str(batch / "a-denoised.png"), *model])
    assert pair.exit_code == 1 and "a-denoised.png: is an input of this batch" in " ".join(pair.output.split())
    assert (batch / "a-denoised.png").read_bytes() == before and (batch / "a-denoised-denoised.png").is_file()
    (batch / "imgs").mkdir()
    save_png(batch / "imgs" / "x.png", random_image(1, 12, 20, seed=4))
    assert runner.invoke(app, ["denoise", str(batch / "imgs"), *model]).exit_code == 0
    written = (batch / "imgs-denoised" / "x.png").read_bytes()
    folders = runner.invoke(app, ["denoise", str(batch / "imgs"), str(batch / "imgs-denoised"), *model])
    assert folders.exit_code == 1 and "is an input of this batch" in folders.output
    assert (batch / "imgs-denoised" / "x.png").read_bytes() == written
    assert (batch / "imgs-denoised-denoised" / "x.png").is_file()
    assert "Traceback" not in pair.output + folders.output


def test_special_files_are_never_replaced(batch, tiny_gray_path):
    import os
    import stat

    fifo = batch / "pipe.png"
    os.mkfifo(fifo)
    result = runner.invoke(app, ["denoise", str(batch / "a.png"), "-o", str(fifo), "--model", str(tiny_gray_path),
                                 "--sigma", "20", "--overwrite"])
    assert result.exit_code == 1 and "not a regular file" in result.output
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert not [p for p in batch.iterdir() if p.name.startswith(".")]


def test_a_fifo_or_unreadable_input_fails_alone_and_says_why(batch, tiny_gray_path, monkeypatch):
    import os

    import eqdenoise.files.input_files

    os.mkfifo(batch / "pipe.png")
    real_access = os.access
    monkeypatch.setattr(eqdenoise.files.input_files.os, "access",
                        lambda path, mode: not str(path).endswith("b.png") and real_access(path, mode))
    result = runner.invoke(app, ["denoise", str(batch / "pipe.png"), str(batch / "b.png"), str(batch / "a.png"),
                                 "-o", str(batch / "out"), "--model", str(tiny_gray_path), "--sigma", "20"])
    assert result.exit_code == 1, result.output
    assert f"{batch / 'pipe.png'}: not a regular file (a FIFO, device or socket)" in result.output
    assert f"{batch / 'b.png'}: cannot be read (permission denied)" in result.output
    assert sorted(p.name for p in (batch / "out").iterdir()) == ["a.png"]


def test_many_inputs_need_a_folder(batch, tiny_gray_path):
    result = runner.invoke(app, ["denoise", str(batch / "a.png"), str(batch / "b.png"), "-o", str(batch / "x.png"),
                                 "--model", str(tiny_gray_path)])
    assert result.exit_code == 1 and "must be a folder" in result.output
    assert not (batch / "x.png").exists()


def test_many_inputs_into_a_missing_folder_make_it(batch, tiny_gray_path):
    target = batch / "new" / "clean"
    result = runner.invoke(app, ["denoise", str(batch / "a.png"), str(batch / "b.png"), "-o", str(target),
                                 "--model", str(tiny_gray_path), "--sigma", "20"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in target.iterdir()) == ["a.png", "b.png"]


@pytest.mark.parametrize("args, code, message", [
    (["--model", "nope.safetensors"], 1, "checkpoint not found"),
    (["--group", "c4"], 0, None),
    (["--sigma", "loud"], 2, "--sigma must be a number"),
    (["--sigma", "20", "--strength", "0.3"], 2, "either --sigma or --strength"),
])
def test_bad_options_give_one_line(batch, tiny_gray_path, args, code, message):
    args = args if args[:2] == ["--model", "nope.safetensors"] else ["--model", str(tiny_gray_path), *args]
    result = runner.invoke(app, ["denoise", str(batch / "a.png"), "-o", str(batch / "o.png"), *args])
    assert result.exit_code == code, result.output
    if message is not None:
        assert message in result.output and "Traceback" not in result.output


def test_group_the_model_was_not_trained_for(tmp_path, batch):
    path = write_tiny_checkpoint(tmp_path / "flip.safetensors", group="flip")
    result = runner.invoke(app, ["denoise", str(batch / "a.png"), "--model", str(path), "--group", "d4"])
    assert result.exit_code == 1 and "trained for group 'flip'" in result.output


@pytest.mark.parametrize("extra", [[], ["--steps", "3", "--eta", "1"], ["--strength", "0.4", "--steps", "2"]])
@pytest.mark.parametrize("method", ["canon", "fa"])
def test_verify_shows_zero_for_equivariant_methods(tmp_path, tiny_gray_path, method, extra):
    image = save_png(tmp_path / "real.png", sample_pixels("coffee-rgb-noisy25.png", crop=(20, 28)))
    result = runner.invoke(app, ["verify", str(image), "--model", str(tiny_gray_path), "--method", method,
                                 "--json", *extra])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] and len(report["elements"]) == 8
    assert all(e["max_abs_diff"] == 0 and e["differing_pixels"] == 0 for e in report["elements"])


@pytest.mark.parametrize("method, promised", [("wt", 255e-5), ("none", 255e-5), ("canon", 0.0)])
def test_verify_takes_the_methods_promise_on_a_weight_tied_network_and_says_why(tmp_path, tiny_wt, method,
                                                                                  promised):
    image = save_png(tmp_path / "real.png", sample_pixels("cat-gray-noisy25.png", crop=(21, 30)))
    result = runner.invoke(app, ["verify", str(image), "--model", str(tiny_wt.path), "--method", method, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] and report["tolerance"] == pytest.approx(promised)
    assert ("weight-tied" in report["reason"]) == (method != "canon")
    assert max(e["max_abs_diff"] for e in report["elements"]) <= promised
    table = runner.invoke(app, ["verify", str(image), "--model", str(tiny_wt.path), "--method", method])
    assert "tolerance:" in table.stdout and "equivariant within tolerance" in table.stdout
    strict = runner.invoke(app, ["verify", str(image), "--model", str(tiny_wt.path), "--method", method,
                                 "--tolerance", "0", "--json"])
    assert "given; the method promises" in json.loads(strict.stdout)["reason"]


def test_verify_fails_loudly_for_the_plain_network(tmp_path, tiny_gray_path):
    image = save_png(tmp_path / "real.png", sample_pixels("cat-gray-noisy25.png", crop=(24, 30)))
    result = runner.invoke(app, ["verify", str(image), "--model", str(tiny_gray_path), "--method", "none"])
    assert result.exit_code == 1
    assert "NOT equivariant" in result.stdout and "rot90" in result.stdout
    as_json = runner.invoke(app, ["verify", str(image), "--model", str(tiny_gray_path), "--method", "none", "--json"])
    elements = json.loads(as_json.stdout)["elements"]
    assert max(e["max_abs_diff"] for e in elements[1:]) > 0


def test_help_explains_options_and_models_lists_shipped():
    for command in (["--help"], ["denoise", "--help"], ["verify", "--help"], ["train", "denoiser", "--help"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0
    text = " ".join(runner.invoke(app, ["denoise", "--help"], terminal_width=200).output.split())
    for option in ("--sigma", "--strength", "--steps", "--eta", "--seed", "--method", "--group", "--overwrite"):
        assert option in text
    assert "default: canon" in text and "default: 1" in text
    listing = runner.invoke(app, ["models"], terminal_width=200)
    assert listing.exit_code == 0


def test_denoise_writes_same_bits_for_rotated_file(tmp_path, tiny_gray_path):
    pixels = random_image(1, 14, 22, seed=9)
    save_png(tmp_path / "x.png", pixels)
    save_png(tmp_path / "x-rot.png", np.rot90(pixels, 1, axes=(1, 2)))
    for name in ("x", "x-rot"):
        result = runner.invoke(app, ["denoise", str(tmp_path / f"{name}.png"), "--model", str(tiny_gray_path),
                                     "--strength", "0.5", "--steps", "2", "--eta", "1"])
        assert result.exit_code == 0, result.output
    out = np.asarray(Image.open(tmp_path / "x-denoised.png"))
    out_rot = np.asarray(Image.open(tmp_path / "x-rot-denoised.png"))
    assert np.array_equal(np.rot90(out, 1), out_rot)


@pytest.mark.parametrize("name, make", [
    ("deep.png", lambda: Image.fromarray(np.random.default_rng(0).integers(0, 65536, (18, 11), dtype=np.uint16))),
    ("float.tif", lambda: Image.fromarray(np.random.default_rng(1).random((9, 13), dtype=np.float32), "F")),
    ("photo.jpg", lambda: Image.fromarray(np.random.default_rng(2).integers(0, 256, (16, 20, 3), dtype=np.uint8))),
    ("tiny.png", lambda: Image.fromarray(np.full((1, 3), 7, dtype=np.uint8))),
    ("alpha.png", lambda: Image.fromarray(np.random.default_rng(3).integers(0, 256, (10, 12, 4), dtype=np.uint8), "RGBA")),
])
def test_formats_modes_and_sizes_are_kept(tmp_path, tiny_gray_path, name, make):
    make().save(tmp_path / name)
    source = Image.open(tmp_path / name)
    out = tmp_path / f"out-{name}"
    result = runner.invoke(app, ["denoise", str(tmp_path / name), "-o", str(out), "--model", str(tiny_gray_path),
                                 "--sigma", "10"])
    assert result.exit_code == 0, result.output
    written = Image.open(out)
    assert (written.format, written.size) == (source.format, source.size)
    assert written.mode == source.mode or {written.mode, source.mode} <= {"I;16", "I"}
    if source.mode == "RGBA":
        assert np.array_equal(np.asarray(written)[..., 3], np.asarray(source)[..., 3])


def test_default_model_follows_the_image_channels(tmp_path, monkeypatch):
    from eqdenoise.nets.registry import COLOR_DENOISER, GRAY_DENOISER, sha256

    models = tmp_path / "models"
    models.mkdir()
    entries = []
    defaults = {"gray": GRAY_DENOISER, "rgb": COLOR_DENOISER}
    for name, channels in ((defaults["gray"], 1), (defaults["rgb"], 3)):
        path = write_tiny_checkpoint(models / f"{name}.safetensors", channels=channels, seed=channels)
        entries.append({"name": name, "file": path.name, "sha256": sha256(path), "task": "denoise", "group": "d4",
                        "channels": channels, "card": "", "trained_on": "", "quality": ""})
    (models / "manifest.json").write_text(json.dumps({"models": entries}))
    monkeypatch.setenv("EQDENOISE_MODELS", str(models))
    for kind, channels in (("gray", 1), ("rgb", 3)):
        source = save_png(tmp_path / f"{kind}.png", random_image(channels, 12, 16, seed=channels))
        chosen, explicit = tmp_path / f"{kind}-default.png", tmp_path / f"{kind}-explicit.png"
        assert runner.invoke(app, ["denoise", str(source), "-o", str(chosen), "--sigma", "20"]).exit_code == 0
        model = str(models / f"{defaults[kind]}.safetensors")
        assert runner.invoke(app, ["denoise", str(source), "-o", str(explicit), "--sigma", "20", "-m", model]).exit_code == 0
        assert chosen.read_bytes() == explicit.read_bytes()
        report = runner.invoke(app, ["verify", str(source), "--sigma", "20", "--json"])
        assert json.loads(report.stdout)["model"] == defaults[kind]
    (models / "manifest.json").write_text(json.dumps({"models": entries[:1]}))
    fallback = tmp_path / "rgb-fallback.png"
    assert runner.invoke(app, ["denoise", str(tmp_path / "rgb.png"), "-o", str(fallback), "--sigma", "20"]).exit_code == 0
    assert fallback.read_bytes() != (tmp_path / "rgb-default.png").read_bytes()


def test_a_folder_input_goes_to_a_sibling_folder_and_a_rerun_finds_only_the_inputs(batch, tiny_gray_path):
    slides = batch / "slides"
    slides.mkdir()
    for name in ("a.png", "b.png", "cut.png"):
        (slides / name).write_bytes((batch / name).read_bytes())
    (slides / "notes.txt").write_text("not an image")
    (slides / ".a.png").write_bytes((batch / "cut.png").read_bytes())
    args = ["denoise", str(slides), "--model", str(tiny_gray_path), "--sigma", "20"]
    first = runner.invoke(app, args)
    assert first.exit_code == 1 and "cut.png: image file is damaged" in first.output
    assert sorted(p.name for p in (batch / "slides-denoised").iterdir()) == ["a.png", "b.png"]
    assert sorted(p.name for p in slides.iterdir()) == [".a.png", "a.png", "b.png", "cut.png", "notes.txt"]
    again = runner.invoke(app, args)
    assert again.output.count("output exists") == 2 and "denoised-denoised" not in again.output


def test_a_rerun_with_skip_existing_does_only_the_rest_and_exits_0(batch, tiny_gray_path):
    slides = batch / "slides"
    slides.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        (slides / name).write_bytes((batch / ("a.png" if name == "c.png" else name)).read_bytes())
    args = ["denoise", str(slides), "-o", str(batch / "clean"), "--model", str(tiny_gray_path), "--sigma", "20"]
    assert runner.invoke(app, args).exit_code == 0
    finished = (batch / "clean" / "a.png").read_bytes()
    (batch / "clean" / "b.png").unlink()
    again = runner.invoke(app, [*args, "--skip-existing"])
    assert again.exit_code == 0, again.output
    assert "a.png skipped (exists)" in again.output and "1 done, 2 skipped, 0 failed" in again.output
    assert (batch / "clean" / "a.png").read_bytes() == finished and (batch / "clean" / "b.png").is_file()
    plain = runner.invoke(app, args)
    assert plain.exit_code == 1 and "or --skip-existing to keep it" in plain.output
    assert f"0 done, 0 skipped, 3 failed: {slides / 'a.png'}, {slides / 'b.png'}, {slides / 'c.png'}" in " ".join(
        plain.output.split())
    both = runner.invoke(app, [*args, "--skip-existing", "--overwrite"])
    assert both.exit_code == 2 and "give either --overwrite or --skip-existing, not both" in both.output


def test_a_folder_with_output_option_and_an_empty_folder(batch, tiny_gray_path):
    (batch / "empty").mkdir()
    (batch / "one").mkdir()
    (batch / "one" / "a.png").write_bytes((batch / "a.png").read_bytes())
    into = runner.invoke(app, ["denoise", str(batch / "one"), "-o", str(batch / "clean"),
                               "--model", str(tiny_gray_path), "--sigma", "20"])
    assert into.exit_code == 0, into.output
    assert [p.name for p in (batch / "clean").iterdir()] == ["a.png"]
    empty = runner.invoke(app, ["denoise", str(batch / "empty"), "--model", str(tiny_gray_path)])
    assert empty.exit_code == 1 and "empty: no PNG, JPEG or TIFF files in this folder" in empty.output


def test_verify_names_a_folder_given_instead_of_an_image(batch, tiny_gray_path):
    result = runner.invoke(app, ["verify", str(batch), "--model", str(tiny_gray_path), "--sigma", "20"])
    assert result.exit_code == 1 and "is a folder, not an image file" in result.output


def _pages(path):
    with Image.open(path) as stack:
        frames = []
        for index in range(stack.n_frames):
            stack.seek(index)
            frames.append(np.asarray(stack).copy())
    return frames


@pytest.mark.parametrize("sigma", [["--sigma", "20"], []])
def test_a_tiff_stack_is_denoised_page_by_page_and_stays_exactly_equivariant(tmp_path, tiny_gray_path, sigma):
    arrays = [np.rint(random_image(1, 12, 18, seed=s)[0] * 255).astype(np.uint8) for s in range(3)]
    for name, pages in (("stack.tif", arrays), ("turned.tif", [np.rot90(a) for a in arrays])):
        images = [Image.fromarray(np.ascontiguousarray(a)) for a in pages]
        images[0].save(tmp_path / name, save_all=True, append_images=images[1:])
    Image.fromarray(arrays[1]).save(tmp_path / "page1.tif")
    args = ["--model", str(tiny_gray_path), *sigma]
    result = runner.invoke(app, ["denoise", str(tmp_path / "stack.tif"), str(tmp_path / "turned.tif"),
                                 str(tmp_path / "page1.tif"), "-o", str(tmp_path / "out"), *args])
    assert result.exit_code == 0, result.output
    assert "3 pages, σ =" in result.output
    stack, turned = _pages(tmp_path / "out" / "stack.tif"), _pages(tmp_path / "out" / "turned.tif")
    assert len(stack) == 3 and [p.shape for p in stack] == [(12, 18)] * 3
    np.testing.assert_array_equal(stack[1], np.asarray(Image.open(tmp_path / "out" / "page1.tif")))
    for page, turned_page in zip(stack, turned, strict=True):
        np.testing.assert_array_equal(np.rot90(page), turned_page)


def test_the_command_line_starts_without_importing_torch():
    import subprocess
    import sys

    probe = "import sys, eqdenoise.cli; print(sorted({'torch', 'numpy', 'scipy', 'PIL'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
    for arguments in (["--help"], ["--version"], ["denoise", "--no-such-option"], ["models"]):
        probe = (f"import sys, runpy; sys.argv = ['eqdenoise', *{arguments!r}]\ntry:\n"
                 "    runpy.run_module('eqdenoise', run_name='__main__')\nexcept SystemExit:\n    pass\n"
                 "print('torch' in sys.modules)")
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
        assert result.stdout.strip().endswith("False"), (arguments, result.stdout, result.stderr)


def test_transfer_writes_a_new_dicom_series_from_the_source_header(tmp_path, tiny_bridge_path):
    source = tmp_path / "slice.dcm"
    source.write_bytes(ct_small_path().read_bytes())
    result = runner.invoke(app, ["transfer", str(source), "-m", str(tiny_bridge_path), "--steps", "2"])
    assert result.exit_code == 0, result.output
    before, after = pydicom.dcmread(source), pydicom.dcmread(tmp_path / "slice-pet.dcm")
    assert after.SeriesInstanceUID != before.SeriesInstanceUID and after.SOPInstanceUID != before.SOPInstanceUID
    assert after.file_meta.MediaStorageSOPInstanceUID == after.SOPInstanceUID
    assert (after.StudyInstanceUID, after.PatientID) == (before.StudyInstanceUID, before.PatientID)
    assert list(after.ImageType) == ["DERIVED", "SECONDARY"] and "PET" in after.SeriesDescription
    assert after.RescaleType == "activity" and after.pixel_array.shape == (128, 128)
    values = read_dicom(tmp_path / "slice-pet.dcm").values
    assert values.min() >= 0.0 and values.max() <= 2.0 + 1e-6
    assert source.read_bytes() == ct_small_path().read_bytes()


def test_float_tiff_in_physical_units_gives_float_tiff_out(tmp_path, tiny_bridge_path):
    hu = read_dicom(ct_small_path()).values[0]
    Image.fromarray(hu, mode="F").save(tmp_path / "ct.tiff")
    Image.fromarray(np.rint(np.clip((hu + 1000) / 2000, 0, 1) * 65535).astype(np.uint16)).save(tmp_path / "ct16.tif")
    result = runner.invoke(app, ["transfer", str(tmp_path / "ct.tiff"), str(tmp_path / "ct16.tif"),
                                 "-m", str(tiny_bridge_path), "--steps", "1"])
    assert result.exit_code == 0, result.output
    floats = np.asarray(Image.open(tmp_path / "ct-pet.tiff"))
    sixteen = np.asarray(Image.open(tmp_path / "ct16-pet.tif"))
    assert floats.dtype == np.float32 and 0.0 <= floats.min() and floats.max() <= 2.0
    assert sixteen.dtype == np.uint16
    np.testing.assert_allclose(sixteen / 65535 * 2.0, floats, atol=2 / 65535 + 1e-4)


def _multiframe(path):
    dataset = pydicom.dcmread(ct_small_path())
    dataset.NumberOfFrames = 2
    dataset.PixelData = dataset.PixelData * 2
    dataset.save_as(path)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"not dicom at all") and p, "not a readable DICOM file"),
    (lambda p: _multiframe(p), "multi-frame DICOM is not supported"),
    (lambda p: p.write_bytes(open(get_testdata_file("SC_rgb_small_odd.dcm"), "rb").read()) and p,
     "colour DICOM is not supported"),
    (lambda p: p.write_bytes(open(get_testdata_file("MR_small.dcm"), "rb").read()) and p,
     "expects HU values"),
])
def test_bad_dicom_fails_alone_in_a_batch(tmp_path, tiny_bridge_path, make, message):
    bad = tmp_path / "bad.dcm"
    make(bad)
    good = tmp_path / "good.dcm"
    good.write_bytes(ct_small_path().read_bytes())
    result = runner.invoke(app, ["transfer", str(bad), str(good), "-m", str(tiny_bridge_path), "--steps", "1"])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert (tmp_path / "good-pet.dcm").is_file() and not (tmp_path / "bad-pet.dcm").exists()


def test_transfer_refuses_a_denoiser_and_existing_outputs(tmp_path, tiny_gray_path, tiny_bridge_path):
    source = tmp_path / "s.dcm"
    source.write_bytes(ct_small_path().read_bytes())
    result = runner.invoke(app, ["transfer", str(source), "-m", str(tiny_gray_path)])
    assert result.exit_code == 1 and "not a 'bridge' one" in result.output
    (tmp_path / "s-pet.dcm").write_bytes(b"keep")
    result = runner.invoke(app, ["transfer", str(source), "-m", str(tiny_bridge_path), "--steps", "1"])
    assert result.exit_code == 1 and "--overwrite" in result.output
    assert (tmp_path / "s-pet.dcm").read_bytes() == b"keep"


def test_verify_transfer_reports_zero_for_canon_and_fails_for_none(tmp_path, tiny_bridge_path):
    hu = read_dicom(ct_small_path()).values[0, :40, :56]
    Image.fromarray(hu, mode="F").save(tmp_path / "crop.tiff")
    args = ["verify", "--task", "transfer", str(tmp_path / "crop.tiff"), "-m", str(tiny_bridge_path), "--steps", "2"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] and len(report["elements"]) == 8
    assert all(e["max_abs_diff"] == 0 for e in report["elements"])
    result = runner.invoke(app, [*args, "--method", "none"])
    assert result.exit_code == 1 and "NOT equivariant" in result.output


def test_verify_transfer_rejects_denoise_options(tmp_path, tiny_bridge_path):
    result = runner.invoke(app, ["verify", "--task", "transfer", str(ct_small_path()), "-m", str(tiny_bridge_path),
                                 "--sigma", "10"])
    assert result.exit_code == 2 and "apply to denoise" in result.output


def test_dicom_results_keep_a_dicom_name(tmp_path, tiny_bridge_path):
    source = tmp_path / "s.dcm"
    source.write_bytes(ct_small_path().read_bytes())
    result = runner.invoke(app, ["transfer", str(source), "-m", str(tiny_bridge_path), "-o", str(tmp_path / "s.png")])
    assert result.exit_code == 1 and "give it a .dcm extension" in result.output
    assert not (tmp_path / "s.png").exists()


def test_transfer_of_a_folder_writes_a_sibling_series_folder(tmp_path, tiny_bridge_path):
    ct = tmp_path / "ct"
    ct.mkdir()
    for name in ("s1.dcm", "s2.DCM"):
        (ct / name).write_bytes(ct_small_path().read_bytes())
    (ct / "DICOMDIR.txt").write_text("an index, not a slice")
    result = runner.invoke(app, ["transfer", str(ct), "-m", str(tiny_bridge_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "ct-pet").iterdir()) == ["s1.dcm", "s2.DCM"]
    assert pydicom.dcmread(tmp_path / "ct-pet" / "s1.dcm").RescaleType == "activity"


def _ct_series(folder: Path, series: str, count: int) -> list[Path]:
    """``count`` slices of one CT series (CT_small with this series UID, its own instance UIDs and positions)."""
    folder.mkdir(exist_ok=True)
    paths = []
    for index in range(count):
        dataset = pydicom.dcmread(ct_small_path())
        dataset.SeriesInstanceUID = series
        dataset.SOPInstanceUID = f"{series}.{index + 1}"
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        dataset.InstanceNumber = index + 1
        dataset.ImagePositionPatient = [-158.0, -179.0, -75.0 + 5 * index]
        dataset.save_as(folder / f"{series.rsplit('.', 1)[-1]}-{index}.dcm")
        paths.append(folder / f"{series.rsplit('.', 1)[-1]}-{index}.dcm")
    return paths


def test_transfer_labels_its_dicom_as_a_derived_object_in_one_new_series_per_source_series(tmp_path, tiny_bridge_path):
    """Simulated PET was written as a CT image (Modality CT, CT SOP class) and each slice became its own series."""
    first = _ct_series(tmp_path / "ct", "1.2.826.0.1.3680043.8.498.1", 3)
    second = _ct_series(tmp_path / "ct", "1.2.826.0.1.3680043.8.498.2", 2)
    result = runner.invoke(app, ["transfer", str(tmp_path / "ct"), "-m", str(tiny_bridge_path)])
    assert result.exit_code == 0, result.output
    written = {path: pydicom.dcmread(tmp_path / "ct-pet" / path.name) for path in first + second}
    for source, after in written.items():
        before = pydicom.dcmread(source)
        assert after.Modality == "PT" and after.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7"
        assert after.file_meta.MediaStorageSOPClassUID == after.SOPClassUID
        assert list(after.ImageType)[:2] == ["DERIVED", "SECONDARY"] and "simulated" in after.SeriesDescription
        assert after.SourceImageSequence[0].ReferencedSOPInstanceUID == before.SOPInstanceUID
        for keyword in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceThickness",
                        "FrameOfReferenceUID", "StudyInstanceUID", "PatientID", "InstanceNumber"):
            assert after.get(keyword) == before.get(keyword), keyword
        assert "KVP" not in after
    series = [{written[path].SeriesInstanceUID for path in group} for group in (first, second)]
    assert all(len(uids) == 1 for uids in series) and series[0] != series[1]
    assert not series[0] & {"1.2.826.0.1.3680043.8.498.1", "1.2.826.0.1.3680043.8.498.2"}
    numbers = [{written[path].SeriesNumber for path in group} for group in (first, second)]
    assert all(len(n) == 1 for n in numbers)
    assert len({after.SOPInstanceUID for after in written.values()}) == 5
    again = runner.invoke(app, ["transfer", str(tmp_path / "ct"), "-m", str(tiny_bridge_path), "-o",
                                str(tmp_path / "other"), "--seed", "4", "--steps", "2", "--eta", "1"])
    assert again.exit_code == 0, again.output
    assert pydicom.dcmread(tmp_path / "other" / first[0].name).SeriesInstanceUID not in series[0]


@pytest.mark.parametrize("removed", [("RescaleSlope", "RescaleIntercept"), ("RescaleIntercept",), ("RescaleSlope",)])
def test_a_ct_slice_without_rescale_tags_is_refused_not_taken_as_hounsfield_units(tmp_path, tiny_bridge_path, removed):
    dataset = pydicom.dcmread(ct_small_path())
    for keyword in removed:
        delattr(dataset, keyword)
    dataset.save_as(tmp_path / "raw.dcm")
    (tmp_path / "good.dcm").write_bytes(ct_small_path().read_bytes())
    result = runner.invoke(app, ["transfer", str(tmp_path / "raw.dcm"), str(tmp_path / "good.dcm"),
                                 "-m", str(tiny_bridge_path)])
    assert result.exit_code == 1 and "raw.dcm: CT slice without RescaleSlope/RescaleIntercept" in result.output
    assert (tmp_path / "good-pet.dcm").is_file() and not (tmp_path / "raw-pet.dcm").exists()


@pytest.mark.parametrize("args", [
    ["--seed", str(2**64)], ["--seed", str(2**63)], ["--seed", "-1"], ["--strength", "1e-300"], ["--strength", "0"],
    ["--strength", "1.5"], ["--sigma", "-3"], ["--sigma", "nan"], ["--sigma", "300"], ["--tile", "-5"],
    ["--tile", "63"], ["--shard", "3/2"], ["--shard", "x"], ["--steps", "0"], ["--eta", "2"], ["-m", "m\0.safetensors"],
    ["-o", "out\0"],
])
def test_an_option_value_out_of_range_is_a_usage_error_before_any_file(tmp_path, tiny_gray_path, args):
    """Bad --sigma, --tile, --strength and --shard exited 1; --seed 2**64 gave a traceback and left an empty -o folder;
    a tiny --strength was reported as a damaged shipped checkpoint."""
    save_png(tmp_path / "a.png", random_image(1, 12, 10))
    save_png(tmp_path / "b.png", random_image(1, 12, 10, seed=1))
    result = runner.invoke(app, ["denoise", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o",
                                 str(tmp_path / "cleaned"), "-m", str(tiny_gray_path), *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "damaged" not in result.output
    assert not (tmp_path / "cleaned").exists()


def test_the_largest_seed_and_the_smallest_strength_run(tmp_path, tiny_gray_path):
    save_png(tmp_path / "a.png", random_image(1, 12, 10))
    for args in (["--seed", str(2**63 - 1), "--strength", "0.5", "--steps", "2", "--eta", "1"], ["--strength", "0.001"]):
        result = runner.invoke(app, ["denoise", str(tmp_path / "a.png"), "-o", str(tmp_path / "o.png"), "--overwrite",
                                     "-m", str(tiny_gray_path), *args])
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize("size", [("0", "0"), ("-8", "16"), ("8", "7"), ("1", "1"), ("8192", "8192"), (str(2**40), "4")])
def test_sample_sizes_out_of_range_are_usage_errors(tmp_path, tiny_gray_path, size):
    result = runner.invoke(app, ["sample", "-m", str(tiny_gray_path), "-o", str(tmp_path / "s"), "--size", *size,
                                 "--steps", "1"])
    assert result.exit_code == 2 and "--size" in result.output and "Traceback" not in result.output, result.output
    assert not (tmp_path / "s").exists()


def test_sample_seeds_past_the_largest_are_refused(tmp_path, tiny_gray_path):
    result = runner.invoke(app, ["sample", "-m", str(tiny_gray_path), "-o", str(tmp_path / "s"), "--size", "8", "8",
                                 "--steps", "1", "-n", "2", "--seed", str(2**63 - 1)])
    assert result.exit_code == 2 and "--seed must be a whole number" in result.output


@pytest.mark.parametrize("shape", [(1, 1, 17), (1, 23, 1), (3, 1, 9), (3, 12, 1), (1, 1, 1)])
def test_verify_takes_an_image_with_a_one_pixel_side(tmp_path, tiny_gray_path, tiny_rgb_path, shape):
    """A one-pixel side kept a negative stride through the turns, which torch refused (a traceback)."""
    save_png(tmp_path / "thin.png", random_image(*shape))
    model = tiny_gray_path if shape[0] == 1 else tiny_rgb_path
    result = runner.invoke(app, ["verify", str(tmp_path / "thin.png"), "-m", str(model), "--sigma", "20"])
    assert result.exit_code == 0 and "equivariant within tolerance" in result.output, result.output


def test_an_output_name_over_the_file_system_limit_fails_alone_with_a_summary(tmp_path, tiny_gray_path):
    """The default output name of a 250-byte input passed 255 bytes: OSError traceback and the batch was dropped."""
    long_input = tmp_path / ("s" * 246 + ".png")
    save_png(long_input, random_image(1, 12, 10))
    save_png(tmp_path / "b.png", random_image(1, 12, 10, seed=1))
    result = runner.invoke(app, ["denoise", str(long_input), str(tmp_path / "b.png"), "-m", str(tiny_gray_path),
                                 "--sigma", "10"])
    assert result.exit_code == 1 and "over the 255-byte limit" in result.output, result.output
    assert "1 done, 0 skipped, 1 failed" in result.output and (tmp_path / "b-denoised.png").is_file()
    assert "Traceback" not in result.output


@pytest.mark.parametrize("link", ["dangling", "loop"])
def test_an_output_that_is_a_dangling_or_looping_link_is_not_replaced_without_overwrite(tmp_path, tiny_gray_path, link):
    save_png(tmp_path / "a.png", random_image(1, 12, 10))
    target = tmp_path / "a-denoised.png"
    target.symlink_to(tmp_path / "elsewhere.png" if link == "dangling" else target)
    result = runner.invoke(app, ["denoise", str(tmp_path / "a.png"), "-m", str(tiny_gray_path), "--sigma", "10"])
    assert result.exit_code == 1 and "output exists" in result.output
    assert target.is_symlink() and not (tmp_path / "elsewhere.png").exists()
    replaced = runner.invoke(app, ["denoise", str(tmp_path / "a.png"), "-m", str(tiny_gray_path), "--sigma", "10",
                                   "--overwrite"])
    assert replaced.exit_code == 0 and target.is_file() and not target.is_symlink()


def test_a_users_hidden_file_beside_the_output_survives_a_run(tmp_path, tiny_gray_path):
    """The sweep of stale temporaries deleted a user's `.scan.original.png`, an hour old, beside scan's output."""
    import os
    import time

    save_png(tmp_path / "scan.png", random_image(1, 12, 10))
    for name in (".scan-denoised.original.png", ".scan-denoised.12345678.png"):
        (tmp_path / name).write_bytes(b"mine")
        os.utime(tmp_path / name, (time.time() - 3600,) * 2)
    result = runner.invoke(app, ["denoise", str(tmp_path / "scan.png"), "-m", str(tiny_gray_path), "--sigma", "10"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / ".scan-denoised.original.png").read_bytes() == b"mine"
    assert (tmp_path / ".scan-denoised.12345678.png").read_bytes() == b"mine"


def test_an_output_written_by_another_run_meanwhile_is_not_replaced(tmp_path, tiny_gray_path, monkeypatch):
    """Both runs found no output and both reported it done; the later rename replaced the earlier run's file."""
    import eqdenoise.tasks.restoration

    save_png(tmp_path / "a.png", random_image(1, 12, 10))
    target = tmp_path / "a-denoised.png"
    real_restore = eqdenoise.tasks.restoration.restore

    def restore_while_another_run_finishes(*args, **kwargs):
        target.write_bytes(b"the other run's result")
        return real_restore(*args, **kwargs)

    monkeypatch.setattr(eqdenoise.tasks.restoration, "restore", restore_while_another_run_finishes)
    result = runner.invoke(app, ["denoise", str(tmp_path / "a.png"), "-m", str(tiny_gray_path), "--sigma", "10"])
    assert result.exit_code == 1 and "output exists" in result.output
    assert target.read_bytes() == b"the other run's result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-denoised.png", "a.png"]


def test_the_command_line_reaches_the_library_through_its_api_only():
    """The commands parse, call eqdenoise.api and render: they import no task, file or model module of the package
    (only the API, its errors and the light tables of names, methods and training defaults, and the process setup of
    the allocator and of torchrun workers)."""
    import ast

    import eqdenoise.cli

    allowed = {"api", "errors", "tasks.methods", "names", "training.train_options", "allocator",
               "training.distributed", ""}
    for path in Path(eqdenoise.cli.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 2:
                assert (node.module or "") in allowed, f"{path.name} imports eqdenoise.{node.module}"
