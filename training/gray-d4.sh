#!/usr/bin/env bash
# Recipe of models/gray-d4.safetensors: six legs on Train400 (the DnCNN training set), never Set12 or BSD68.
#   leg 1: from scratch, 1 block per level                      -> training/gray-d4-base.safetensors (committed)
#   leg 2: 64² patches, σ 5–75 (0–255 scale)                     -> training/gray-d4-leg2.safetensors (not kept; rerun
#          with LEGS=2 bash training/gray-d4.sh, or restore its state from 2dc3fc3^ and add --resume)
#   leg 3: the same, a longer cosine, stopped at step 1,750      -> training/gray-d4-leg3.safetensors (committed)
#   leg 4: grown to 3 blocks per level (the added blocks start as the identity), 8,000 steps
#                                                               -> training/gray-d4-leg4.safetensors (history*)
#   leg 5: a fresh cosine, the ε-loss weighted by σ/σ_mid so high noise counts as much as low (in dB), 5,000 steps
#                                                               -> training/gray-d4-leg5.safetensors (history*)
#   leg 6: the same loss on 128² patches (4 per step: the same pixels per step, more context), lr 1e-4, 3,500 steps
#                                                               -> models/gray-d4.safetensors (shipped; the same bytes
#                                                                  as training/gray-d4-leg6.safetensors, history*)
#   leg 7 (not shipped): self-attention added in the middle (windows of 32 positions = 128 px), 4,000 steps
#                                                               -> training/gray-d4-leg7.safetensors (history*)
#   leg 8 (shipped as the opt-in models/gray-d4-large.safetensors, a copy of its file): leg 6 widened to base 64
#          (every level x2, 13.6M parameters) with attention as in leg 7, bfloat16 autocast (--precision bf16, ~3x
#          faster on CPUs with AMX), 8,000 steps
#                                                               -> training/gray-d4-leg8.safetensors (history*; the same
#                                                                  bytes as models/gray-d4-large.safetensors)
#   leg 9: a short fresh cosine from leg 8 in float32 (run on an AVX2-only CPU, about 5.5 s a step on 2 threads) at
#          lr 5e-5, the loss weighted by (σ/σ_mid)^1.5 (more weight on high noise, where leg 8 still trailed FFDNet
#          on Set12), EMA 0.998, 900 steps            -> training/gray-d4-leg9.safetensors
#          (run 2026-11-25: Set12 canon 32.82 / 30.47 / 27.33, no gain over leg 8; not committed)
#   leg 10: leg 6 trained on Train400 at DnCNN's four scales (1, 0.9, 0.8, 0.7: antialiased bicubic copies; 124²
#          patches, the largest that the 126² copies at 0.7 hold), leg 6's loss, a fresh cosine at lr 1e-4, 3,500 steps
#                                                               -> training/gray-d4-leg10.safetensors (history*)
#          (run 2026-12-01: Set12 canon 32.79 / 30.44 / 27.29, +0.00 / +0.01 / +0.02 over leg 6; not shipped)
# Run one leg with LEGS=N; each leg starts from the previous leg's file (legs 7, 8 and 10 from leg 6, which is the shipped
# models/gray-d4.safetensors; leg 9 from leg 8, the shipped models/gray-d4-large.safetensors), so LEGS=7, 8, 9 or 10
# need only the shipped models.
# * history: over 10 MB, so removed from the tree on 2026-12-02 (issue 19: a lean repository); the last commit that
#   holds them is 89ebb99ef320d73865322664217f38edb2f9d71e, e.g.
#   git show 89ebb99ef320d73865322664217f38edb2f9d71e:training/gray-d4-leg5.safetensors > training/gray-d4-leg5.safetensors
#   restores leg 5 (the start of leg 6). SHA-256 are in models/gray-d4.md.
# Every leg resumes with --resume if interrupted. Legs 3-10 were run with two threads on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/dncnn-gray/Train400}
LEGS=${LEGS:-1 2 3 4 5 6 7 8 9 10}
NARROW=(--patch 64 --lr 2e-4 --sigma-range 5 75 --restoration-fraction 0.9)
for leg in $LEGS; do
    case "$leg" in
    1) eqdenoise train denoiser "$DATA" --out training/gray-d4-base.safetensors --steps 16000 --seed 0 "$@" ;;
    2) eqdenoise train denoiser "$DATA" --init training/gray-d4-base.safetensors --out training/gray-d4-leg2.safetensors \
           --state training/gray-d4-leg2.state.safetensors "${NARROW[@]}" --steps 2400 --warmup 100 --seed 1 "$@" ;;
    3) eqdenoise train denoiser "$DATA" --init training/gray-d4-leg2.safetensors --out training/gray-d4-leg3.safetensors \
           --state training/gray-d4-leg3.state.safetensors "${NARROW[@]}" --steps 9250 --stop-at 1750 --warmup 200 \
           --seed 2 "$@" ;;
    4) eqdenoise train denoiser "$DATA" --init training/gray-d4-leg3.safetensors --blocks 3 \
           --out training/gray-d4-leg4.safetensors "${NARROW[@]}" --steps 8000 --warmup 300 --seed 3 "$@" ;;
    5) eqdenoise train denoiser "$DATA" --init training/gray-d4-leg4.safetensors --out training/gray-d4-leg5.safetensors \
           "${NARROW[@]}" --sigma-weight 1 --steps 5000 --warmup 200 --seed 4 "$@" ;;
    6) eqdenoise train denoiser "$DATA" --init training/gray-d4-leg5.safetensors --out models/gray-d4.safetensors \
           --state training/gray-d4-leg6.state.safetensors --patch 128 --batch 4 --lr 1e-4 --sigma-range 5 75 \
           --restoration-fraction 0.9 --sigma-weight 1 --steps 3500 --warmup 100 --seed 5 "$@" ;;
    7) eqdenoise train denoiser "$DATA" --init models/gray-d4.safetensors --attention 32 \
           --out training/gray-d4-leg7.safetensors --state training/gray-d4-leg7.state.safetensors --patch 128 --batch 4 \
           --lr 1e-4 --sigma-range 5 75 --restoration-fraction 0.9 --sigma-weight 1 --steps 4000 --warmup 200 \
           --seed 6 "$@" ;;
    8) eqdenoise train denoiser "$DATA" --init models/gray-d4.safetensors --width 64 --attention 32 \
           --out training/gray-d4-leg8.safetensors --state training/gray-d4-leg8.state.safetensors --patch 128 --batch 4 \
           --lr 2e-4 --sigma-range 5 75 --restoration-fraction 0.9 --sigma-weight 1 --steps 8000 --warmup 300 \
           --seed 7 --precision bf16 "$@" ;;
    9) eqdenoise train denoiser "$DATA" --init models/gray-d4-large.safetensors \
           --out training/gray-d4-leg9.safetensors --state training/gray-d4-leg9.state.safetensors --patch 128 --batch 4 \
           --lr 5e-5 --sigma-range 5 75 --restoration-fraction 0.9 --sigma-weight 1.5 --steps 900 --warmup 50 \
           --ema 0.998 --seed 8 "$@" ;;
    10) eqdenoise train denoiser "$DATA" --init models/gray-d4.safetensors \
           --out training/gray-d4-leg10.safetensors --state training/gray-d4-leg10.state.safetensors --patch 124 --batch 4 \
           --scale 1 --scale 0.9 --scale 0.8 --scale 0.7 --lr 1e-4 --sigma-range 5 75 --restoration-fraction 0.9 \
           --sigma-weight 1 --steps 3500 --warmup 100 --seed 10 "$@" ;;
    *) echo "unknown leg $leg" >&2; exit 2 ;;
    esac
done
