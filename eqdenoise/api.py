"""The Python API: arrays in and arrays out with the rules of files, and the same calls on files.

Arrays are H×W or H×W×C (C = 1 or 3) of uint8, uint16 or float32; a result has the input's shape and
dtype. Integer arrays are read over their full range (0..255, 0..65535) and rounded back onto it;
float32 arrays are taken as [0, 1] for denoising and, for a bridge, as physical values in its source
unit (e.g. HU), returned in its target unit. The command line is a thin layer over these functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import EqdenoiseError, UsageError
from .names import DEFAULT_TRANSFER_STEPS
from .tasks.methods import DEFAULT_METHOD

if TYPE_CHECKING:
    from .files.batch import BatchSummary, FileOutcome
    from .frames.equivariance_check import ElementReport
    from .nets.checkpoint import Model
    from .training.train import TrainSettings

ProgressFn = Callable[[int, int], None]
PEAKS = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0, np.dtype(np.float32): 1.0}
DEFAULT_BRIDGE = "ct2pet-d4"


def load_model(name_or_path: str | Path, task: str | None = None) -> Model:
    """A shipped model by name (its SHA-256 checked) or a checkpoint by path; ``task`` ("denoise", "bridge") if required."""
    from .nets.registry import resolve_model

    return resolve_model(str(name_or_path), task=task)


_SHIPPED: dict[tuple, Model] = {}


def _shipped(name: str, task: str) -> Model:
    """A shipped default model, loaded once per process while its file stays the same (chosen per image)."""
    from .nets.registry import manifest, models_dir

    files = [models_dir() / entry["file"] for entry in manifest() if entry["name"] == name]
    stat = files[0].stat() if files and files[0].is_file() else None
    key = (str(files[0]) if files else name, task, stat and (stat.st_mtime_ns, stat.st_size))
    if stat is None:
        return load_model(name, task)
    if key not in _SHIPPED:
        if len(_SHIPPED) >= 4:
            _SHIPPED.pop(next(iter(_SHIPPED)))
        _SHIPPED[key] = load_model(name, task)
    return _SHIPPED[key]


def _model(model: Model | str | Path | None, task: str, default: str) -> Model:
    """``model`` as a loaded checkpoint of ``task``: itself, loaded by name or path, or the shipped ``default``."""
    from .nets.checkpoint import Model

    if isinstance(model, Model):
        if model.task != task:
            raise EqdenoiseError(f"{model.path}: this is a {model.task!r} checkpoint, not a {task} one")
        return model
    return _shipped(default, task) if model is None else load_model(model, task)


def image_planes(image: np.ndarray) -> tuple[np.ndarray, float]:
    """An H×W or H×W×C array as (C, H, W) float32 over [0, 1] of its dtype's range, and that range's peak."""
    array = np.asarray(image)
    if array.dtype not in PEAKS:
        raise EqdenoiseError(f"arrays of {array.dtype} are not supported; give uint8, uint16 or float32")
    if array.ndim == 2:
        planes = array[None]
    elif array.ndim == 3 and array.shape[2] in (1, 3):
        planes = array.transpose(2, 0, 1)
    else:
        raise EqdenoiseError(f"an image array is H×W or H×W×C with C = 1 or 3, got shape {array.shape}")
    peak = PEAKS[array.dtype]
    pixels = np.ascontiguousarray(planes, dtype=np.float32) / np.float32(peak)
    if not np.isfinite(pixels).all():
        raise EqdenoiseError("image contains NaN or infinite values")
    return pixels, peak


def image_array(pixels: np.ndarray, peak: float, like: np.ndarray) -> np.ndarray:
    """(C, H, W) values over [0, 1] back in the shape of ``like`` and the dtype of ``peak`` (rounded for integers)."""
    from .files.imageio import quantize

    values = quantize(pixels, peak)
    return np.ascontiguousarray(values[0] if np.ndim(like) == 2 else values.transpose(1, 2, 0))


def denoise_options(*, sigma: float | str | None = None, strength: float | None = None, method: str = DEFAULT_METHOD,
                    group: str | None = None, steps: int = 1, eta: float = 0.0, seed: int = 0, tile: int | None = None,
                    precision: str = "fp32", noise_frame: str = "canonical", device: str = "auto"):
    """Checked ``DenoiseOptions``: σ on the 0–255 scale, "auto" (the default without ``strength``), or a strength."""
    from .tasks.restoration import DenoiseOptions

    options = DenoiseOptions(sigma=sigma, strength=strength, steps=steps, eta=eta, seed=seed, method=method,
                             group=group, tile=tile, precision=precision, noise_frame=noise_frame, device=device)
    return options


def transfer_options(*, method: str = DEFAULT_METHOD, group: str | None = None, steps: int = DEFAULT_TRANSFER_STEPS,
                     eta: float = 0.0, seed: int = 0, tile: int | None = None, precision: str = "fp32",
                     noise_frame: str = "canonical", device: str = "auto"):
    """Checked ``TransferOptions``."""
    from .tasks.translation import TransferOptions

    options = TransferOptions(steps=steps, eta=eta, seed=seed, method=method, group=group, tile=tile,
                              precision=precision, noise_frame=noise_frame, device=device)
    return options


def _resolved(build: Callable, keywords: dict):
    """The options object a call was given as ``options=`` (then with no other option keyword), else the one its
    keywords make; either way checked once, when it was made."""
    given = keywords.pop("options", None)
    if given is None:
        return build(**keywords)
    if keywords:
        raise UsageError(f"give options= or the option keywords ({', '.join(keywords)}), not both")
    return given


def default_denoiser_for(channels: int) -> str:
    """Name of the shipped denoiser an image of ``channels`` gets by default."""
    from .nets.registry import default_denoiser

    return default_denoiser(channels)


def denoise(image: np.ndarray, *, model: Model | str | Path | None = None, progress: ProgressFn | None = None,
            **options) -> np.ndarray:
    """Denoise or restore one image array; exactly equivariant to rotations and mirrors (``method`` canon or fa).

    ``options`` are those of ``denoise_options``: sigma, strength, method, group, steps, eta, seed, tile, precision,
    noise_frame.
    """
    from .tasks.restoration import restore

    pixels, peak = image_planes(image)
    checked = _resolved(denoise_options, options)
    loaded = _model(model, "denoise", default_denoiser_for(pixels.shape[0]))
    return image_array(restore(loaded, pixels, checked, progress=progress).pixels, peak, image)


def transfer(image: np.ndarray, *, model: Model | str | Path | None = None, progress: ProgressFn | None = None,
             **options) -> np.ndarray:
    """Translate one source array with a bridge (default ct2pet-d4); exactly equivariant for ``canon`` and ``fa``.

    uint8/uint16 arrays are taken as windowed to the model's source range and come back windowed to its
    target range; float32 arrays hold physical source values and come back in the target's unit.
    """
    from .files.scans import from_unit, model_ranges
    from .tasks.translation import translate

    pixels, peak = image_planes(image)
    checked = _resolved(transfer_options, options)
    loaded = _model(model, "bridge", DEFAULT_BRIDGE)
    source_range, target_range = model_ranges(loaded.config)
    result = translate(loaded, _source_unit_values(pixels, peak, source_range), checked, progress=progress)
    if peak == 1.0:
        return image_array(from_unit(result, target_range), peak, image)
    return image_array(np.clip(result, 0.0, 1.0), peak, image)


def sample_options(*, method: str = DEFAULT_METHOD, group: str | None = None, steps: int = 50, eta: float = 0.0,
                   seed: int = 0, tile: int | None = None, precision: str = "fp32", noise_frame: str = "canonical",
                   device: str = "auto"):
    """Checked ``SampleOptions`` (50 DDIM steps by default)."""
    from .tasks.sampling import SampleOptions

    options = SampleOptions(steps=steps, eta=eta, seed=seed, method=method, group=group, tile=tile,
                            precision=precision, noise_frame=noise_frame, device=device)
    return options


def sample(model: Model | str | Path, *, n: int = 1, size: tuple[int, int] | None = None, noise: np.ndarray | None = None,
           progress: ProgressFn | None = None, **options) -> list[np.ndarray]:
    """``n`` unconditional samples of a denoiser prior as float32 arrays over [0, 1], H×W (gray) or H×W×3.

    Sample i starts from ``initial_noise`` of seed ``seed + i`` at ``size`` (H, W; default: the model's
    training patch), or from ``noise`` (one H×W or H×W×C float array; then ``n`` is 1). Turning the
    initial noise turns the sample (exactly for ``method`` canon and fa, to float rounding for wt).
    ``options`` are those of ``sample_options``: method, group, steps, eta, seed, tile, precision, noise_frame.
    """
    from .tasks.pipeline import check_seed
    from .tasks.sampling import check_sample_size, initial_noise
    from .tasks.sampling import sample as sample_one

    checked = _resolved(sample_options, options)
    loaded = _model(model, "denoise", "")
    if noise is not None:
        if n != 1:
            raise EqdenoiseError("give n = 1 with an initial noise array")
        starts = [noise[None] if noise.ndim == 2 else np.moveaxis(noise, -1, 0)]
    else:
        if n < 1:
            raise UsageError(f"n must be at least 1, got {n}")
        check_seed(checked.seed, n)
        height, width = size or (default_sample_side(loaded),) * 2
        check_sample_size(loaded, height, width)
        starts = [initial_noise(loaded, height, width, checked.seed + i) for i in range(n)]
    results = []
    for i, start in enumerate(starts):
        one = None if progress is None else (lambda done, total, i=i: progress(i * total + done, len(starts) * total))
        pixels = sample_one(loaded, start, replace(checked, seed=checked.seed + i), progress=one)
        results.append(pixels[0] if pixels.shape[0] == 1 else np.moveaxis(pixels, 0, -1))
    return results


def default_sample_side(model: Model) -> int:
    """Side of a sample when none is given: the model's training patch, else 64."""
    settings = model.config.get("training", {}).get("settings", {})
    return int(settings.get("patch", 64)) if isinstance(settings, dict) else 64


