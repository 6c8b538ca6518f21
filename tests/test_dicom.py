"""DICOM reading: Hounsfield units, missing, special and malformed files."""

import os
import warnings

import numpy as np
import pydicom
import pytest
from pydicom.dataelem import DataElement

from conftest import ct_small_path
from eqdenoise.errors import EqdenoiseError
from eqdenoise.files.dicom import DerivedLabels, read_dicom, write_dicom


def test_ct_slice_is_read_in_hounsfield_units():
    scan = read_dicom(ct_small_path())
    dataset = pydicom.dcmread(ct_small_path())
    expected = dataset.pixel_array * float(dataset.RescaleSlope) + float(dataset.RescaleIntercept)
    assert scan.unit == "HU" and scan.values.shape == (1, 128, 128)
    np.testing.assert_array_equal(scan.values[0], expected)


def test_read_dicom_reports_missing_files():
    with pytest.raises(EqdenoiseError, match="no such file"):
        read_dicom("/nonexistent/x.dcm")


@pytest.mark.parametrize(("field", "value"), [
    ("Rows", "many"), ("NumberOfFrames", "x"), ("SamplesPerPixel", "-"), ("RescaleSlope", "slope"),
    ("RescaleIntercept", "nan?"), ("BitsAllocated", 7), ("SeriesNumber", "first"),
])
def test_a_malformed_header_field_is_one_line_naming_the_file(tmp_path, field, value):
    dataset = pydicom.dcmread(ct_small_path())
    path = tmp_path / f"bad-{field}.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tag = pydicom.datadict.tag_for_keyword(field)
        dataset[tag] = DataElement(tag, "LO" if isinstance(value, str) else "US", value)
        dataset.save_as(path)
    try:
        scan = read_dicom(path)
    except EqdenoiseError as exc:
        assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)
    else:
        assert field == "SeriesNumber" and scan.values.shape == (1, 128, 128)
        write_dicom(scan, scan.values[0], tmp_path / "out.dcm", (-1024.0, 3071.0, "HU"), DerivedLabels("PET", "written", "k"))
        assert pydicom.dcmread(tmp_path / "out.dcm").SeriesNumber == 1000


def test_a_fifo_or_folder_is_named_for_what_it_is(tmp_path):
    fifo = tmp_path / "slice.dcm"
    os.mkfifo(fifo)
    with pytest.raises(EqdenoiseError, match="not a regular file \\(a FIFO, device or socket\\)"):
        read_dicom(fifo)
    with pytest.raises(EqdenoiseError, match="is a folder, not a DICOM file"):
        read_dicom(tmp_path)
