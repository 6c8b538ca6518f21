"""DICOM and physical-unit files through transfer: headers, new series, windows, and bad input."""

import json

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from typer.testing import CliRunner

from conftest import CT_WINDOW, ct_small_path
from eqdenoise.cli import app
from eqdenoise.dicom import read_dicom
from eqdenoise.errors import EqdenoiseError
from eqdenoise.scans import ValueRange, read_scan, to_unit

runner = CliRunner()


def test_ct_slice_is_read_in_hounsfield_units():
    scan = read_dicom(ct_small_path())
    dataset = pydicom.dcmread(ct_small_path())
    expected = dataset.pixel_array * float(dataset.RescaleSlope) + float(dataset.RescaleIntercept)
    assert scan.unit == "HU" and scan.values.shape == (1, 128, 128)
    np.testing.assert_array_equal(scan.values[0], expected)


def test_window_maps_physical_values_and_leaves_windowed_images_alone(tmp_path):
    scan = read_scan(ct_small_path())
    unit = to_unit(scan, ValueRange(**CT_WINDOW))
    hu = scan.values
    np.testing.assert_allclose(unit, np.clip((hu + 1000) / 2000, 0, 1), atol=1e-7)
    Image.fromarray(np.rint(unit[0] * 65535).astype(np.uint16)).save(tmp_path / "ct.png")
    png = read_scan(tmp_path / "ct.png")
    assert not png.physical
    np.testing.assert_allclose(to_unit(png, ValueRange(**CT_WINDOW)), unit, atol=1 / 65535)


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
    assert result.exit_code == 1 and "apply to denoise" in result.output


def test_read_dicom_reports_missing_files():
    with pytest.raises(EqdenoiseError, match="no such file"):
        read_dicom("/nonexistent/x.dcm")


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