def sample_files(model: Model | str | Path, folder: str | Path, *, n: int = 1, size: tuple[int, int] | None = None,
                 overwrite: bool = False, progress: ProgressFn | None = None, **options) -> list[Path]:
    """Write ``n`` samples as 8-bit PNGs ``sample-SEED.png`` into ``folder`` (made if missing), each atomically."""
    import os

    from PIL import Image

    from .files.atomic import atomic_path
    from .files.input_files import check_path_text

    check_path_text(folder)
    folder = Path(folder)
    checked = _resolved(sample_options, options)
    seed = checked.seed
    targets = [folder / f"sample-{seed + i:04d}.png" for i in range(n)]
    existing = [str(t) for t in targets if os.path.lexists(t) and not overwrite]
    if existing:
        raise EqdenoiseError(f"{existing[0]}: output exists (use --overwrite to replace it)")
    if folder.exists() and not folder.is_dir():
        raise EqdenoiseError(f"{folder}: not a folder")
    images = sample(model, n=n, size=size, progress=progress, options=checked)
    folder.mkdir(parents=True, exist_ok=True)
    for target, pixels in zip(targets, images, strict=True):
        with atomic_path(target, replace=overwrite) as tmp:
            Image.fromarray(np.clip(np.rint(pixels * 255.0), 0, 255).astype(np.uint8)).save(tmp, format="PNG")
    return targets


