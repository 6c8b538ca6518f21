#!/usr/bin/env bash
# Recipe of a colour prior made of one gray U-Net run on the three opponent channels of the image, each channel
# also seeing the noisy mean as a guide (--network opponent-guided; docs/method.md). It starts from the shipped
# gray-d4-fast on the opponent channels (the guide's weights small and random), which is 0.1–0.2 dB ahead of rgb-d4-fast
# on color10 (docs/benchmarks.md); benchmarks/opponent_error.py measured that FFDNet's colour model wins its lead
# over gray networks on the colour channels, which the guide lets the network follow the mean's edges for.
# Data: corpus 2 of training/make_color_corpus.py (28 photographs with their authors and licences in that script,
# and 5 scikit-image images, each also at 3/4 and 1/2 size; the 10 held-out color10 images are never written to
# the training folder). Distilled from the shipped gray-d4 on the opponent channels with --teacher-fa at weight
# 0.5, so half the target is the true noise. bfloat16 autocast passes (weights, optimizer and EMA float32).
# Resume an interrupted run with --resume (state: training/rgb-opponent-guided.state.safetensors).
# Its 8,000-step EMA weights are the shipped colour default: cp training/rgb-opponent-guided.safetensors
# models/rgb-d4-opponent.safetensors (card models/rgb-d4-opponent.md).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/color-train2}
INIT=${INIT:-models/gray-d4-fast.safetensors}
python training/make_color_corpus.py "$DATA" 2
eqdenoise train denoiser "$DATA" --channels 3 --network opponent-guided --out training/rgb-opponent-guided.safetensors \
    --init "$INIT" --scale 1 --scale 0.75 --scale 0.5 --patch 64 --batch 8 \
    --lr 2.5e-4 --warmup 200 --sigma-range 2 80 --restoration-fraction 0.9 --sigma-weight 1 \
    --teacher models/gray-d4.safetensors --teacher-weight 0.5 --teacher-fa \
    --steps 8000 --seed 26 --save-every 500 --precision bf16 "$@"
