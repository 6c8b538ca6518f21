#!/usr/bin/env bash
# Recipe of the fast gray prior (issue 18): a U-Net on the 2×2 sub-images of the input (pixel unshuffle, as FFDNet),
# levels 32/64/128 channels at 1/2, 1/4 and 1/8 resolution, two residual blocks per level (2.68M parameters, about
# 0.55× FFDNet's arithmetic per pixel), trained from scratch on Train400 at DnCNN's four scales (never Set12 or
# BSD68), distilled from the shipped gray-d4: the target is 0.25·ε + 0.75·ε̂_gray-d4(x_t) on every fresh noise draw.
# Resumes with --resume if interrupted; the cosine spans --steps.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/dncnn-gray/Train400}
eqdenoise train denoiser "$DATA" --out training/gray-d4-fast.safetensors \
    --width 32 --level 1 --level 2 --level 4 --blocks 2 --unshuffle 2 \
    --scale 1 --scale 0.9 --scale 0.8 --scale 0.7 --patch 64 --batch 16 \
    --lr 5e-4 --warmup 500 --sigma-range 2 80 --restoration-fraction 0.9 --sigma-weight 1 \
    --teacher models/gray-d4.safetensors --teacher-weight 0.75 --steps 16000 --seed 18 --save-every 500 "$@"
