"""Which files a batch processes and where the results go."""

from pathlib import Path

import pytest

from eqdenoise.errors import EqdenoiseError
from eqdenoise.files.batch import BatchInput, expand_inputs, output_paths
from eqdenoise.files.imageio import image_files


def _touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def test_a_folder_expands_to_its_images_in_name_order(tmp_path):
    _touch(tmp_path / "slides", "b.TIF", "a.png", "c.jpeg", "notes.txt", ".hidden.png")
    _touch(tmp_path / "slides" / "sub", "d.png")
    items = expand_inputs([tmp_path / "slides", tmp_path / "x.png"], image_files, "image")
    assert [item.path.name for item in items] == ["a.png", "b.TIF", "c.jpeg", "x.png"]
    assert [item.folder for item in items] == [tmp_path / "slides"] * 3 + [None]


def test_an_empty_folder_is_an_error(tmp_path):
    _touch(tmp_path / "empty", "readme.md")
    with pytest.raises(EqdenoiseError, match="empty: no PNG files in this folder"):
        expand_inputs([tmp_path / "empty"], image_files, "PNG")


def test_the_current_folder_gets_a_named_sibling(tmp_path, monkeypatch):
    _touch(tmp_path / "scans", "a.png")
    monkeypatch.chdir(tmp_path / "scans")
    items = expand_inputs([Path(".")], image_files, "image")
    assert output_paths(items, None, "denoised") == [tmp_path / "scans-denoised" / "a.png"]
    assert (tmp_path / "scans-denoised").is_dir()


def test_one_file_goes_to_the_named_file_or_into_a_folder(tmp_path):
    (tmp_path / "out").mkdir()
    one = [BatchInput(tmp_path / "a.png")]
    assert output_paths(one, tmp_path / "b.png", "denoised") == [tmp_path / "b.png"]
    assert output_paths(one, tmp_path / "out", "denoised") == [tmp_path / "out" / "a.png"]
    assert output_paths(one, None, "pet") == [tmp_path / "a-pet.png"]


def test_a_folder_input_needs_a_folder_output_and_distinct_names(tmp_path):
    items = [BatchInput(tmp_path / "s" / "a.png", tmp_path / "s")]
    with pytest.raises(EqdenoiseError, match="-o must be a folder"):
        output_paths(items, tmp_path / "a.png", "denoised")
    twins = [BatchInput(tmp_path / "s" / "a.png", tmp_path / "s"), BatchInput(tmp_path / "t" / "a.png", tmp_path / "t")]
    with pytest.raises(EqdenoiseError, match="several inputs are named a.png"):
        output_paths(twins, tmp_path / "out", "denoised")


def test_an_output_name_ending_in_a_slash_is_a_folder_even_for_one_file(tmp_path):
    _touch(tmp_path, "a.png")
    items = expand_inputs([tmp_path / "a.png"], image_files, "image")
    assert output_paths(items, f"{tmp_path / 'cleaned'}/", "denoised") == [tmp_path / "cleaned" / "a.png"]
    assert (tmp_path / "cleaned").is_dir()
    assert output_paths(items, str(tmp_path / "single.png"), "denoised") == [tmp_path / "single.png"]


def test_a_refused_folder_output_is_not_created(tmp_path):
    _touch(tmp_path / "x", "a.png")
    _touch(tmp_path / "y", "a.png")
    items = expand_inputs([tmp_path / "x", tmp_path / "y"], image_files, "image")
    with pytest.raises(EqdenoiseError, match="several inputs are named a.png"):
        output_paths(items, tmp_path / "out", "denoised")
    assert not (tmp_path / "out").exists()


def test_run_batch_reports_each_outcome_and_keeps_going(tmp_path):
    from eqdenoise.files.batch import run_batch

    inputs = [tmp_path / f"{name}.png" for name in "abcd"]
    for path in inputs:
        path.write_bytes(b"x")
    targets = [tmp_path / "out" / path.name for path in inputs[:3]] + [inputs[0]]
    (tmp_path / "out").mkdir()
    targets[1].write_bytes(b"old")

    def process(source, target):
        if source.name == "c.png":
            raise EqdenoiseError("damaged")
        target.write_bytes(b"new")
        return " ok"

    seen = []
    summary = run_batch(inputs, targets, process, skip_existing=True, on_file=seen.append)
    assert [(o.source.name, o.status) for o in seen] == [("a.png", "done"), ("b.png", "skipped"), ("c.png", "failed"),
                                                         ("d.png", "failed")]
    assert seen[2].message == f"{inputs[2]}: damaged" and "is an input of this batch" in seen[3].message
    assert (summary.done, summary.skipped, summary.failed, summary.total) == (1, 1, inputs[2:], 4)
    assert targets[1].read_bytes() == b"old" and inputs[0].read_bytes() == b"x"
    second = run_batch(inputs, targets, process, shard=(2, 2))
    assert second.shard == (2, 2) and second.total == 2 and second.failed == [inputs[3]]
