#!/usr/bin/env bash
# Recipe of a split opponent colour prior (--network opponent-split; docs/method.md): a gray U-Net for the mean
# channel and a narrower one, seeing the mean, for the two colour differences, so the arithmetic goes where the error
# is (at σ 25, 75% of the shipped rgb-d4-opponent's error on color10 is in the mean channel; docs/benchmarks.md).
# Step 1 (this script): the colour-difference network, CHROMA_WIDTH wide, trained 16,000 steps from fresh weights with the mean
# network frozen (--freeze-luma: the shipped rgb-d4-opponent's network on the mean channel, which costs no backward
# pass). Distilled from rgb-d4-opponent with --teacher-fa at weight 0.5 (its colour-difference error on color10 is
# gray-d4's: 12.76 / 6.68 against 12.73 / 6.90 at σ 25), so half the target is the true noise.
# Data: corpus 2 of training/make_color_corpus.py (28 photographs with their authors and licences in that script,
# and 5 scikit-image images, each also at 3/4 and 1/2 size; the 10 held-out color10 images are never written to
# the training folder). bfloat16 autocast passes (weights, optimizer and EMA float32).
# Resume an interrupted run with --resume (state: training/rgb-opponent-split$CHROMA_WIDTH.state.safetensors).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/color-train2}
INIT=${INIT:-models/rgb-d4-opponent.safetensors}
CHROMA_WIDTH=${CHROMA_WIDTH:-24}
python training/make_color_corpus.py "$DATA" 2
eqdenoise train denoiser "$DATA" --channels 3 --network opponent-split --chroma-width "$CHROMA_WIDTH" --freeze-luma \
    --out "training/rgb-opponent-split$CHROMA_WIDTH.safetensors" --init "$INIT" \
    --scale 1 --scale 0.75 --scale 0.5 --patch 64 --batch 8 \
    --lr 5e-4 --warmup 200 --sigma-range 2 80 --restoration-fraction 0.9 --sigma-weight 1 \
    --teacher "$INIT" --teacher-weight 0.5 --teacher-fa \
    --steps 16000 --seed 27 --save-every 500 --precision bf16 "$@"
