"""Data-parallel training under torchrun: two CPU processes train the model one process trains on the same batch."""

import os
import subprocess
import sys

import pytest
import torch
from typer.testing import CliRunner

from eqdenoise.cli import app
from eqdenoise.nets.checkpoint import load_model
from eqdenoise.training.distributed import my_rows

pytestmark = pytest.mark.slow
TOLERANCE = 1e-5

COMMON = ["train", "denoiser", "--width", "4", "--level", "1", "--level", "2", "--batch", "4", "--patch", "16",
          "--warmup", "1", "--save-every", "1", "--seed", "3"]


def torchrun(processes: int, *args: str) -> subprocess.CompletedProcess:
    """``eqdenoise ARGS`` under ``torchrun --standalone --nproc-per-node PROCESSES`` (gloo on the CPU)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
               "-m", "eqdenoise", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def failure(result: subprocess.CompletedProcess) -> str:
    """What a failed torchrun printed: the workers' own output first (the launcher's report of it follows)."""
    return result.stdout[-2000:] + "\n" + result.stderr[:6000]


def weights(path) -> list[torch.Tensor]:
    return [p.detach() for p in load_model(path).network.parameters()]


def assert_same_model(a, b) -> None:
    worst = max(float((x - y).abs().max()) for x, y in zip(weights(a), weights(b), strict=True))
    assert worst <= TOLERANCE, worst


def test_two_processes_train_what_one_process_trains_on_the_whole_batch(folder, tmp_path):
    one, two = tmp_path / "one.safetensors", tmp_path / "two.safetensors"
    single = CliRunner().invoke(app, [*COMMON, str(folder), "--out", str(one), "--steps", "4"])
    assert single.exit_code == 0, single.output
    double = torchrun(2, *COMMON, str(folder), "--out", str(two), "--steps", "4")
    assert double.returncode == 0, failure(double)
    assert_same_model(one, two)
    assert load_model(two).config["training"]["processes"] == 2
    assert sum(1 for line in (tmp_path / "two.log.jsonl").read_text().splitlines()) == 4
    assert double.stdout.count("wrote ") == 1
    logged = [line.split('"loss": ')[1].split(",")[0] for line in (tmp_path / "one.log.jsonl").read_text().splitlines()]
    logged_two = [line.split('"loss": ')[1].split(",")[0] for line in (tmp_path / "two.log.jsonl").read_text().splitlines()]
    assert [round(float(a), 4) for a in logged] == [round(float(b), 4) for b in logged_two]


def test_two_processes_distil_what_one_process_distils(folder, tmp_path, tiny_gray_path):
    one, two = tmp_path / "one.safetensors", tmp_path / "two.safetensors"
    teacher = ["--teacher", str(tiny_gray_path), "--teacher-weight", "0.75", "--teacher-fa"]
    single = CliRunner().invoke(app, [*COMMON, *teacher, str(folder), "--out", str(one), "--steps", "3"])
    assert single.exit_code == 0, single.output
    double = torchrun(2, *COMMON, *teacher, str(folder), "--out", str(two), "--steps", "3")
    assert double.returncode == 0, failure(double)
    assert_same_model(one, two)


def test_a_run_resumes_with_another_number_of_processes(folder, tmp_path):
    straight, switched = tmp_path / "straight.safetensors", tmp_path / "switched.safetensors"
    assert CliRunner().invoke(app, [*COMMON, str(folder), "--out", str(straight), "--steps", "4"]).exit_code == 0
    first = torchrun(2, *COMMON, str(folder), "--out", str(switched), "--steps", "4", "--stop-at", "2")
    assert first.returncode == 0, failure(first)
    rest = CliRunner().invoke(app, ["train", "denoiser", str(folder), "--out", str(switched), "--resume"])
    assert rest.exit_code == 0, rest.output
    assert_same_model(straight, switched)


def test_a_batch_that_does_not_split_evenly_is_refused(folder, tmp_path):
    uneven = torchrun(2, *COMMON[:8], "--batch", "3", *COMMON[10:], str(folder), "--out", str(tmp_path / "u.safetensors"),
                      "--steps", "1")
    assert uneven.returncode != 0 and "--batch 3 does not split evenly between 2 processes" in uneven.stderr


def test_one_process_takes_the_whole_batch():
    assert my_rows(6) == slice(0, 6)
