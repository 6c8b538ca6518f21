#!/usr/bin/env bash
# The fuzzers of tests/test_fuzz.py with many more inputs (HYPOTHESIS_PROFILE=long: 3,000 per target, 10 targets),
# one thread, memory capped at 4 GiB of address space so a runaway allocation fails instead of swapping.
# Prints Hypothesis' statistics (inputs tried per target); docs/reliability.md gives the last run's figures.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -v $((4 * 1024 * 1024))
HYPOTHESIS_PROFILE=long OMP_NUM_THREADS=1 python -m pytest tests/test_fuzz.py -p no:cacheprovider -W ignore \
    --hypothesis-show-statistics "$@"
