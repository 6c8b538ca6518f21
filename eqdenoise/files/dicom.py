"""DICOM slices through pydicom (the optional ``dicom`` extra): physical values in, a derived series out."""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EqdenoiseError
from .atomic import atomic_path
from .imageio import MAX_PIXELS
from .input_files import check_input_file

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


SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
MODALITY_CODES = {"PET": "PT", "PT": "PT", "CT": "CT", "MR": "MR", "MRI": "MR", "SPECT": "NM", "NM": "NM",
                  "US": "US", "CR": "CR", "DX": "DX", "MG": "MG", "XA": "XA"}
SOURCE_ONLY = ("SmallestImagePixelValue", "LargestImagePixelValue", "PixelPaddingValue", "VOILUTSequence",
               "ModalityLUTSequence", "WindowCenterWidthExplanation", "ReferencedImageSequence", "KVP",
               "XRayTubeCurrent", "ExposureTime", "Exposure", "ConvolutionKernel", "FilterType", "GeneratorPower",
               "FocalSpots", "DataCollectionDiameter", "ReconstructionDiameter", "DistanceSourceToDetector",
               "DistanceSourceToPatient", "GantryDetectorTilt", "RotationDirection", "CTDIvol", "ScanOptions",
               "ExposureModulationType", "ReconstructionAlgorithm", "ContrastBolusAgent")


@dataclass(frozen=True)
class DerivedLabels:
    """What a derived slice says it is: its modality's name (e.g. PET), a description, and the key that, with the
    source series, names its new series (the model and options, so that another run makes another series)."""

    modality: str
    description: str
    series_key: str

    @property
    def modality_code(self) -> str:
        """The DICOM Modality code of the name (PET → PT), OT for other."""
        return MODALITY_CODES.get(self.modality.strip().upper(), "OT")


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
    check_input_file(path, "DICOM")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = pydicom.dcmread(path)
    except Exception as exc:
        raise EqdenoiseError(f"{path}: not a readable DICOM file ({_first_line(exc)})") from None
    try:
        return _slice_of(dataset, path, apply_modality_lut)
    except (EqdenoiseError, MemoryError):
        raise
    except Exception as exc:
        raise EqdenoiseError(f"{path}: malformed DICOM header ({_first_line(exc)})") from None


def _slice_of(dataset, path: Path, apply_modality_lut) -> DicomSlice:
    """The checked slice of a parsed dataset; any malformed header field raises (the caller names the file)."""
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
    if stored.ndim != 2:
        raise EqdenoiseError(f"{path}: pixel data has shape {stored.shape}; a single gray slice is 2-D")
    values = np.asarray(apply_modality_lut(stored, dataset), dtype=np.float32)[None]
    if not np.isfinite(values).all():
        raise EqdenoiseError(f"{path}: image contains NaN or infinite values")
    modality = str(dataset.get("Modality", ""))
    rescaled = "RescaleSlope" in dataset and "RescaleIntercept" in dataset
    if modality == "CT" and not rescaled and "ModalityLUTSequence" not in dataset:
        raise EqdenoiseError(f"{path}: CT slice without RescaleSlope/RescaleIntercept (or a modality LUT): its stored "
                             "values are not known to be Hounsfield units; add the two tags (often 1 and -1024 for "
                             "unsigned storage) and run again")
    unit = "HU" if modality == "CT" and not dataset.get("RescaleType") else str(dataset.get("RescaleType", "stored value"))
    return DicomSlice(path=path, values=np.ascontiguousarray(values), unit=unit, dataset=dataset)


def write_dicom(source: DicomSlice, values: np.ndarray, path: Path, window: tuple[float, float, str],
                labels: DerivedLabels, overwrite: bool = False) -> None:
    """Write physical ``values`` (H, W) atomically as a derived secondary-capture image of the source slice.

    The patient, study and geometry (position, orientation, spacing, frame of reference) are the source's; the
    object is labelled as what it is (``labels``: modality, description, DERIVED image type, a reference to the
    source image) in a new series shared by every slice of the source series, with its own instance UID. Pixels
    are stored as 16-bit unsigned values with a rescale that maps 0..65535 onto the ``window`` (low, high, unit).
    """
    _pydicom()
    from pydicom.dataset import Dataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    low, high, unit = window
    dataset = copy.deepcopy(source.dataset)
    stored = np.clip(np.rint((values.astype(np.float64) - low) / (high - low) * STORED_MAX), 0, STORED_MAX)
    instance = generate_uid()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.file_meta.MediaStorageSOPInstanceUID = instance
    dataset.file_meta.MediaStorageSOPClassUID = SECONDARY_CAPTURE
    reference = Dataset()
    reference.ReferencedSOPClassUID = str(source.dataset.get("SOPClassUID", ""))
    reference.ReferencedSOPInstanceUID = str(source.dataset.get("SOPInstanceUID", ""))
    fresh = {
        "SOPClassUID": SECONDARY_CAPTURE, "SOPInstanceUID": instance, "Modality": labels.modality_code,
        "SeriesInstanceUID": generate_uid(entropy_srcs=[str(source.dataset.get("SeriesInstanceUID", source.path.parent)),
                                                        labels.series_key]),
        "SeriesNumber": _series_number(dataset) + 1000, "SeriesDescription": labels.description[:64],
        "DerivationDescription": labels.description[:1024], "ImageType": ["DERIVED", "SECONDARY"],
        "ConversionType": "WSD", "SecondaryCaptureDeviceManufacturer": "eqdenoise",
        "SourceImageSequence": [reference], "Rows": int(values.shape[0]), "Columns": int(values.shape[1]),
        "SamplesPerPixel": 1, "PhotometricInterpretation": "MONOCHROME2", "BitsAllocated": 16, "BitsStored": 16,
        "HighBit": 15, "PixelRepresentation": 0, "RescaleSlope": f"{(high - low) / STORED_MAX:.10g}"[:16],
        "RescaleIntercept": f"{low:.10g}"[:16], "RescaleType": unit[:64], "WindowCenter": f"{(low + high) / 2:.6g}",
        "WindowWidth": f"{high - low:.6g}", "PixelData": stored.astype("<u2").tobytes(),
    }
    for keyword in (*fresh, *SOURCE_ONLY):
        if keyword in dataset:
            delattr(dataset, keyword)
    for keyword, value in fresh.items():
        setattr(dataset, keyword, value)
    dataset["PixelData"].VR = "OW"
    try:
        with atomic_path(path, replace=overwrite) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset.save_as(tmp, enforce_file_format=True)
    except (EqdenoiseError, MemoryError):
        raise
    except Exception as exc:
        raise EqdenoiseError(f"{path}: could not write DICOM output ({_first_line(exc)})") from None


def _series_number(dataset) -> int:
    """The source's series number, or 0 when it is missing or malformed."""
    try:
        return int(dataset.get("SeriesNumber", 0) or 0)
    except (TypeError, ValueError, OverflowError):
        return 0


def _first_line(exc: Exception) -> str:
    """First line of an exception message, trimmed for a one-line error."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line.split(". ")[0].rstrip(".")[:200]
