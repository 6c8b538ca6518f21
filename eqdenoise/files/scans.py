"""Images with physical units for bridges: DICOM and float TIFF carry them, 8/16-bit images are pre-windowed.

A bridge checkpoint stores a value range [low, high] (e.g. a CT window in HU) for its source and
its target. Physical values are mapped through that range to [0, 1]; integer images (PNG, 8/16-bit
TIFF, JPEG) are taken to be stored through that window already, 0 → low and the bit-depth peak → high.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EqdenoiseError
from .dicom import DICOM_SUFFIXES, DerivedLabels, DicomSlice, is_dicom, read_dicom, write_dicom
from .imageio import LoadedImage, check_output, image_files, read_image, write_image


@dataclass(frozen=True)
class ValueRange:
    """A linear window: ``low`` maps to 0 and ``high`` to 1 in the model's [0, 1] range."""

    unit: str
    low: float
    high: float

    @classmethod
    def from_config(cls, config: dict) -> ValueRange:
        return cls(unit=str(config.get("unit", "image")), low=float(config["low"]), high=float(config["high"]))

    def to_config(self) -> dict:
        return {"unit": self.unit, "low": self.low, "high": self.high}


def model_ranges(config: dict) -> tuple[ValueRange, ValueRange]:
    """A bridge checkpoint's source and target windows."""
    return ValueRange.from_config(config["source_range"]), ValueRange.from_config(config["data_range"])


@dataclass
class Scan:
    """One input file as values (C, H, W); ``physical`` when they are in real units rather than [0, 1]."""

    path: Path
    values: np.ndarray
    physical: bool
    image: LoadedImage | None = None
    dicom: DicomSlice | None = None

    @property
    def kind(self) -> str:
        return "DICOM" if self.dicom else self.image.format


def read_scan(path: Path) -> Scan:
    """Read DICOM (physical), float TIFF (physical) or an 8/16-bit image (windowed [0, 1])."""
    path = Path(path)
    if path.is_file() and is_dicom(path):
        dicom = read_dicom(path)
        return Scan(path=path, values=dicom.values, physical=True, dicom=dicom)
    image = read_image(path)
    if image.alpha is not None:
        raise EqdenoiseError(f"{path}: images with an alpha channel are not supported for translation")
    return Scan(path=path, values=image.pixels, physical=image.peak == 1.0, image=image)


def check_source_unit(scan: Scan, window: ValueRange) -> None:
    """Refuse a DICOM slice whose unit is not the one the model's source range is in (e.g. MR into a CT model)."""
    if scan.dicom is not None and window.unit != "image" and scan.dicom.unit != window.unit:
        raise EqdenoiseError(f"{scan.path}: the model expects {window.unit} values, this DICOM slice holds "
                             f"{scan.dicom.unit!r} ({scan.dicom.dataset.get('Modality', 'unknown modality')})")
    if scan.physical and window.unit == "image":
        raise EqdenoiseError(f"{scan.path}: {scan.kind} values are in physical units, but the model has no "
                             "window for them; give an 8/16-bit image")


def to_unit(scan: Scan, window: ValueRange) -> np.ndarray:
    """Values in the model's [0, 1] range: physical ones through ``window`` and clipped to it."""
    return window_to_unit(scan.values, window) if scan.physical else scan.values


def window_to_unit(values: np.ndarray, window: ValueRange) -> np.ndarray:
    """Physical values through ``window`` onto [0, 1], clipped to it (float32)."""
    return np.clip((values - window.low) / (window.high - window.low), 0.0, 1.0).astype(np.float32)


def from_unit(unit_values: np.ndarray, window: ValueRange) -> np.ndarray:
    """Physical values of [0, 1] model values under ``window``."""
    return (window.low + unit_values.astype(np.float64) * (window.high - window.low)).astype(np.float32)


def check_scan_output(source: Scan, path: Path, overwrite: bool) -> None:
    """The output rules of ``check_output``, and a DICOM result only under a DICOM name."""
    check_output(source.path, path, overwrite, None if source.dicom else source.image.format)
    if source.dicom is not None and Path(path).suffix.lower() not in DICOM_SUFFIXES:
        raise EqdenoiseError(f"{path}: the output keeps the input's format (DICOM); give it a .dcm extension")


def write_scan(source: Scan, unit_values: np.ndarray, path: Path, window: ValueRange, labels: DerivedLabels,
               overwrite: bool = False) -> None:
    """Write a result in the source's form: a derived DICOM series, float TIFF in physical units, or a windowed image."""
    path = Path(path)
    if source.dicom is not None:
        check_scan_output(source, path, overwrite)
        write_dicom(source.dicom, from_unit(unit_values[0], window), path, (window.low, window.high, window.unit),
                    labels, overwrite=overwrite)
    elif source.physical:
        write_image(source.image, from_unit(unit_values, window), path, overwrite=overwrite)
    else:
        write_image(source.image, np.clip(unit_values, 0.0, 1.0), path, overwrite=overwrite)


def scan_files(folder: Path) -> list[Path]:
    """Image and DICOM files directly inside a folder, sorted by name."""
    folder = Path(folder)
    dicoms = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in DICOM_SUFFIXES]
    return sorted(image_files(folder) + dicoms)


def paired_files(source_dir: Path, target_dir: Path) -> list[tuple[Path, Path]]:
    """Source/target pairs matched by file name without extension; unmatched or ambiguous names are errors."""
    for folder in (source_dir, target_dir):
        if not Path(folder).is_dir():
            raise EqdenoiseError(f"{folder}: no such folder")
    sources, targets = _by_stem(Path(source_dir)), _by_stem(Path(target_dir))
    if not sources:
        raise EqdenoiseError(f"{source_dir}: no images or DICOM files found to train on")
    lonely = sorted(set(sources) ^ set(targets))
    if lonely:
        shown = ", ".join(lonely[:5]) + (f" and {len(lonely) - 5} more" if len(lonely) > 5 else "")
        raise EqdenoiseError(f"{source_dir} and {target_dir}: no partner for {shown} "
                             "(pairs are matched by file name without extension)")
    return [(sources[stem], targets[stem]) for stem in sorted(sources)]


def _by_stem(folder: Path) -> dict[str, Path]:
    """Files of a folder keyed by name without extension, refusing two files with the same stem."""
    found: dict[str, Path] = {}
    for path in scan_files(folder):
        if path.stem in found:
            raise EqdenoiseError(f"{folder}: {found[path.stem].name} and {path.name} have the same name; "
                                 "pairs are matched by name without extension")
        found[path.stem] = path
    return found