def _source_unit_values(pixels: np.ndarray, peak: float, source_range) -> np.ndarray:
    """A bridge's [0, 1] source values of array planes: float32 ones are physical, through the model's window."""
    from .files.scans import window_to_unit

    if peak != 1.0:
        return pixels
    if source_range.unit == "image":
        raise EqdenoiseError("float32 arrays hold physical values, but the model has no window for them; "
                             "give a uint8 or uint16 array")
    return window_to_unit(pixels, source_range)


def denoise_file(source: str | Path, target: str | Path, *, model: Model | str | Path | None = None,
                 overwrite: bool = False, progress: ProgressFn | None = None, **options) -> list[float | None]:
    """Denoise an image file (every page of a TIFF stack) into ``target`` in the same format, written atomically.

    The input is never overwritten; an existing ``target`` only with ``overwrite``. Each page gets ``model`` or
    the shipped default for its channels. Returns the noise level used per page (None with a strength).
    """
    from .files.imageio import check_output, read_pages, write_pages
    from .tasks.restoration import restore

    source, target = Path(source), Path(target)
    checked = _resolved(denoise_options, options)
    pages = read_pages(source)
    check_output(source, target, overwrite, pages[0].format)
    results = []
    for index, page in enumerate(pages):
        loaded = _model(model, "denoise", default_denoiser_for(page.pixels.shape[0]))
        page_progress = None if progress is None else (
            lambda done, total, i=index: progress(i * total + done, len(pages) * total))
        results.append(restore(loaded, page.pixels, checked, progress=page_progress, noise_in_luma=page.noise_in_luma))
    write_pages(pages, [result.pixels for result in results], target, overwrite=overwrite)
    return [result.sigma_255 for result in results]


