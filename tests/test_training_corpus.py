"""The colour training corpus never contains a held-out image (training/make_color_corpus.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))

import make_color_corpus  # noqa: E402


def test_every_photo_file_is_listed_once():
    files = [(photo.package, photo.path) for photo in make_color_corpus.PHOTOS]
    names = [photo.name for photo in make_color_corpus.PHOTOS]
    assert len(set(files)) == len(files)
    assert len(set(names)) == len(names)


def test_held_out_photos_belong_to_no_training_corpus():
    held_out = [photo for photo in make_color_corpus.PHOTOS if photo.held_out]
    assert len(held_out) == 7
    training = {photo.path for photo in make_color_corpus.PHOTOS if not photo.held_out}
    assert not training & {photo.path for photo in held_out}


def test_corpus_two_adds_fourteen_photographs_each_with_author_and_licence():
    added = [photo for photo in make_color_corpus.PHOTOS if photo.corpus == 2]
    assert len(added) == 14
    assert all(photo.author and photo.licence and not photo.held_out for photo in added)
