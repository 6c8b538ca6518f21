"""A gray ε-network as the teacher of a colour model, through the opponent channels."""

import math

import pytest
import torch
from test_restoration import SETTINGS, assert_equivariant, images
from torch import nn

from conftest import opponent_architecture, unshuffle_architecture, write_tiny_checkpoint
from eqdenoise.diffusion.schedule import CosineSchedule
from eqdenoise.errors import EqdenoiseError
from eqdenoise.nets.checkpoint import build_network, load_model
from eqdenoise.nets.opponent import GUIDE_SCALE, OpponentDenoiser, opponent_weights
from eqdenoise.tasks.restoration import DenoiseOptions
from eqdenoise.training.train import TrainSettings, _loss, run_training, sample_sigma


class GrayOracle(nn.Module):
    """The exact ε of a gray forward process whose clean images it is given: (x_t·√(1+σ²) − z0) / σ."""

    stride = 1

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
    torch.testing.assert_close(colour[:, 0], expected[:, 0], rtol=1e-3, atol=1e-4)


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


@pytest.mark.parametrize("method", ["canon", "fa"])
@pytest.mark.parametrize("setting", ["tweedie-sigma25", "ddim-eta1", "sdedit-0.4", "sigma-auto"])
@pytest.mark.parametrize("image", ["rgb-random-10x7", "rgb-real-36x28", "gray-random-13x21"])
def test_an_opponent_network_is_bit_exact_on_d4(tiny_opponent, method, setting, image):
    options = DenoiseOptions(method=method, seed=5, **SETTINGS[setting])
    assert_equivariant(tiny_opponent, images()[image], options, "d4")


def test_the_guide_is_the_mean_channel_of_the_same_state(tiny_opponent):
    network = tiny_opponent.network
    x, sigma = torch.rand(2, 3, 8, 8) * 2 - 1, torch.tensor([0.1, 0.5])
    with torch.no_grad():
        eps = network(x, sigma)
        seen = []
        handle = network.gray.register_forward_pre_hook(lambda _, args: seen.append(args[0].clone()))
        network(x, sigma)
        handle.remove()
    inputs = seen[0].reshape(2, 3, 2, 8, 8)
    for k in range(3):
        torch.testing.assert_close(inputs[:, k, 1], inputs[:, 0, 0])
    mean = x.mean(dim=1) * torch.sqrt((1 + sigma**2) / (1 + sigma**2 / 3)).view(2, 1, 1)
    torch.testing.assert_close(inputs[:, 0, 0], mean)
    with torch.no_grad():
        one_by_one = torch.cat([network(x[i:i + 1], sigma[i:i + 1]) for i in range(2)])
    torch.testing.assert_close(one_by_one, eps, rtol=1e-3, atol=1e-4)


def test_an_unguided_opponent_network_started_from_a_gray_model_is_that_model_on_the_opponent_channels(tmp_path):
    gray_path = write_tiny_checkpoint(tmp_path / "gray.safetensors", architecture=unshuffle_architecture(1))
    gray = load_model(gray_path).network
    network = build_network(opponent_architecture(guided=False))
    network.load_state_dict(opponent_weights(gray.state_dict(), guide=False, unshuffle=2))
    x, sigma = torch.rand(2, 3, 8, 8) * 2 - 1, torch.tensor([0.2, 0.7])
    with torch.no_grad():
        torch.testing.assert_close(network(x, sigma), OpponentDenoiser(gray)(x, sigma), rtol=1e-3, atol=1e-4)


def test_a_guided_opponent_network_starts_with_the_gray_weights_and_small_random_guide_weights(tmp_path):
    gray = load_model(write_tiny_checkpoint(tmp_path / "gray.safetensors", architecture=unshuffle_architecture(1)))
    weights = opponent_weights(gray.network.state_dict(), guide=True, unshuffle=2)
    build_network(opponent_architecture()).load_state_dict(weights)
    first, own = weights["gray.conv_in.weight"], gray.network.conv_in.weight.detach()
    assert torch.equal(first[:, :4], own)
    assert 0.5 * GUIDE_SCALE < float(first[:, 4:].std() / own.std()) < 2 * GUIDE_SCALE
    for key, value in gray.network.state_dict().items():
        if key != "conv_in.weight":
            assert torch.equal(weights[f"gray.{key}"], value)


def test_training_an_opponent_network_from_a_gray_model_starts_from_its_weights(folder, tmp_path):
    architecture = {**unshuffle_architecture(1), "emb_dim": 128}
    gray_path = write_tiny_checkpoint(tmp_path / "gray.safetensors", architecture=architecture)
    out = tmp_path / "opponent.safetensors"
    record = run_training(TrainSettings(data=str(folder), out=str(out), channels=3, network="opponent-guided",
                                        init=str(gray_path), steps=2, batch=2, patch=16, lr=0.0, warmup=0))
    assert record["steps_done"] == 2
    model = load_model(out, task="denoise")
    assert model.channels == 3 and model.config["architecture"]["name"] == "opponent-guided-unet"
    gray = load_model(gray_path).network.state_dict()
    trained = model.network.state_dict()
    assert trained.keys() == {f"gray.{key}" for key in gray}
    for key, value in gray.items():
        start = trained[f"gray.{key}"][:, :4] if key == "conv_in.weight" else trained[f"gray.{key}"]
        torch.testing.assert_close(start, value, rtol=0, atol=1e-4, msg=key)
    assert trained["gray.conv_in.weight"][:, 4:].abs().max() > 0


@pytest.mark.parametrize("change", [dict(channels=1), dict(in_channels=2), dict(channels=3, name="opponent-unet",
                                                                                 mults=[1, 2], unshuffle=2)])
def test_an_opponent_architecture_takes_three_channels_only(change):
    architecture = {**opponent_architecture(), **change}
    if change.get("name"):
        build_network(architecture)
        return
    with pytest.raises(ValueError, match="3 channels"):
        build_network(architecture)


def test_an_opponent_network_needs_colour_training_data(folder, tmp_path):
    with pytest.raises(EqdenoiseError, match="--channels 3"):
        run_training(TrainSettings(data=str(folder), out=str(tmp_path / "o.safetensors"), channels=1,
                                   network="opponent", steps=1, batch=2, patch=16))


def test_an_opponent_network_is_not_grown_but_refused_with_a_message(tmp_path, folder):
    gray_path = write_tiny_checkpoint(tmp_path / "gray.safetensors", architecture={**unshuffle_architecture(1),
                                                                                  "emb_dim": 128})
    first = tmp_path / "opponent.safetensors"
    run_training(TrainSettings(data=str(folder), out=str(first), channels=3, network="opponent", init=str(gray_path),
                               steps=1, batch=2, patch=16))
    with pytest.raises(EqdenoiseError, match="an opponent one may start from a gray U-Net of its shape"):
        run_training(TrainSettings(data=str(folder), out=str(tmp_path / "wider.safetensors"), channels=3,
                                   init=str(first), base=8, steps=1, batch=2, patch=16))
