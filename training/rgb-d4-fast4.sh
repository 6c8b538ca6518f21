#!/usr/bin/env bash
# Recipe of leg 4 of the fast colour prior (issue 18): the shipped leg 2 (training/rgb-d4-fast2.sh; models/rgb-d4-fast)
# trained on corpus 2 of training/make_color_corpus.py (28 photographs with their authors and licences in that
# script, and 5 scikit-image images, each also at 3/4 and 1/2 size; the 10 held-out color10 images are never
# written to the training folder), distilled from the shipped gray prior gray-d4 run on the three opponent channels
# (a gray teacher of a colour model, docs/method.md) with --teacher-fa: the teacher sees each batch turned by a
# random element of d4 and its prediction is turned back, so the target 0.25·ε + 0.75·ε̂ has the frame average of
# gray-d4 on the opponent channels as its mean. gray-d4 on the opponent channels is 0.6–0.7 dB ahead of leg 2 on
# color10 with one orientation (docs/benchmarks.md). bfloat16 autocast passes (weights, optimizer and EMA float32).
# Resume an interrupted run with --resume (state: training/rgb-d4-fast4.state.safetensors); the cosine spans --steps.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/color-train2}
INIT=${INIT:-models/rgb-d4-fast.safetensors}
python training/make_color_corpus.py "$DATA" 2
eqdenoise train denoiser "$DATA" --channels 3 --out training/rgb-d4-fast4.safetensors --init "$INIT" \
    --width 48 --level 1 --level 2 --level 4 --blocks 2 --unshuffle 2 \
    --scale 1 --scale 0.75 --scale 0.5 --patch 64 --batch 16 \
    --lr 2.5e-4 --warmup 200 --sigma-range 2 80 --restoration-fraction 0.9 --sigma-weight 1 \
    --teacher models/gray-d4.safetensors --teacher-weight 0.75 --teacher-fa \
    --steps 12000 --seed 25 --save-every 500 --precision bf16 "$@"
