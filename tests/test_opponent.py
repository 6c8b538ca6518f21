"""A gray ε-network as the teacher of a colour model, through the opponent channels."""

import math

import torch
from torch import nn

from eqdenoise.checkpoint import build_network, load_model
from eqdenoise.opponent import OpponentDenoiser
from eqdenoise.schedule import CosineSchedule
from eqdenoise.train import TrainSettings, _loss, run_training, sample_sigma


class GrayOracle(nn.Module):
    """The exact ε of a gray forward process whose clean images it is given: (x_t·√(1+σ²) − z0) / σ."""

    def __init__(self, clean: torch.Tensor) -> None:
        super().__init__()
        self.clean = clean

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        scale = torch.sqrt(1.0 + sigma**2).view(-1, 1, 1, 1)
        return (x * scale - self.clean) / sigma.view(-1, 1, 1, 1)


def test_a_gray_oracle_on_the_opponent_channels_gives_the_colour_noise_exactly():
    generator = torch.Generator().manual_seed(0)
    x0 = torch.rand(2, 3, 6, 5, generator=generator) * 2 - 1
    eps = torch.randn(x0.shape, generator=generator)
    sigma = torch.tensor([0.05, 0.4])
    noisy = CosineSchedule().add_noise(x0, eps, sigma)
    r, g, b = x0.unbind(1)
    gray_clean = torch.stack([(r + g + b) / 3, (r - b) / math.sqrt(6), (r - 2 * g + b) / math.sqrt(18)], dim=1)
    oracle = GrayOracle(gray_clean.reshape(6, 1, 6, 5))
    torch.testing.assert_close(OpponentDenoiser(oracle)(noisy, sigma), eps, rtol=1e-4, atol=1e-4)


def test_gray_content_reaches_the_gray_network_as_its_mean_and_flat_chroma_at_a_third_of_the_variance(tiny_gray_path):
    gray = load_model(tiny_gray_path).network.eval()
    x = (torch.rand(1, 1, 8, 8) * 2 - 1).expand(1, 3, 8, 8)
    sigma = torch.tensor([0.2])
    with torch.no_grad():
        colour = OpponentDenoiser(gray)(x, sigma)
        luma_sigma = sigma / math.sqrt(3)
        luma_input = x[:, :1] * torch.sqrt((1 + sigma**2) / (1 + luma_sigma**2))
        luma = gray(luma_input, luma_sigma)
        flat = gray(torch.zeros(2, 1, 8, 8), luma_sigma.expand(2))
    expected = luma / math.sqrt(3) + (flat[0] / math.sqrt(2) + flat[1] / math.sqrt(6))
    torch.testing.assert_close(colour[:, 0], expected[:, 0], rtol=1e-4, atol=1e-5)


def test_a_colour_model_distils_a_gray_teacher_through_the_opponent_channels(tiny_gray_path, tiny_rgb_path):
    teacher = OpponentDenoiser(load_model(tiny_gray_path).network.eval())
    student = build_network(load_model(tiny_rgb_path).config["architecture"])
    batch = torch.rand(2, 3, 8, 8) * 2 - 1
    schedule = CosineSchedule()
    base = dict(data="", out="", batch=2, channels=3, sigma_weight=0.0, restoration_fraction=0.0, teacher_weight=1.0)
    loss = _loss(TrainSettings(**base), student, batch, schedule, torch.Generator().manual_seed(4), teacher)
    generator = torch.Generator().manual_seed(4)
    sigma = sample_sigma(TrainSettings(**base), schedule, generator)
    noisy = schedule.add_noise(batch, torch.randn(batch.shape, generator=generator), sigma)
    with torch.no_grad():
        expected = torch.mean((student(noisy, sigma) - teacher(noisy, sigma)) ** 2)
    torch.testing.assert_close(loss, expected, rtol=1e-4, atol=1e-6)


def test_training_a_colour_model_takes_a_gray_teacher(folder, tmp_path, tiny_gray_path):
    out = tmp_path / "rgb.safetensors"
    record = run_training(TrainSettings(data=str(folder), out=str(out), channels=3, base=4, mults=(1, 2), steps=2,
                                        batch=2, patch=16, teacher=str(tiny_gray_path), teacher_weight=0.5,
                                        teacher_fa=True))
    assert record["steps_done"] == 2
    assert load_model(out).channels == 3
