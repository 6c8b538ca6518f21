"""Start-up time of the eqdenoise command: --help, --version and a usage error, each in a fresh process.

Prints a table of the best of N runs per command, next to `python -c pass` and `import torch` in the same run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    "eqdenoise --help": [sys.executable, "-m", "eqdenoise", "--help"],
    "eqdenoise --version": [sys.executable, "-m", "eqdenoise", "--version"],
    "eqdenoise denoise --help": [sys.executable, "-m", "eqdenoise", "denoise", "--help"],
    "eqdenoise denoise --no-such-option": [sys.executable, "-m", "eqdenoise", "denoise", "--no-such-option"],
    "eqdenoise models": [sys.executable, "-m", "eqdenoise", "models"],
}


def best_seconds(command: list[str], repeats: int) -> float:
    """Shortest wall time of ``repeats`` runs of ``command`` (output discarded)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"| command | best of {args.repeats} (s) |")
    print("| --- | --- |")
    for label, command in COMMANDS.items():
        print(f"| `{label}` | {best_seconds(command, args.repeats):.3f} |")


if __name__ == "__main__":
    main()