def transfer_file(source: str | Path, target: str | Path, *, model: Model | str | Path | None = None,
                  overwrite: bool = False, progress: ProgressFn | None = None, **options) -> None:
    """Translate a DICOM slice or image file into ``target`` in the same form (DICOM, physical float TIFF, windowed)."""
    from .files.dicom import DerivedLabels
    from .files.scans import check_scan_output, check_source_unit, model_ranges, read_scan, to_unit, write_scan
    from .tasks.translation import translate

    source, target = Path(source), Path(target)
    checked = _resolved(transfer_options, options)
    loaded = _model(model, "bridge", DEFAULT_BRIDGE)
    source_range, target_range = model_ranges(loaded.config)
    scan = read_scan(source)
    check_scan_output(scan, target, overwrite)
    check_source_unit(scan, source_range)
    result = translate(loaded, to_unit(scan, source_range), checked, progress=progress)
    modalities = loaded.config.get("modalities", {})
    target_modality = str(modalities.get("target", "target"))
    description = (f"simulated {target_modality} from {modalities.get('source', 'source')} "
                   f"(eqdenoise {Path(str(loaded.path)).stem})")
    labels = DerivedLabels(modality=target_modality, description=description,
                           series_key=f"{loaded.path}|{checked}")
    write_scan(scan, result, target, target_range, labels, overwrite=overwrite)


@dataclass
class VerifyReport:
    """How far f(g·x) is from g·f(x) for every element g of the group, in the output's units."""

    task: str
    model: str
    method: str
    group: str
    tolerance: float
    unit: str
    elements: list[ElementReport] = field(default_factory=list)
    reason: str = ""

    @property
    def passed(self) -> bool:
        """Whether every element is within the tolerance."""
        return all(report.max_abs_diff <= self.tolerance for report in self.elements)

    def to_dict(self) -> dict:
        """JSON-ready form, as ``eqdenoise verify --json`` prints it."""
        return {"task": self.task, "model": self.model, "method": self.method, "group": self.group,
                "tolerance": self.tolerance, "reason": self.reason, "passed": self.passed,
                "elements": [r.to_dict() for r in self.elements]}


