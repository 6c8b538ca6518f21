#!/usr/bin/env bash
# Leg 2 of the split opponent colour prior (leg 1: training/rgb-opponent-split.sh, whose loss was still falling at
# its end): leg 1's weights (--init) trained 10,000 more steps on a fresh cosine at half leg 1's peak learning rate,
# the mean network still frozen (the shipped rgb-d4-opponent's), same data, teacher and bfloat16 passes as leg 1.
# Resume an interrupted run with --resume (state: training/rgb-opponent-split24-2.state.safetensors).
# Shipped as models/rgb-d4-split.safetensors (card models/rgb-d4-split.md): cp the output there.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/color-train2}
INIT=${INIT:-training/rgb-opponent-split24.safetensors}
python training/make_color_corpus.py "$DATA" 2
eqdenoise train denoiser "$DATA" --channels 3 --network opponent-split --freeze-luma \
    --out training/rgb-opponent-split24-2.safetensors --init "$INIT" \
    --scale 1 --scale 0.75 --scale 0.5 --patch 64 --batch 8 \
    --lr 2.5e-4 --warmup 200 --sigma-range 2 80 --restoration-fraction 0.9 --sigma-weight 1 \
    --teacher models/rgb-d4-opponent.safetensors --teacher-weight 0.5 --teacher-fa \
    --steps 10000 --seed 29 --save-every 500 --precision bf16 "$@"
