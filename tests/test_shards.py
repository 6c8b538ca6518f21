"""Sharded batches: every file in exactly one shard, by --shard K/N or torchrun's RANK/WORLD_SIZE."""

import pytest
from typer.testing import CliRunner

from conftest import random_image, save_png
from eqdenoise.cli import app
from eqdenoise.errors import EqdenoiseError
from eqdenoise.files.shards import resolve_shard, shard_indices

runner = CliRunner()


@pytest.mark.parametrize("total", [0, 1, 5, 12])
@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_cover_every_file_once(total, count):
    taken = [i for k in range(1, count + 1) for i in shard_indices(total, (k, count))]
    assert sorted(taken) == list(range(total))


def test_the_shard_comes_from_the_option_else_from_torchrun():
    assert resolve_shard("2/3", {}) == (2, 3)
    assert resolve_shard(None, {"RANK": "1", "WORLD_SIZE": "4"}) == (2, 4)
    assert resolve_shard(None, {}) == (1, 1)
    assert resolve_shard("1/2", {"RANK": "1", "WORLD_SIZE": "4"}) == (1, 2)
    for bad, message in [("0/2", "K must be from 1 to N"), ("3/2", "K must be from 1 to N"), ("1-2", "must be K/N"),
                         ("a/b", "must be K/N")]:
        with pytest.raises(EqdenoiseError, match=message):
            resolve_shard(bad, {})
    with pytest.raises(EqdenoiseError, match="RANK 4 is not within WORLD_SIZE 4"):
        resolve_shard(None, {"RANK": "4", "WORLD_SIZE": "4"})


def test_two_shards_of_a_folder_write_every_output_once(tmp_path, tiny_gray_path, monkeypatch):
    slides = tmp_path / "slides"
    slides.mkdir()
    for i in range(5):
        save_png(slides / f"s{i}.png", random_image(1, 12, 10, seed=i))
    args = ["denoise", str(slides), "-o", str(tmp_path / "clean"), "--model", str(tiny_gray_path), "--sigma", "20"]
    first = runner.invoke(app, [*args, "--shard", "1/2"])
    assert first.exit_code == 0 and "shard 1/2: 3 done, 0 skipped, 0 failed" in first.output, first.output
    assert sorted(p.name for p in (tmp_path / "clean").iterdir()) == ["s0.png", "s2.png", "s4.png"]
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    second = runner.invoke(app, args)
    assert second.exit_code == 0 and "shard 2/2: 2 done, 0 skipped, 0 failed" in second.output, second.output
    assert sorted(p.name for p in (tmp_path / "clean").iterdir()) == [f"s{i}.png" for i in range(5)]
    refused = runner.invoke(app, [*args, "--shard", "3/2"])
    assert refused.exit_code == 2 and "--shard 3/2: K must be from 1 to N" in refused.output
