"""Build the CT → simulated-PET pairs that ct2pet-d4 is trained and evaluated on.

Real CT slices come from pydicom's and pydicom-data's test files (`pip install -e ".[data]"`);
targets come from eqdenoise.training.petsim (see models/ct2pet-d4.md). Patients CQ500-CT-310 and 1CT1 are
held out: they never enter train/.

    python training/make_ct2pet_pairs.py data/ct2pet

writes data/ct2pet/train/{ct,pet}/NAME_rK.tiff (float HU / activity; K noise draws per slice),
data/ct2pet/holdout/ct/NAME.dcm (uncompressed copy), holdout/ct-png/NAME.png (16-bit, CT window),
holdout/pet/NAME.tiff (one simulated acquisition) and holdout/pet-mean/NAME.tiff (noiseless mean).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from eqdenoise.files.dicom import read_dicom
from eqdenoise.training.petsim import PetSimulator

CT_WINDOW = (-1000.0, 1000.0)
TRAIN = {  # name: (pydicom test file, patient)
    "jxd-head": ("J2K_pixelrep_mismatch.dcm", "JXD191021006"),
    "pancreas-abdomen": ("explicit_VR-UN.dcm", "PANCREAS_0001"),
    "neck": ("bad_sequence.dcm", "b2cbe507f250"),
}
HOLDOUT = {
    "cq500-head": ("693_UNCR.dcm", "CQ500-CT-310"),
    "ct-small": ("CT_small.dcm", "1CT1"),
}


def _tiff(path: Path, values: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(values.astype(np.float32), mode="F").save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--realizations", type=int, default=8, help="noise draws per training slice")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from pydicom.data import get_testdata_file

    sim = PetSimulator()
    rng = np.random.default_rng(args.seed)
    record = {"simulator": sim.to_config(), "ct_window_hu": CT_WINDOW, "train": {}, "holdout": {}}
    for name, (file, patient) in TRAIN.items():
        hu = read_dicom(Path(get_testdata_file(file))).values[0]
        for k in range(args.realizations):
            _tiff(args.out / "train" / "ct" / f"{name}_r{k}.tiff", hu)
            _tiff(args.out / "train" / "pet" / f"{name}_r{k}.tiff", sim.sample(hu, rng))
        record["train"][name] = {"file": file, "patient": patient, "size": list(hu.shape)}
    for name, (file, patient) in HOLDOUT.items():
        source = read_dicom(Path(get_testdata_file(file)))
        hu = source.values[0]
        dataset = source.dataset
        if dataset.file_meta.TransferSyntaxUID.is_compressed:
            dataset.decompress()
        (args.out / "holdout" / "ct").mkdir(parents=True, exist_ok=True)
        dataset.save_as(args.out / "holdout" / "ct" / f"{name}.dcm", enforce_file_format=True)
        windowed = np.clip((hu - CT_WINDOW[0]) / (CT_WINDOW[1] - CT_WINDOW[0]), 0, 1)
        (args.out / "holdout" / "ct-png").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.rint(windowed * 65535).astype(np.uint16)).save(args.out / "holdout" / "ct-png" / f"{name}.png")
        _tiff(args.out / "holdout" / "pet" / f"{name}.tiff", sim.sample(hu, rng))
        _tiff(args.out / "holdout" / "pet-mean" / f"{name}.tiff", sim.mean(hu))
        record["holdout"][name] = {"file": file, "patient": patient, "size": list(hu.shape)}
    (args.out / "pairs.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
