"""Scans: windows map physical values to the unit range and leave windowed images alone."""

import numpy as np
from PIL import Image

from conftest import CT_WINDOW, ct_small_path
from eqdenoise.files.scans import ValueRange, read_scan, to_unit


def test_window_maps_physical_values_and_leaves_windowed_images_alone(tmp_path):
    scan = read_scan(ct_small_path())
    unit = to_unit(scan, ValueRange(**CT_WINDOW))
    hu = scan.values
    np.testing.assert_allclose(unit, np.clip((hu + 1000) / 2000, 0, 1), atol=1e-7)
    Image.fromarray(np.rint(unit[0] * 65535).astype(np.uint16)).save(tmp_path / "ct.png")
    png = read_scan(tmp_path / "ct.png")
    assert not png.physical
    np.testing.assert_allclose(to_unit(png, ValueRange(**CT_WINDOW)), unit, atol=1 / 65535)
