"""The repository holds code and shipped weights, not artefacts (issue 19: a lean repository)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 10 * 1024 * 1024


def _git(*args: str) -> list[str]:
    """Lines printed by a git command run at the repository's root."""
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line]


@pytest.fixture(scope="module")
def tracked() -> list[str]:
    """Paths of the files tracked at the repository's root; skipped outside a git checkout (e.g. an sdist)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    return _git("ls-files")


def test_no_tracked_file_over_10_mb_outside_models(tracked):
    big = [path for path in tracked if not path.startswith("models/")
           and (ROOT / path).is_file() and (ROOT / path).stat().st_size > LIMIT]
    assert big == [], f"tracked files over 10 MB outside models/: {big}"


def test_nothing_tracked_matches_gitignore(tracked):
    assert _git("ls-files", "--cached", "--ignored", "--exclude-standard") == []


def test_the_size_check_sees_files_of_the_tree(tracked):
    sizes = {path: (ROOT / path).stat().st_size for path in tracked if (ROOT / path).is_file()}
    assert "pyproject.toml" in sizes
    assert any(path.startswith("models/") and size > LIMIT for path, size in sizes.items())


def test_the_layers_import_only_downward_and_the_picture_is_current():
    """tools/layers.py --check: no module-level import points to its own row or above, and docs/architecture.svg
    is the picture of the code as it is."""
    result = subprocess.run([sys.executable, "tools/layers.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
