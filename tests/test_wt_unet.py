"""The weight-tied U-Net: equivariant by construction to float rounding, on any size; its checkpoint says so."""

import pytest
import torch

from conftest import tiny_architecture, write_tiny_checkpoint, wt_architecture
from eqdenoise.errors import EqdenoiseError
from eqdenoise.frames.groups import GROUPS
from eqdenoise.nets.checkpoint import build_network, load_model
from eqdenoise.nets.wt_unet import WTUNet, symmetric_call

FLOAT_ROUNDING = 1e-5


def random_network(architecture: dict, seed: int = 0) -> torch.nn.Module:
    """Every weight random at the default scale (no zero layer), so no part of the network is trivially equivariant."""
    torch.manual_seed(seed)
    network = build_network(architecture)
    with torch.no_grad():
        for param in network.parameters():
            param.normal_(0.0, 1.0 / max(1, param[0].numel()) ** 0.5)
    return network.eval()


def orbit_error(call, x: torch.Tensor, sigma: torch.Tensor, group) -> tuple[float, float]:
    """Largest |f(g·x) − g·f(x)| over the group, and the output's range."""
    with torch.no_grad():
        reference = call(x, sigma)
        error = max(float((call(g.apply(x), sigma) - g.apply(reference)).abs().max()) for g in group)
    return error, float(reference.max() - reference.min())


@pytest.mark.parametrize("group", ["c4", "d4"])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [(16, 16), (12, 20)], ids=["square", "non-square"])
def test_equivariant_to_float_rounding_without_any_frame(group, channels, size):
    network = random_network(wt_architecture(channels, group))
    x, sigma = torch.rand(2, channels, *size) * 2 - 1, torch.tensor([0.2, 4.0])
    error, span = orbit_error(network, x, sigma, GROUPS[group])
    assert span > 1e-3
    assert error <= FLOAT_ROUNDING * span, f"{error} of {span}"


def test_a_plain_unet_of_the_same_size_is_not():
    network = random_network(tiny_architecture(1))
    x, sigma = torch.rand(1, 1, 16, 16) * 2 - 1, torch.tensor([1.0])
    error, span = orbit_error(network, x, sigma, GROUPS["d4"])
    assert error > 0.01 * span


@pytest.mark.parametrize("size", [(13, 21), (12, 7), (9, 9), (3, 5)])
def test_symmetric_padding_keeps_it_on_any_size(size):
    network = random_network(wt_architecture(1, "d4"))
    x, sigma = torch.rand(1, 1, *size) * 2 - 1, torch.tensor([1.0])
    assert symmetric_call(network, x, sigma).shape == x.shape
    error, span = orbit_error(lambda a, s: symmetric_call(network, a, s), x, sigma, GROUPS["d4"])
    assert error <= FLOAT_ROUNDING * span
    with pytest.raises(ValueError, match="not a multiple of 4"):
        network(x, sigma)


def test_the_checkpoint_says_it_is_equivariant_by_construction_and_for_which_group(tmp_path):
    path = write_tiny_checkpoint(tmp_path / "wt.safetensors", group="c4", architecture=wt_architecture(1, "c4"))
    model = load_model(path)
    assert isinstance(model.network, WTUNet) and model.equivariant_group == "c4"
    assert model.config["equivariant_by_construction"] == "c4"
    assert load_model(write_tiny_checkpoint(tmp_path / "plain.safetensors")).equivariant_group is None


def test_a_weight_tied_architecture_for_another_group_is_refused(tmp_path):
    path = write_tiny_checkpoint(tmp_path / "wt.safetensors", architecture=wt_architecture(1, "d4"))
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
        metadata = handle.metadata()
    save_file(tensors, str(path), metadata={"eqdenoise_config": metadata["eqdenoise_config"].replace(
        '"group": "d4", "in_channels"', '"group": "flip", "in_channels"')})
    with pytest.raises(EqdenoiseError, match="weight-tied network is built for group c4 or d4"):
        load_model(path)
