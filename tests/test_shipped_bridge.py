"""End-to-end checks with the shipped ct2pet-d4 bridge on a held-out patient (pydicom's CT_small, 1CT1)."""

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import ct_small_path, ct_small_unit
from eqdenoise.cli import app
from eqdenoise.files.dicom import read_dicom
from eqdenoise.nets.registry import manifest, resolve_model
from eqdenoise.tasks.translation import TransferOptions, translate
from eqdenoise.training.petsim import PetSimulator

pytestmark = pytest.mark.slow
runner = CliRunner()
MIN_PSNR_VS_MEAN = 32.0


def test_ct2pet_is_shipped_with_its_card():
    entry = {e["name"]: e for e in manifest()}["ct2pet-d4"]
    assert entry["task"] == "bridge" and entry["group"] == "d4"
    model = resolve_model("ct2pet-d4", task="bridge")
    assert model.config["source_range"]["unit"] == "HU" and model.config["modalities"]["target"] == "PET"


def test_held_out_dicom_and_png_translate_close_to_the_simulated_activity(tmp_path):
    source = tmp_path / "ct-small.dcm"
    source.write_bytes(ct_small_path().read_bytes())
    Image.fromarray(np.rint(ct_small_unit()[0] * 65535).astype(np.uint16)).save(tmp_path / "ct-small-png.png")
    result = runner.invoke(app, ["transfer", str(source), str(tmp_path / "ct-small-png.png")])
    assert result.exit_code == 0, result.output
    expected = PetSimulator().mean(read_dicom(ct_small_path()).values[0]) / 2.0
    from_dicom = read_dicom(tmp_path / "ct-small-pet.dcm").values[0] / 2.0
    from_png = np.asarray(Image.open(tmp_path / "ct-small-png-pet.png"), np.float64) / 65535
    for result in (from_dicom, from_png):
        psnr = -10 * np.log10(np.mean((result - expected) ** 2))
        assert psnr > MIN_PSNR_VS_MEAN
    np.testing.assert_allclose(from_dicom, from_png, atol=0.02)


@pytest.mark.parametrize("method", ["canon", "fa"])
def test_shipped_bridge_is_bit_exact_on_d4(method):
    from eqdenoise.frames.groups import GROUPS

    model = resolve_model("ct2pet-d4", task="bridge")
    pixels = ct_small_unit(crop=(64, 96))
    options = TransferOptions(method=method, steps=4 if method == "canon" else 2, eta=1.0, seed=2)
    reference = translate(model, pixels, options)
    for g in GROUPS["d4"]:
        np.testing.assert_array_equal(translate(model, g.apply(pixels), options), g.apply(reference), err_msg=g.label)


def test_verify_transfer_on_the_held_out_slice_shows_zero(tmp_path):
    result = runner.invoke(app, ["verify", "--task", "transfer", str(ct_small_path()), "--steps", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert all(e["max_abs_diff"] == 0 for e in json.loads(result.stdout)["elements"])
