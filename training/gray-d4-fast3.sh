#!/usr/bin/env bash
# Recipe of the long run of the fast gray prior (issue 18), meant to span several sessions: the shipped gray-d4-fast
# (32/64/128 channels on the 2×2 sub-images; training/gray-d4-fast.sh, then gray-d4-fast2.sh) grown
# function-preservingly to 40/80/160 (about FFDNet's arithmetic per pixel) and trained 40,000 steps on Train400
# plus the luma tiles of colour corpus 2 (training/make_gray_corpus.py DIR 2: 889 tiles of 28 photographs and
# 5 scikit-image images; never Set12, BSD68 or the colour corpus's held-out images), each image also at 0.9, 0.8
# and 0.7 of its size, in 96×96 patches (8 a step). Distilled from the shipped gray-d4 with --teacher-fa: the
# teacher sees each batch turned by a random element of d4 and its prediction is turned back, so the target
# 0.25·ε + 0.75·ε̂ has the teacher's frame average as its mean. bfloat16 autocast passes (weights, optimizer and
# EMA float32). Resume an interrupted run with --resume (state: training/gray-d4-fast3.state.safetensors); the
# cosine spans --steps.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/gray-train2}
INIT=${INIT:-models/gray-d4-fast.safetensors}
python training/make_gray_corpus.py "$DATA" 2
eqdenoise train denoiser "$DATA" --out training/gray-d4-fast3.safetensors --init "$INIT" \
    --width 40 --level 1 --level 2 --level 4 --blocks 2 --unshuffle 2 \
    --scale 1 --scale 0.9 --scale 0.8 --scale 0.7 --patch 96 --batch 8 \
    --lr 2.5e-4 --warmup 300 --sigma-range 2 80 --restoration-fraction 0.9 --sigma-weight 1 \
    --teacher models/gray-d4.safetensors --teacher-weight 0.75 --teacher-fa \
    --steps 40000 --seed 24 --save-every 500 --precision bf16 "$@"
