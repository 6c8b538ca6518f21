#!/usr/bin/env bash
# Recipe of the third leg of the fast colour prior (issue 18): leg 2 of rgb-d4-fast (training/rgb-d4-fast2.sh; or
# its shipped file: git show 5d2c4ed:models/rgb-d4-fast.safetensors > training/rgb-d4-fast2.safetensors)
# trained on with a fresh cosine on the same corpus 2 of training/make_color_corpus.py (28 photographs and
# 5 scikit-image images, each also at 3/4 and 1/2 size; the 10 held-out images, color10, are never written to the
# training folder), in 96×96 patches (8 a step, about the pixels of leg 2's 16 64×64 ones) so that the
# U-Net's 1/8-resolution level sees 12×12 positions instead of 8×8. Distilled from leg 2's own frame average
# (--teacher-fa): leg 2 sees each batch turned by a random element of d4 and its prediction is turned back, so
# the target 0.25·ε + 0.75·ε̂ has as its mean leg 2 averaged over d4 (its --method fa, 0.2–0.3 dB over its canon).
# bfloat16 autocast passes (weights, optimizer and EMA float32).
# Resume an interrupted run with --resume (state: training/rgb-d4-fast3.state.safetensors); the cosine spans --steps.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/color-train2}
INIT=${INIT:-training/rgb-d4-fast2.safetensors}
python training/make_color_corpus.py "$DATA" 2
eqdenoise train denoiser "$DATA" --channels 3 --out training/rgb-d4-fast3.safetensors --init "$INIT" \
    --width 48 --level 1 --level 2 --level 4 --blocks 2 --unshuffle 2 \
    --scale 1 --scale 0.75 --scale 0.5 --patch 96 --batch 8 \
    --lr 2e-4 --warmup 200 --sigma-range 2 80 --restoration-fraction 0.9 --sigma-weight 1 \
    --teacher "$INIT" --teacher-weight 0.75 --teacher-fa \
    --steps 15000 --seed 23 --save-every 500 --precision bf16 "$@"
