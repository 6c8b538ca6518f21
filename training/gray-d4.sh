#!/usr/bin/env bash
# Recipe of models/gray-d4.safetensors: two legs on Train400 (the DnCNN training set), never Set12 or BSD68.
# Leg 1 trains from scratch; its result is committed as training/gray-d4-base.safetensors, so leg 2 can be
# rerun (or extended) from it without repeating leg 1: LEGS=2 bash training/gray-d4.sh
# Both legs resume with --resume if interrupted. Leg 2 was run with one thread (OMP_NUM_THREADS=1) beside
# the rgb-d4 run on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/dncnn-gray/Train400}
LEGS=${LEGS:-1 2}
for leg in $LEGS; do
    if [ "$leg" = 1 ]; then
        eqdenoise train denoiser "$DATA" --out training/gray-d4-base.safetensors --steps 16000 --seed 0 "$@"
    else
        eqdenoise train denoiser "$DATA" --init training/gray-d4-base.safetensors --out models/gray-d4.safetensors \
            --state training/gray-d4.state.safetensors --patch 64 --steps 2900 --lr 2e-4 --warmup 100 \
            --sigma-range 5 75 --restoration-fraction 0.9 --seed 1 "$@"
    fi
done
