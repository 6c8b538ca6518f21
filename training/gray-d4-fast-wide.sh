#!/usr/bin/env bash
# Recipe of the wider fast gray prior (issue 18): gray-d4-fast (training/gray-d4-fast.sh, then gray-d4-fast2.sh)
# grown function-preservingly to 32/80/160 channels at 1/2, 1/4 and 1/8 resolution (base 16, levels 2/5/10; two
# residual blocks per level; 214 GFLOP per megapixel, 0.88× FFDNet's arithmetic) and trained on, still on Train400
# at DnCNN's four scales only (never Set12 or BSD68), distilled from the shipped gray-d4 with target
# 0.25·ε + 0.75·ε̂_gray-d4(x_t). Student and teacher run in bfloat16 autocast (weights, optimizer and EMA float32).
# Starts from the shipped models/gray-d4-fast.safetensors (the output of gray-d4-fast2.sh, same sha256).
# Resumes with --resume if interrupted; the cosine spans --steps.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/dncnn-gray/Train400}
INIT=${INIT:-models/gray-d4-fast.safetensors}
eqdenoise train denoiser "$DATA" --out training/gray-d4-fast-wide.safetensors --init "$INIT" \
    --width 16 --level 2 --level 5 --level 10 --blocks 2 --unshuffle 2 \
    --scale 1 --scale 0.9 --scale 0.8 --scale 0.7 --patch 64 --batch 16 \
    --lr 3e-4 --warmup 200 --sigma-range 2 80 --restoration-fraction 0.9 --sigma-weight 1 \
    --teacher models/gray-d4.safetensors --teacher-weight 0.75 --steps 4000 --seed 20 --save-every 250 \
    --precision bf16 "$@"
