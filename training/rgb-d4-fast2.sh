#!/usr/bin/env bash
# Recipe of the second leg of the fast colour prior (issue 18): leg 1 of rgb-d4-fast (training/rgb-d4-fast.sh, a
# pixel-unshuffle U-Net 48/96/192; or its shipped file: git show bd39279:models/rgb-d4-fast.safetensors >
# training/rgb-d4-fast.safetensors) trained on with a fresh cosine on corpus 2 of training/make_color_corpus.py:
# the 14 photographs and 5 scikit-image images of leg 1 plus 14 photographs of Ubuntu's wallpaper contests
# (lomiri-wallpapers-16.04 and -20.04, each with its author and licence in make_color_corpus.py), each image also
# at 3/4 and 1/2 size. The 10 held-out images (color10) are never written to the training folder.
# bfloat16 autocast passes (weights, optimizer and EMA float32), 0.25–0.32 s a step on a 2-core AMD EPYC.
# Resume an interrupted run with --resume (state: training/rgb-d4-fast2.state.safetensors); the cosine spans --steps.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/color-train2}
INIT=${INIT:-training/rgb-d4-fast.safetensors}
python training/make_color_corpus.py "$DATA" 2
eqdenoise train denoiser "$DATA" --channels 3 --out training/rgb-d4-fast2.safetensors --init "$INIT" \
    --width 48 --level 1 --level 2 --level 4 --blocks 2 --unshuffle 2 \
    --scale 1 --scale 0.75 --scale 0.5 --patch 64 --batch 16 \
    --lr 2.5e-4 --warmup 200 --sigma-range 2 80 --restoration-fraction 0.9 --sigma-weight 1 \
    --steps 24000 --seed 19 --save-every 500 --precision bf16 "$@"
