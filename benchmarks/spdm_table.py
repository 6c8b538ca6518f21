"""The SPDM paper's table on rotated Fashion-MNIST: FID, Inv-FID, Δx0 (sampling and SDEdit) and time per method.

Rows: plain (the augmented network without a frame), FA, canon, WT, Reg, Reg + canon. Columns:

- FID on the 64 features of a small Fashion-MNIST classifier that this script trains on the rotated
  training split (seeded; its test accuracy is printed). It is not Inception-FID, which needs weights
  from a hub; numbers are comparable between rows of one run, not with published FIDs.
- Inv-FID (the paper's): the largest FID between the samples and the samples turned by g, over g ≠ e.
- Δx0 (the paper's): the mean over inputs of max |f(g·x) − g·f(x)| on [0, 1], g drawn per input: for sampling
  (x the initial noise, f the sampler) and for SDEdit restoration of held-out test images reduced to 1/4 of
  their size and upsampled (nearest), noised to ``--strength``.
- seconds per sample.

Every sampler runs with ``--eta`` (1 by default) and draws its noise in ``--noise-frame`` (canonical by default,
the paper's equivariant noise for every row; ``input`` is the ablation). ``--delta-only`` prints the Δx0 columns
alone (no classifier, no FID).

    python benchmarks/spdm_table.py --plain models/rot-fmnist-plain.safetensors \\
        --reg models/rot-fmnist-reg.safetensors --wt models/rot-fmnist-wt.safetensors
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch
from scipy import linalg
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
from make_rotated_fashion_mnist import load_split  # noqa: E402

from eqdenoise.frames.groups import GROUPS  # noqa: E402
from eqdenoise.nets.checkpoint import load_model  # noqa: E402
from eqdenoise.tasks.restoration import DenoiseOptions, restore  # noqa: E402
from eqdenoise.tasks.sampling import SampleOptions, initial_noise, sample  # noqa: E402

ROWS = [("plain", "plain", "none"), ("FA", "plain", "fa"), ("canon", "plain", "canon"), ("WT", "wt", "wt"),
        ("Reg", "reg", "none"), ("Reg + canon", "reg", "canon")]
PAPER = {"plain": ("SPDiff", 2.21, 0.2997), "WT": ("SPDiff+WT", 2.20, 0.0004), "FA": ("SPDiff+OC", 2.12, 0.0002),
         "Reg": ("SPDiff+Reg", 2.09, 0.1806), "Reg + canon": ("SPDiff+Reg+OC", 2.07, 0.0002)}


class Classifier(nn.Module):
    """A small CNN whose 64 penultimate features serve as the FID embedding."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, 64), nn.ReLU())
        self.head = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def as_batch(images: np.ndarray) -> torch.Tensor:
    """N×28×28 images over [0, 1] as a normalised (N, 1, 28, 28) tensor."""
    return (torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))[:, None] - 0.5) / 0.5


def train_classifier(epochs: int, seed: int) -> tuple[Classifier, float]:
    """Train on the rotated training split; return the network and its accuracy on the rotated test split."""
    torch.manual_seed(seed)
    images, labels, _ = load_split("train")
    x, y = as_batch(images / 255.0), torch.from_numpy(labels.astype(np.int64))
    net = Classifier()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for batch in torch.randperm(len(x), generator=generator).split(128):
            optimizer.zero_grad()
            nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
            optimizer.step()
    test, test_labels, _ = load_split("test")
    with torch.no_grad():
        predicted = torch.cat([net(b).argmax(1) for b in as_batch(test / 255.0).split(1000)])
    return net.eval(), float((predicted.numpy() == test_labels).mean())


def features(net: Classifier, images: np.ndarray) -> np.ndarray:
    """The 64 classifier features of N×28×28 images over [0, 1]."""
    with torch.no_grad():
        return torch.cat([net.features(b) for b in as_batch(images).split(1000)]).double().numpy()


