"""Arithmetic and memory layout of network passes: channels-last inference, the bf16 CPU probe and its warning."""

import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from conftest import random_image, save_png
from eqdenoise import cli
from eqdenoise.nets.checkpoint import load_model
from eqdenoise.nets.precision import for_inference, for_training, has_fast_bf16, run

runner = CliRunner()


@pytest.mark.parametrize("checkpoint", ["tiny_gray_path", "tiny_rgb_path"])
def test_inference_runs_channels_last_on_a_copy_and_matches_the_plain_pass(checkpoint, request):
    network = load_model(request.getfixturevalue(checkpoint)).network.eval()
    fast = for_inference(network)
    assert fast is not network
    assert all(p.is_contiguous() for p in network.parameters())
    assert any(p.dim() == 4 and not p.is_contiguous() for p in fast.parameters())
    x = torch.randn(2, network.state_dict()["conv_out.weight"].shape[0], 24, 40)
    sigma = torch.tensor([0.1, 0.5])
    with torch.no_grad():
        plain = network(x, sigma)
        laid_out = run(fast, x, sigma, "fp32")
    assert laid_out.is_contiguous() and not torch.equal(laid_out, torch.zeros_like(laid_out))
    assert (laid_out - plain).abs().max() <= 1e-5 * plain.abs().max()


def test_training_layout_is_channels_last_only_in_bf16(tiny_gray_path):
    plain = for_training(load_model(tiny_gray_path).network, "fp32")
    assert all(p.is_contiguous() for p in plain.parameters())
    fast = for_training(load_model(tiny_gray_path).network, "bf16")
    assert any(p.dim() == 4 and not p.is_contiguous() for p in fast.parameters())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the CPU flags from /proc/cpuinfo")
def test_bf16_probe_agrees_with_the_cpu_flags():
    flags = set(Path("/proc/cpuinfo").read_text().split())
    assert has_fast_bf16() == bool(flags & {"amx_tile", "amx_bf16", "avx512_bf16"})


@pytest.mark.parametrize(("fast_cpu", "precision", "warned"), [(False, "bf16", True), (True, "bf16", False),
                                                              (False, "fp32", False)])
def test_bf16_on_a_cpu_without_bf16_instructions_gets_one_warning_line(fast_cpu, precision, warned, tmp_path,
                                                                          tiny_gray_path, monkeypatch):
    monkeypatch.setattr("eqdenoise.nets.precision.has_fast_bf16", lambda: fast_cpu)
    image = save_png(tmp_path / "a.png", random_image(1, 16, 16))
    result = runner.invoke(cli.app, ["denoise", str(image), "--model", str(tiny_gray_path), "--sigma", "20",
                                     "--precision", precision])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == (1 if warned else 0)
    assert (tmp_path / "a-denoised.png").exists()
