#!/usr/bin/env bash
# Recipe of the photo-trained fast gray prior (issue 18): the shipped gray-d4-fast (32/64/128 channels on the 2×2
# sub-images) grown function-preservingly to 40/80/160 (about FFDNet's arithmetic per pixel) and trained on,
# undistilled, on Train400 plus luma tiles of the colour corpus's training photographs
# (training/make_gray_corpus.py: 14 Debian wallpaper photographs and 5 scikit-image images; never Set12, BSD68
# or the colour corpus's held-out images), each image also at 0.9, 0.8 and 0.7 of its size. float32 (about 0.7 s
# a step on a 2-core AVX2 EPYC). Resume an interrupted run with --resume; the cosine spans --steps.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/gray-train}
INIT=${INIT:-models/gray-d4-fast.safetensors}
python training/make_gray_corpus.py "$DATA"
eqdenoise train denoiser "$DATA" --out training/gray-d4-fast-photos.safetensors --init "$INIT" \
    --width 40 --level 1 --level 2 --level 4 --blocks 2 --unshuffle 2 \
    --scale 1 --scale 0.9 --scale 0.8 --scale 0.7 --patch 64 --batch 16 \
    --lr 3e-4 --warmup 300 --sigma-range 2 80 --restoration-fraction 0.9 --sigma-weight 1 \
    --steps 7000 --seed 21 --save-every 500 "$@"
