#!/usr/bin/env bash
# Recipe of models/ct2pet-d4.safetensors and of its regression baseline (training/ct2pet-regression.safetensors).
# Needs the data extra: pip install -e ".[data]". Both runs resume with --resume if interrupted.
# The two runs were made side by side with one thread each (OMP_NUM_THREADS=1) on a 2-core machine.
# They were run with --ema 0.999 and the finished states re-exported with --ema 0 --resume (the raw
# weights at the end of the cosine decay; the raw trajectory does not depend on the EMA setting).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/ct2pet}
STEPS=${STEPS:-3500}
python training/make_ct2pet_pairs.py "$DATA"
common=(--source "$DATA/train/ct" --target "$DATA/train/pet" --source-window -1000 1000 --source-unit HU
        --target-window 0 2 --target-unit "activity (simulated, a.u.)" --source-modality CT --target-modality PET
        --steps "$STEPS" --batch 16 --patch 64 --width 32 --ema 0 --seed 0 "$@")
OMP_NUM_THREADS=1 eqdenoise train bridge "${common[@]}" --out models/ct2pet-d4.safetensors \
    --state training/ct2pet-d4.state.safetensors &
OMP_NUM_THREADS=1 eqdenoise train bridge "${common[@]}" --regression --out training/ct2pet-regression.safetensors &
wait