def fid(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets."""
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b)
    return float(((mean_a - mean_b) ** 2).sum() + np.trace(cov_a + cov_b - 2.0 * root.real))


def draw_samples(model, method: str, n: int, steps: int, seed: int, eta: float, noise_frame: str
                 ) -> tuple[np.ndarray, float]:
    """n samples (N×28×28 over [0, 1]) and the seconds per sample."""
    started = time.perf_counter()
    out = [sample(model, initial_noise(model, 28, 28, seed + i),
                  SampleOptions(method=method, steps=steps, eta=eta, seed=seed + i, noise_frame=noise_frame))[0]
           for i in range(n)]
    return np.stack(out), (time.perf_counter() - started) / n


def sampling_delta(model, method: str, n: int, steps: int, seed: int, eta: float, noise_frame: str) -> float:
    """Mean over n initial noises z of max |sample(g·z) − g·sample(z)|, g drawn per z."""
    group, rng, worst = list(GROUPS["c4"]), np.random.default_rng(seed), []
    for i in range(n):
        z, g = initial_noise(model, 28, 28, seed + i), group[rng.integers(1, len(group))]
        options = SampleOptions(method=method, steps=steps, eta=eta, seed=seed + i, noise_frame=noise_frame)
        worst.append(np.abs(sample(model, g.apply(z), options) - g.apply(sample(model, z, options))).max())
    return float(np.mean(worst))


def restoration_delta(model, method: str, images: np.ndarray, strength: float, steps: int, seed: int, eta: float,
                      noise_frame: str) -> float:
    """Mean over images of max |f(g·x) − g·f(x)| for SDEdit of x at 1/4 resolution, g drawn per image."""
    group, rng, worst = list(GROUPS["c4"]), np.random.default_rng(seed), []
    for i, image in enumerate(images):
        small = image.reshape(7, 4, 7, 4).mean(axis=(1, 3))
        x = np.repeat(np.repeat(small, 4, axis=0), 4, axis=1)[None].astype(np.float32)
        g = group[rng.integers(1, len(group))]
        options = DenoiseOptions(method=method, strength=strength, steps=steps, eta=eta, seed=seed + i,
                                 noise_frame=noise_frame)
        turned = restore(model, g.apply(x), options).pixels
        worst.append(np.abs(turned - g.apply(restore(model, x, options).pixels)).max())
    return float(np.mean(worst))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plain", required=True)
    parser.add_argument("--reg", required=True)
    parser.add_argument("--wt", required=True)
    parser.add_argument("--samples", type=int, default=1000, help="samples per row for FID and Inv-FID")
    parser.add_argument("--steps", type=int, default=20, help="DDIM steps")
    parser.add_argument("--eta", type=float, default=1.0, help="DDIM η of every sampler")
    parser.add_argument("--noise-frame", choices=["canonical", "input"], default="canonical",
                        help="where the samplers' noise is drawn (input: the ablation)")
    parser.add_argument("--delta-inputs", type=int, default=100, help="inputs per row for each Δx0")
    parser.add_argument("--strength", type=float, default=0.5)
    parser.add_argument("--epochs", type=int, default=2, help="classifier epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--delta-only", action="store_true", help="only the two Δx0 columns per row")
    args = parser.parse_args()
    models = {name: load_model(getattr(args, name)) for name in ("plain", "reg", "wt")}
    test, _, _ = load_split("test")
    sampler = dict(eta=args.eta, noise_frame=args.noise_frame)

    def deltas(kind: str, method: str) -> tuple[float, float]:
        return (sampling_delta(models[kind], method, args.delta_inputs, args.steps, args.seed + 10_000, **sampler),
                restoration_delta(models[kind], method, test[:args.delta_inputs] / 255.0, args.strength, args.steps,
                                  args.seed, **sampler))

    setting = f"{args.steps} DDIM steps, η = {args.eta:g}, noise drawn in the {args.noise_frame} frame"
    if args.delta_only:
        print(f"{setting}\n\n| method | Δx0 sampling | Δx0 SDEdit |\n| --- | --- | --- |")
        for label, kind, method in ROWS:
            print("| {} | {:.4f} | {:.4f} |".format(label, *deltas(kind, method)))
        return
    net, accuracy = train_classifier(args.epochs, args.seed)
    reference = features(net, test / 255.0)
    print(f"classifier: {accuracy:.4f} accuracy on the rotated test split", file=sys.stderr)
    rows = []
    for label, kind, method in ROWS:
        samples, seconds = draw_samples(models[kind], method, args.samples, args.steps, args.seed, **sampler)
        found = features(net, samples)
        inv = max(fid(found, features(net, np.stack([g.apply(s) for s in samples])))
                  for g in GROUPS["c4"] if g.k)
        delta_sampling, delta_restore = deltas(kind, method)
        rows.append((label, fid(found, reference), inv, delta_sampling, delta_restore, seconds))
        print(f"{label}: done", file=sys.stderr)
    print(f"Measured {date.today()} on {platform.machine()} ({platform.processor() or 'cpu'}), "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}; {args.samples} samples, {setting}; "
          f"classifier accuracy {accuracy:.4f}\n")
    print("| method | FID (classifier features) | Inv-FID | Δx0 sampling | Δx0 SDEdit | s / sample "
          "| paper, rotated MNIST: row, Inv-FID / Δx0 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, value, inv, delta_sampling, delta_restore, seconds in rows:
        paper = PAPER.get(label)
        cited = f"{paper[0]}: {paper[1]} / {paper[2]}" if paper else "—"
        print(f"| {label} | {value:.3f} | {inv:.3f} | {delta_sampling:.4f} | {delta_restore:.4f} | {seconds:.3f} "
              f"| {cited} |")


if __name__ == "__main__":
    main()
