#!/usr/bin/env bash
# Recipe of models/gray-d4-wt.safetensors (issue 20): the weight-tied D4 U-Net (SPDM+WT, equivariant by construction),
# 4 fields = 32 channels at full resolution, levels 1/2/4, two residual blocks per level, trained from scratch on the
# default gray prior's data, Train400 (never Set12 or BSD68), at DnCNN's four scales, distilled from the shipped
# gray-d4 (itself trained on Train400 only): the target is 0.25·ε + 0.75·ε̂_gray-d4(x_t) on every fresh noise draw.
# Resumes with --resume if interrupted; the cosine spans --steps.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/dncnn-gray/Train400}
eqdenoise train denoiser "$DATA" --out training/gray-d4-wt.safetensors --network wt --group d4 \
    --width 4 --level 1 --level 2 --level 4 --blocks 2 \
    --scale 1 --scale 0.9 --scale 0.8 --scale 0.7 --patch 64 --batch 16 \
    --lr 5e-4 --warmup 300 --sigma-range 2 80 --restoration-fraction 0.9 --sigma-weight 1 \
    --teacher models/gray-d4.safetensors --teacher-weight 0.75 --steps 3000 --seed 20 --save-every 250 "$@"
