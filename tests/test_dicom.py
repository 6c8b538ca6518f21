"""DICOM reading: Hounsfield units and missing files."""

import numpy as np
import pydicom
import pytest

from conftest import ct_small_path
from eqdenoise.dicom import read_dicom
from eqdenoise.errors import EqdenoiseError


def test_ct_slice_is_read_in_hounsfield_units():
    scan = read_dicom(ct_small_path())
    dataset = pydicom.dcmread(ct_small_path())
    expected = dataset.pixel_array * float(dataset.RescaleSlope) + float(dataset.RescaleIntercept)
    assert scan.unit == "HU" and scan.values.shape == (1, 128, 128)
    np.testing.assert_array_equal(scan.values[0], expected)


def test_read_dicom_reports_missing_files():
    with pytest.raises(EqdenoiseError, match="no such file"):
        read_dicom("/nonexistent/x.dcm")
