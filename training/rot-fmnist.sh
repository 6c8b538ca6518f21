#!/usr/bin/env bash
# Recipes of the three rotated Fashion-MNIST priors of issue 20 (the SPDM paper's table on this data):
#   bash training/rot-fmnist.sh plain   # a plain U-Net with C4 augmentation        → training/rot-fmnist-plain.safetensors
#   bash training/rot-fmnist.sh reg     # the same with the regularizer, λ = 1      → training/rot-fmnist-reg.safetensors
#   bash training/rot-fmnist.sh wt      # weight-tied C4 U-Net, 4 fields = 16 channels → training/rot-fmnist-wt.safetensors
# Data: the 60,000 training images of Debian's dataset-fashion-mnist, each turned by a random multiple of 90°
# (training/make_rotated_fashion_mnist.py; the 10,000 test images are held out). Small networks for a 2-core CPU:
# widths 16/32/32 at 28, 14 and 7 pixels, one residual block per level, batch 32 of whole 28×28 images, noise levels
# uniform in schedule time (unconditional sampling needs the whole schedule), 8,000 steps. Extra arguments are
# passed on (e.g. --resume).
set -euo pipefail
cd "$(dirname "$0")/.."
KIND=${1:?plain, reg or wt}
shift
DATA=${DATA:-data/rot-fmnist}
[ -d "$DATA/train" ] || python training/make_rotated_fashion_mnist.py "$DATA"
case "$KIND" in
    plain) EXTRA=(--width 16 --seed 30) ;;
    reg) EXTRA=(--width 16 --reg 1 --seed 31) ;;
    wt) EXTRA=(--network wt --width 4 --seed 32) ;;
    *) echo "unknown kind $KIND (plain, reg or wt)" >&2; exit 2 ;;
esac
eqdenoise train denoiser "$DATA/train" --out "training/rot-fmnist-$KIND.safetensors" --group c4 \
    --level 1 --level 2 --level 2 --blocks 1 --patch 28 --batch 32 --restoration-fraction 0 --sigma-range 1 100 \
    --steps 8000 --save-every 500 "${EXTRA[@]}" "$@"
