#!/usr/bin/env bash
# Recipe of models/rgb-d4.safetensors: scikit-image's bundled colour photos and the left three quarters of
# its immunohistochemistry slide (training/make_rgb_data.py; chelsea, coffee and the slide's right quarter
# are held out). Resumes with --resume if interrupted. Run with one thread (OMP_NUM_THREADS=1) beside
# leg 2 of gray-d4 on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/rgb-train}
python training/make_rgb_data.py "$DATA"
eqdenoise train denoiser "$DATA" --channels 3 --out models/rgb-d4.safetensors \
    --state training/rgb-d4.state.safetensors --steps 5600 --seed 0 "$@"
