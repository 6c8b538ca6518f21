#!/usr/bin/env bash
# Second leg of the fast gray prior (issue 18): continues training/gray-d4-fast.safetensors (the first leg's EMA
# weights, produced by training/gray-d4-fast.sh) for 6,000 more steps at a lower peak learning rate, same data
# (Train400 at DnCNN's four scales, never Set12 or BSD68), same distillation from the shipped gray-d4.
# Resumes with --resume if interrupted; the cosine spans --steps.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/dncnn-gray/Train400}
eqdenoise train denoiser "$DATA" --out training/gray-d4-fast2.safetensors --init training/gray-d4-fast.safetensors \
    --scale 1 --scale 0.9 --scale 0.8 --scale 0.7 --patch 64 --batch 16 \
    --lr 2.5e-4 --warmup 200 --sigma-range 2 80 --restoration-fraction 0.9 --sigma-weight 1 \
    --teacher models/gray-d4.safetensors --teacher-weight 0.75 --steps 6000 --seed 19 --save-every 500 "$@"
