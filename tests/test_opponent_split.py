"""The split opponent network: one gray U-Net for the mean channel, a narrower guided one for the colour differences."""

import math

import pytest
import torch
from test_opponent import GrayOracle
from test_restoration import SETTINGS, assert_equivariant, images
from typer.testing import CliRunner

from conftest import opponent_architecture, split_architecture, unshuffle_architecture, write_tiny_checkpoint
from eqdenoise.cli import app
from eqdenoise.diffusion.schedule import CosineSchedule
from eqdenoise.errors import EqdenoiseError
from eqdenoise.nets.checkpoint import build_network, load_model
from eqdenoise.nets.opponent import OpponentDenoiser, luma_weights
from eqdenoise.training.train import TrainSettings, run_training


class GuidedOracle(GrayOracle):
    """The exact ε of the first input channel; the guide beside it is ignored."""

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        assert x.shape[1] == 2
        return super().forward(x[:, :1], sigma)


def _opponent_clean(x0: torch.Tensor) -> torch.Tensor:
    r, g, b = x0.unbind(1)
    return torch.stack([(r + g + b) / 3, (r - b) / math.sqrt(6), (r - 2 * g + b) / math.sqrt(18)], dim=1)


def test_the_mean_and_chroma_networks_together_give_the_colour_noise_exactly():
    n = 2
    generator = torch.Generator().manual_seed(1)
    x0 = torch.rand(n, 3, 6, 5, generator=generator) * 2 - 1
    eps = torch.randn(x0.shape, generator=generator)
    sigma = torch.tensor([0.05, 0.4])
    clean = _opponent_clean(x0)
    network = OpponentDenoiser(GrayOracle(clean[:, :1]), chroma=GuidedOracle(clean[:, 1:].reshape(2 * n, 1, 6, 5)))
    torch.testing.assert_close(network(CosineSchedule().add_noise(x0, eps, sigma), sigma), eps, rtol=1e-4, atol=1e-4)


def test_the_split_network_has_a_gray_mean_network_and_a_narrower_guided_chroma_network(tiny_split):
    network = tiny_split.network
    assert network.gray.conv_in.in_channels == 4 and network.gray.conv_in.out_channels == 4
    assert network.chroma.conv_in.in_channels == 8 and network.chroma.conv_in.out_channels == 2
    seen = {}
    handles = [part.register_forward_pre_hook(lambda _, args, name=name: seen.update({name: args[0].clone()}))
               for name, part in (("gray", network.gray), ("chroma", network.chroma))]
    x, sigma = torch.rand(2, 3, 8, 8) * 2 - 1, torch.tensor([0.1, 0.5])
    with torch.no_grad():
        network(x, sigma)
    for handle in handles:
        handle.remove()
    mean = x.mean(dim=1, keepdim=True) * torch.sqrt((1 + sigma**2) / (1 + sigma**2 / 3)).view(2, 1, 1, 1)
    torch.testing.assert_close(seen["gray"], mean)
    chroma = seen["chroma"].reshape(2, 2, 2, 8, 8)
    for k in range(2):
        torch.testing.assert_close(chroma[:, k, 1], mean[:, 0])