def verify(image: np.ndarray | str | Path, *, task: str = "denoise", model: Model | str | Path | None = None,
           tolerance: float | None = None, progress: ProgressFn | None = None, **options) -> VerifyReport:
    """Run the task's pipeline on an image (array or file) and on each of its rotations/mirrors; compare.

    Differences are in the image's levels (0–255 for 8-bit), in value for float images, and in the target's
    physical unit for a bridge run on physical values. ``options`` are the task's (see ``denoise_options``).
    ``tolerance`` None takes what the method promises on this model (0 for canon and fa; float rounding,
    10⁻⁵ of the output range per sampler step, for a weight-tied network), and the report says why.
    """
    from functools import partial

    from .devices import device_note
    from .frames.equivariance_check import check_equivariance
    from .tasks.pipeline import resolve_group
    from .tasks.translation import translate

    if task == "denoise":
        pixels, peak, noise_in_luma = _verify_pixels(image)
        checked = _resolved(denoise_options, options)
        default = default_denoiser_for(pixels.shape[0])
        loaded = _model(model, "denoise", default)
        pipeline = partial(_restored_pixels, loaded, checked, noise_in_luma)
        unit = "levels" if peak > 1 else "value"
    elif task == "transfer":
        checked = _resolved(transfer_options, options)
        default = DEFAULT_BRIDGE
        loaded = _model(model, "bridge", default)
        pixels, peak, unit = _verify_scan(image, loaded)
        pipeline = partial(translate, loaded, options=checked)
    else:
        raise EqdenoiseError(f"unknown task {task!r}; choose denoise or transfer")
    group = resolve_group(loaded, checked.group, checked.method)
    fraction, reason = checked.chosen_method.promise(loaded, checked.steps, checked.noise_frame)
    reason += device_note(checked.device)
    if tolerance is None:
        tolerance = fraction * peak
    else:
        reason = f"given; the method promises {fraction * peak:g} ({reason})"
    reports = check_equivariance(pipeline, pixels, group, peak, progress=progress)
    name = default if model is None else str(getattr(model, "path", model))
    return VerifyReport(task=task, model=name, method=checked.chosen_method.name, group=group.name, tolerance=tolerance,
                        unit=unit, elements=reports, reason=reason)


def _restored_pixels(model: Model, options, noise_in_luma: bool, pixels: np.ndarray) -> np.ndarray:
    """The denoise pipeline as a function of [0, 1] pixels only."""
    from .tasks.restoration import restore

    return restore(model, pixels, options, noise_in_luma=noise_in_luma).pixels


def _verify_pixels(image: np.ndarray | str | Path) -> tuple[np.ndarray, float, bool]:
    """[0, 1] planes and peak of an array or of an image file's only page, and whether its noise is in the luma."""
    if isinstance(image, (str, Path)):
        from .files.imageio import read_image

        loaded = read_image(Path(image))
        return loaded.pixels, loaded.peak, loaded.noise_in_luma
    return (*image_planes(image), False)


def _verify_scan(image: np.ndarray | str | Path, model: Model) -> tuple[np.ndarray, float, str]:
    """A bridge's [0, 1] source values of an array or file, the scale of its differences, and their unit."""
    from .files.scans import check_source_unit, model_ranges, read_scan, to_unit

    source_range, target_range = model_ranges(model.config)
    if not isinstance(image, (str, Path)):
        pixels, peak = image_planes(image)
        unit_values = _source_unit_values(pixels, peak, source_range)
        if peak != 1.0:
            return unit_values, peak, "levels"
        return unit_values, target_range.high - target_range.low, target_range.unit
    scan = read_scan(Path(image))
    check_source_unit(scan, source_range)
    pixels = to_unit(scan, source_range)
    if scan.physical and scan.dicom is None:
        return pixels, target_range.high - target_range.low, target_range.unit
    return pixels, (65535.0 if scan.dicom else scan.image.peak), "levels"


TrainProgressFn = Callable[[int, int, float], None]


