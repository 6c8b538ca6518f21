"""DICOM slices through pydicom (the optional ``dicom`` extra): physical values in, a derived series out."""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import EqdenoiseError
from .imageio import MAX_PIXELS

DICOM_SUFFIXES = {".dcm", ".dicom"}
STORED_MAX = 65535


def _pydicom():
    """Import pydicom or say how to get it."""
    try:
        import pydicom
    except ImportError:
        raise EqdenoiseError("DICOM files need pydicom: pip install 'eqdenoise[dicom]'") from None
    return pydicom


def is_dicom(path: Path) -> bool:
    """A .dcm/.dicom name, or the 'DICM' marker after the 128-byte preamble."""
    path = Path(path)
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    try:
        with open(path, "rb") as handle:
            handle.seek(128)
            return handle.read(4) == b"DICM"
    except OSError:
        return False


@dataclass
class DicomSlice:
    """One single-frame gray slice: values (1, H, W) in physical units and its header."""

    path: Path
    values: np.ndarray
    unit: str
    dataset: object


def read_dicom(path: Path) -> DicomSlice:
    """Read one slice and apply its modality LUT (CT: Hounsfield units), with one clear error for anything unusable."""
    pydicom = _pydicom()
    from pydicom.pixels import apply_modality_lut

    path = Path(path)
    if not path.is_file():
        raise EqdenoiseError(f"{path}: no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = pydicom.dcmread(path)
    except Exception as exc:
        raise EqdenoiseError(f"{path}: not a readable DICOM file ({_first_line(exc)})") from None
    if "PixelData" not in dataset:
        raise EqdenoiseError(f"{path}: DICOM file holds no image")
    if int(dataset.get("NumberOfFrames", 1) or 1) > 1:
        raise EqdenoiseError(f"{path}: multi-frame DICOM is not supported; give single slices")
    if int(dataset.get("SamplesPerPixel", 1) or 1) != 1:
        raise EqdenoiseError(f"{path}: colour DICOM is not supported; give gray slices")
    if int(dataset.Rows) * int(dataset.Columns) > MAX_PIXELS:
        raise EqdenoiseError(f"{path}: {dataset.Columns}×{dataset.Rows} is larger than the "
                             f"{MAX_PIXELS // 1_000_000} megapixel limit")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stored = dataset.pixel_array
    except Exception as exc:
        syntax = dataset.file_meta.get("TransferSyntaxUID", "unknown transfer syntax")
        name = getattr(syntax, "name", str(syntax))
        raise EqdenoiseError(f"{path}: cannot decode its pixel data ({name}): {_first_line(exc)}") from None
    values = np.asarray(apply_modality_lut(stored, dataset), dtype=np.float32)[None]
    if not np.isfinite(values).all():
        raise EqdenoiseError(f"{path}: image contains NaN or infinite values")
    modality = str(dataset.get("Modality", ""))
    unit = "HU" if modality == "CT" and not dataset.get("RescaleType") else str(dataset.get("RescaleType", "stored value"))
    return DicomSlice(path=path, values=np.ascontiguousarray(values), unit=unit, dataset=dataset)


def write_dicom(source: DicomSlice, values: np.ndarray, path: Path, low: float, high: float, unit: str,
                description: str) -> None:
    """Write physical ``values`` (H, W) atomically as a new series derived from the source's header.

    The header is copied, the series and instance get new UIDs, and pixels are stored as 16-bit
    unsigned values with a rescale that maps 0..65535 onto [low, high].
    """
    pydicom = _pydicom()
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    dataset = copy.deepcopy(source.dataset)
    stored = np.clip(np.rint((values.astype(np.float64) - low) / (high - low) * STORED_MAX), 0, STORED_MAX)
    instance = generate_uid()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.file_meta.MediaStorageSOPInstanceUID = instance
    dataset.SOPInstanceUID = instance
    dataset.SeriesInstanceUID = generate_uid()
    dataset.SeriesNumber = int(dataset.get("SeriesNumber", 0) or 0) + 1000
    dataset.SeriesDescription = description[:64]
    dataset.DerivationDescription = description[:1024]
    dataset.ImageType = ["DERIVED", "SECONDARY"]
    for keyword in ("SmallestImagePixelValue", "LargestImagePixelValue", "PixelPaddingValue", "VOILUTSequence",
                    "ModalityLUTSequence", "WindowCenterWidthExplanation"):
        if keyword in dataset:
            delattr(dataset, keyword)
    dataset.Rows, dataset.Columns = int(values.shape[0]), int(values.shape[1])
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit, dataset.PixelRepresentation = 16, 16, 15, 0
    dataset.RescaleSlope = f"{(high - low) / STORED_MAX:.10g}"[:16]
    dataset.RescaleIntercept = f"{low:.10g}"[:16]
    dataset.RescaleType = unit[:64]
    dataset.WindowCenter = f"{(low + high) / 2:.6g}"
    dataset.WindowWidth = f"{high - low:.6g}"
    dataset.PixelData = stored.astype("<u2").tobytes()
    dataset["PixelData"].VR = "OW"
    try:
        with atomic_path(path) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset.save_as(tmp, enforce_file_format=True)
    except (OSError, ValueError, pydicom.errors.InvalidDicomError) as exc:
        raise EqdenoiseError(f"{path}: could not write DICOM output ({_first_line(exc)})") from None


def _first_line(exc: Exception) -> str:
    """First line of an exception message, trimmed for a one-line error."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line.split(". ")[0].rstrip(".")[:200]