def test_one_image_at_a_time_gives_the_batch_result(tiny_split):
    x, sigma = torch.rand(2, 3, 8, 8) * 2 - 1, torch.tensor([0.2, 0.6])
    with torch.no_grad():
        batch = tiny_split.network(x, sigma)
        one_by_one = torch.cat([tiny_split.network(x[i:i + 1], sigma[i:i + 1]) for i in range(2)])
    torch.testing.assert_close(one_by_one, batch, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("method", ["canon", "fa"])
@pytest.mark.parametrize("setting", ["tweedie-sigma25", "ddim-eta1", "sdedit-0.4", "sigma-auto"])
@pytest.mark.parametrize("image", ["rgb-random-10x7", "rgb-real-36x28", "gray-random-13x21"])
def test_a_split_opponent_network_is_bit_exact_on_d4(tiny_split, method, setting, image):
    from eqdenoise.tasks.restoration import DenoiseOptions

    options = DenoiseOptions(method=method, seed=6, **SETTINGS[setting])
    assert_equivariant(tiny_split, images()[image], options, "d4")


def test_a_guided_networks_mean_channel_is_kept_as_a_gray_network(tmp_path):
    guided = load_model(write_tiny_checkpoint(tmp_path / "g.safetensors", channels=3,
                                              architecture=opponent_architecture())).network
    gray = build_network(unshuffle_architecture(1))
    gray.load_state_dict(luma_weights(guided))
    x, sigma = torch.rand(2, 1, 8, 8) * 2 - 1, torch.tensor([0.1, 0.4])
    with torch.no_grad():
        torch.testing.assert_close(gray(x, sigma), guided.gray(torch.cat([x, x], dim=1), sigma), rtol=1e-4, atol=1e-5)


def _mean_eps(network, x, sigma):
    """ε of the mean channel alone, as the colour network's mean network sees it."""
    with torch.no_grad():
        return network.gray(x, sigma) if isinstance(network, OpponentDenoiser) else network(x, sigma)


def test_training_starts_the_chroma_from_a_guided_model_and_the_mean_from_a_grown_gray_model(folder, tmp_path):
    guided_path = write_tiny_checkpoint(tmp_path / "guided.safetensors", channels=3,
                                        architecture={**opponent_architecture(), "emb_dim": 128})
    gray_path = write_tiny_checkpoint(tmp_path / "gray.safetensors", seed=3,
                                      architecture={**unshuffle_architecture(1), "emb_dim": 128})
    out = tmp_path / "split.safetensors"
    run_training(TrainSettings(data=str(folder), out=str(out), channels=3, network="opponent-split", init=str(guided_path),
                               luma_init=str(gray_path), base=6, steps=1, batch=2, patch=16, lr=0.0, warmup=0, ema=0.0))
    model = load_model(out)
    assert model.config["architecture"]["name"] == "opponent-split-unet"
    assert model.config["architecture"]["base"] == 6 and model.config["architecture"]["chroma_base"] == 4
    guided = load_model(guided_path).network.gray.state_dict()
    for key, value in model.network.chroma.state_dict().items():
        assert torch.equal(value, guided[key]), key
    x, sigma = torch.rand(2, 1, 8, 8) * 2 - 1, torch.tensor([0.1, 0.4])
    torch.testing.assert_close(_mean_eps(model.network, x, sigma), _mean_eps(load_model(gray_path).network, x, sigma),
                               rtol=1e-3, atol=1e-4)


def test_freeze_luma_trains_the_chroma_network_only(folder, tmp_path):
    start = write_tiny_checkpoint(tmp_path / "start.safetensors", channels=3,
                                  architecture={**split_architecture(), "emb_dim": 128})
    out = tmp_path / "frozen.safetensors"
    run_training(TrainSettings(data=str(folder), out=str(out), channels=3, init=str(start), freeze_luma=True,
                               network="opponent-split", steps=3, batch=2, patch=16, lr=1e-2, warmup=0, ema=0.0))
    before, after = load_model(start).network.state_dict(), load_model(out).network.state_dict()
    assert all(torch.equal(after[key], before[key]) for key in before if key.startswith("gray."))
    assert any(not torch.equal(after[key], before[key]) for key in before if key.startswith("chroma."))


@pytest.mark.parametrize("change", [dict(chroma_base=2), dict(freeze_luma=True), dict(luma_init="gray")])
def test_split_options_without_a_split_network_are_refused(folder, tmp_path, tiny_gray_path, change):
    change = {key: str(tiny_gray_path) if value == "gray" else value for key, value in change.items()}
    with pytest.raises(EqdenoiseError, match="belong to --network opponent-split"):
        run_training(TrainSettings(data=str(folder), out=str(tmp_path / "o.safetensors"), channels=3,
                                   network="opponent-guided", steps=1, batch=2, patch=16, **change))


def test_a_colour_unet_cannot_start_the_mean_network(folder, tmp_path, tiny_rgb_path):
    with pytest.raises(EqdenoiseError, match="starts from a gray U-Net or an opponent network"):
        run_training(TrainSettings(data=str(folder), out=str(tmp_path / "o.safetensors"), channels=3,
                                   network="opponent-split", luma_init=str(tiny_rgb_path), steps=1, batch=2, patch=16))


@pytest.mark.parametrize("architecture", [{**opponent_architecture(), "chroma_base": 2},
                                          {**split_architecture(), "chroma_base": 5000}])
def test_a_wrong_chroma_width_in_a_checkpoint_config_is_refused(architecture):
    from eqdenoise.nets.architecture_checks import check_architecture

    with pytest.raises(ValueError, match="chroma_base"):
        check_architecture(architecture)
        build_network(architecture)


def test_the_cli_trains_a_split_network_and_refuses_one_on_gray_data(folder, tmp_path):
    runner = CliRunner()
    out = tmp_path / "split.safetensors"
    result = runner.invoke(app, ["train", "denoiser", str(folder), "-o", str(out), "--channels", "3", "--network",
                                 "opponent-split", "--width", "4", "--chroma-width", "2", "--level", "1",
                                 "--level", "2", "--unshuffle", "2", "--steps", "1", "--batch", "2", "--patch", "16"])
    assert result.exit_code == 0, result.output
    assert load_model(out).config["architecture"]["chroma_base"] == 2
    result = runner.invoke(app, ["train", "denoiser", str(folder), "-o", str(tmp_path / "g.safetensors"),
                                 "--network", "opponent-split", "--steps", "1"])
    assert result.exit_code == 1
    assert "needs --channels 3" in result.output and "Traceback" not in result.output