@dataclass
class Training:
    """A training run resolved from its options once (a resumed one from its state's own settings), ready to run."""

    settings: TrainSettings
    resume: bool = False
    overwrite: bool = False
    state: Path | None = None
    minutes: float | None = None
    stop_at: int | None = None

    def run(self, progress: TrainProgressFn | None = None) -> dict:
        """Train, writing the checkpoint, its resumable state and loss log as it goes; returns the training record.
        ``progress(step, total, loss)`` is called after each step."""
        from .training.train import run_training

        return run_training(self.settings, resume=self.resume, minutes=self.minutes, state=self.state,
                            pause_at=self.stop_at, overwrite=self.overwrite, progress=progress)


def denoiser_training(data: str | Path, out: str | Path, *, resume: bool = False, override: bool = False,
                      overwrite: bool = False, state: str | Path | None = None, minutes: float | None = None,
                      stop_at: int | None = None, **options) -> Training:
    """The run ``train_denoiser`` makes, resolved but not started (its ``settings`` are final)."""
    from .training.train_options import denoiser_settings

    settings, given = denoiser_settings(data, out, options)
    return _training(settings, given, resume, override, overwrite, state, minutes, stop_at)


def bridge_training(source: str | Path, target: str | Path, out: str | Path, *, resume: bool = False,
                    override: bool = False, overwrite: bool = False, state: str | Path | None = None,
                    minutes: float | None = None, stop_at: int | None = None, **options) -> Training:
    """The run ``train_bridge`` makes, resolved but not started (its ``settings`` are final)."""
    from .training.train_options import bridge_settings

    settings, given = bridge_settings(source, target, out, options)
    return _training(settings, given, resume, override, overwrite, state, minutes, stop_at)


def train_denoiser(data: str | Path, out: str | Path, *, progress: TrainProgressFn | None = None, **keywords) -> dict:
    """Train a noise-conditional denoiser on a folder of images into the checkpoint ``out``; returns its record.

    ``keywords`` are the options of ``eqdenoise train denoiser`` with their names and defaults
    (``train_options.DENOISER_DEFAULTS``), plus ``resume``, ``override``, ``overwrite``, ``state``, ``minutes`` and
    ``stop_at``. With ``resume`` the run continues from its state's own settings; an option given again must match
    the saved one unless ``override``.
    """
    return denoiser_training(data, out, **keywords).run(progress)


def train_bridge(source: str | Path, target: str | Path, out: str | Path, *, progress: TrainProgressFn | None = None,
                 **keywords) -> dict:
    """Train a diffusion bridge on source/target pairs matched by file name; returns its record (options as
    ``eqdenoise train bridge``'s, ``train_options.BRIDGE_DEFAULTS``; resume as ``train_denoiser``)."""
    return bridge_training(source, target, out, **keywords).run(progress)


def _training(settings: TrainSettings, given: dict, resume: bool, override: bool, overwrite: bool,
              state: str | Path | None, minutes: float | None, stop_at: int | None) -> Training:
    """A ``Training`` whose settings are, on ``resume``, the state's own with the given ones checked against them."""
    from .training.train import resume_settings, state_path

    state = Path(state) if state else None
    if resume:
        settings = resume_settings(state or state_path(Path(settings.out)), given, settings.out, override)
    return Training(settings, resume=resume, overwrite=overwrite, state=state, minutes=minutes, stop_at=stop_at)


FileProgressFn = Callable[[Path, int, int], None]


@dataclass
class FileBatch:
    """A command's files and where each result goes, resolved and checked before any file is touched."""

    inputs: list[Path]
    targets: list[Path]
    process: Callable[[Path, Path, ProgressFn | None], object]
    skip_existing: bool = False
    shard: tuple[int, int] = (1, 1)

    @property
    def size(self) -> int:
        """Files this process handles: its shard of the batch."""
        from .files.shards import shard_indices

        return len(shard_indices(len(self.inputs), self.shard))

    def run(self, on_file: Callable[[FileOutcome], None] | None = None,
            progress: FileProgressFn | None = None) -> BatchSummary:
        """Process each file of this shard; a failure is one outcome and the others go on. ``on_file`` sees each
        outcome (a done one carries what the task returned: the σ per page for denoise); ``progress(source, done,
        total)`` follows the sampler steps of the file in work."""
        from .files.batch import run_batch

        def process(source: Path, target: Path) -> object:
            steps = None if progress is None else (lambda done, total: progress(source, done, total))
            return self.process(source, target, steps)

        return run_batch(self.inputs, self.targets, process, skip_existing=self.skip_existing, shard=self.shard,
                         on_file=on_file)


