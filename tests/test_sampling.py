"""Unconditional sampling: turning the initial noise turns the sample, for every method; the API and the CLI."""

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import eqdenoise
from eqdenoise.cli import app
from eqdenoise.errors import EqdenoiseError
from eqdenoise.frames.groups import GROUPS
from eqdenoise.tasks.sampling import SampleOptions, initial_noise, sample

runner = CliRunner()


def orbit_error(model, noise, options) -> float:
    reference = sample(model, noise, options)
    return max(float(np.abs(sample(model, g.apply(noise), options) - g.apply(reference)).max()) for g in GROUPS["d4"])


@pytest.mark.parametrize("method", ["canon", "fa"])
@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_turning_the_noise_turns_the_sample_bit_for_bit(tiny_gray, method, eta):
    noise = initial_noise(tiny_gray, 8, 12, seed=3)
    assert orbit_error(tiny_gray, noise, SampleOptions(method=method, steps=4, eta=eta)) == 0.0


def test_wt_turns_it_to_float_rounding_and_the_ablations_do_not(tiny_gray, tiny_wt):
    noise = initial_noise(tiny_wt, 12, 8, seed=4)
    assert orbit_error(tiny_wt, noise, SampleOptions(method="wt", steps=4, eta=1.0)) <= 1e-5
    assert orbit_error(tiny_gray, noise, SampleOptions(method="canon", steps=4, eta=1.0, noise_frame="input")) > 1e-3
    assert orbit_error(tiny_gray, noise, SampleOptions(method="none", steps=4)) > 1e-3
    assert orbit_error(tiny_wt, noise, SampleOptions(method="none", steps=4, eta=1.0)) <= 1e-5
    assert orbit_error(tiny_wt, noise, SampleOptions(method="none", steps=4, eta=1.0, noise_frame="input")) > 1e-3


def test_samples_are_in_range_seeded_and_different(tiny_gray):
    a = sample(tiny_gray, initial_noise(tiny_gray, 8, 8, seed=0), SampleOptions(steps=3, eta=1.0))
    b = sample(tiny_gray, initial_noise(tiny_gray, 8, 8, seed=0), SampleOptions(steps=3, eta=1.0))
    c = sample(tiny_gray, initial_noise(tiny_gray, 8, 8, seed=1), SampleOptions(steps=3, eta=1.0))
    assert a.shape == (1, 8, 8) and a.min() >= 0.0 and a.max() <= 1.0
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_bad_sizes_bridges_and_noise_are_refused(tiny_gray, tiny_bridge):
    with pytest.raises(EqdenoiseError, match="multiple of the network's stride 2"):
        sample(tiny_gray, initial_noise(tiny_gray, 7, 8, seed=0), SampleOptions())
    with pytest.raises(EqdenoiseError, match="samples come from a denoiser prior"):
        sample(tiny_bridge, np.zeros((1, 8, 8), np.float32), SampleOptions())
    with pytest.raises(EqdenoiseError, match="NaN"):
        sample(tiny_gray, np.full((1, 8, 8), np.nan, np.float32), SampleOptions())
    with pytest.raises(EqdenoiseError, match="initial noise must be \\(1, H, W\\)"):
        sample(tiny_gray, np.zeros((3, 8, 8), np.float32), SampleOptions())


def test_the_api_returns_arrays_and_takes_an_initial_noise(tiny_gray, tiny_rgb):
    gray = eqdenoise.sample(tiny_gray, n=2, size=(8, 10), steps=2, seed=5)
    assert [a.shape for a in gray] == [(8, 10), (8, 10)] and gray[0].dtype == np.float32
    assert not np.array_equal(gray[0], gray[1])
    noise = np.moveaxis(initial_noise(tiny_rgb, 8, 8, seed=2), 0, -1)
    (rgb,) = eqdenoise.sample(tiny_rgb, noise=noise, steps=2)
    (turned,) = eqdenoise.sample(tiny_rgb, noise=np.rot90(noise).copy(), steps=2)
    assert rgb.shape == (8, 8, 3) and np.array_equal(turned, np.rot90(rgb))


def test_the_command_writes_pngs_and_keeps_existing_ones(tmp_path, tiny_gray_path):
    out = tmp_path / "samples"
    args = ["sample", "--model", str(tiny_gray_path), "-n", "2", "--size", "8", "12", "--steps", "2", "-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["sample-0000.png", "sample-0001.png"]
    assert np.asarray(Image.open(out / "sample-0000.png")).shape == (8, 12)
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "output exists" in again.output and "Traceback" not in again.output
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0
    missing = runner.invoke(app, ["sample", "--model", str(tmp_path / "none.safetensors"), "-o", str(tmp_path / "b")])
    assert missing.exit_code == 1 and "checkpoint not found" in missing.output
