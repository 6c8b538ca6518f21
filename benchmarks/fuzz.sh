#!/usr/bin/env bash
# The fuzzers of tests/test_fuzz.py with many more inputs (HYPOTHESIS_PROFILE=long: up to 3,000 per target,
# 10 targets), one thread, the address space capped at 4 GiB so a runaway allocation fails instead of swapping.
# Prints the inputs tried per target; docs/reliability.md gives the last run's figures.
set -euo pipefail
cd "$(dirname "$0")/.."
report=$(mktemp)
ulimit -v $((4 * 1024 * 1024))
HYPOTHESIS_PROFILE=long OMP_NUM_THREADS=1 FUZZ_REPORT="$report" \
    python -m pytest tests/test_fuzz.py -q -p no:cacheprovider -W ignore "$@" || status=$?
echo "inputs tried per target:"
cat "$report"
rm -f "$report"
exit "${status:-0}"