def denoise_batch(inputs: list[str | Path], output: str | Path | None = None, *, model: str | Path | None = None,
                  overwrite: bool = False, skip_existing: bool = False, shard: str | None = None,
                  **options) -> FileBatch:
    """``eqdenoise denoise``'s batch: image files and folders in; NAME-denoised.EXT beside a file, FOLDER-denoised/ for
    a folder's files, or ``output`` (a file for one input, else a folder). Options, the model (loaded once) and the
    files are checked here; ``run`` processes them, each page with ``model`` or the default for its channels."""
    from .files.imageio import image_files

    checked = _resolved(denoise_options, options)
    chosen = _checked_model(model, "denoise", checked) if model else None
    return _file_batch(inputs, output, "denoised", image_files, "PNG, JPEG or TIFF", overwrite, skip_existing, shard,
                       lambda source, target, steps: denoise_file(source, target, model=chosen, overwrite=overwrite,
                                                                  progress=steps, options=checked))


def transfer_batch(inputs: list[str | Path], output: str | Path | None = None, *, model: str | Path = DEFAULT_BRIDGE,
                   overwrite: bool = False, skip_existing: bool = False, shard: str | None = None,
                   **options) -> FileBatch:
    """``eqdenoise transfer``'s batch: DICOM slices and images, or folders of them, in; NAME-TARGET.EXT (e.g.
    slice-pet.dcm) or ``output`` out, in the source's form. Checked as ``denoise_batch``."""
    from .files.scans import scan_files

    checked = _resolved(transfer_options, options)
    loaded = _checked_model(model, "bridge", checked)
    tag = str(loaded.config["modalities"].get("target", "target")).lower().replace(" ", "-")
    return _file_batch(inputs, output, tag, scan_files, "DICOM, PNG, JPEG or TIFF", overwrite, skip_existing, shard,
                       lambda source, target, steps: transfer_file(source, target, model=loaded, overwrite=overwrite,
                                                                   progress=steps, options=checked))


def _checked_model(name: Model | str | Path, task: str, options) -> Model:
    """The model a batch was given, loaded once and checked against the chosen group and method before any file."""
    from .tasks.pipeline import resolve_group

    loaded = _model(name, task, "")
    resolve_group(loaded, options.group, options.method)
    return loaded


def _file_batch(inputs, output, tag: str, files_in, kind: str, overwrite: bool, skip_existing: bool,
                shard: str | None, process) -> FileBatch:
    """Expand folders, name the outputs and take this process's shard, after the option checks of every batch."""
    from .files.batch import expand_inputs, output_paths
    from .files.shards import resolve_shard

    if overwrite and skip_existing:
        raise UsageError("give either --overwrite or --skip-existing, not both")
    shard_of = resolve_shard(shard)
    items = expand_inputs([Path(p) for p in inputs], files_in, kind)
    targets = output_paths(items, output, tag)
    return FileBatch([item.path for item in items], targets, process, skip_existing, shard_of)


def slow_precision(precision: str) -> bool:
    """Whether ``precision`` runs several times slower than fp32 on this CPU (bf16 without AMX or AVX512-BF16)."""
    from .nets.precision import has_fast_bf16

    return precision == "bf16" and not has_fast_bf16()


def shipped_models() -> tuple[Path, list[dict]]:
    """The folder of the shipped models and their manifest entries (name, task, group, channels, ...)."""
    from .nets.registry import manifest, models_dir

    return models_dir(), manifest()

