"""``actlab boundary``'s trainer vs a plain PyTorch loop: 4 activations × 5 seeds × 2000 epochs on 400 points.

The issue's target: one call of ``actlab boundary`` with 4 activations × 5 seeds × 2 000 full-batch
epochs on 400 training points (``circle``, 2 → 8 → 1, sigmoid output, binary cross-entropy, Adam
lr 0.03) should take seconds.  Side by side, in one process (this VM's speed drifts ±40 %, so the
two sides alternate: ours, plain, ours, plain; the best of each is printed):

* **ours**: :func:`actlab.lab2d.train.train_rows` — all 20 nets stacked, one step for all of them.
* **plain**: for each activation and seed, an ``nn.Sequential(Linear, native activation, Linear)``
  trained by ``torch.optim.Adam`` (foreach), one net after another, with ``torch.set_num_threads(1)``
  as ours (tiny tensors: threads only add overhead).

    python benchmarks/bench_boundary.py [--epochs 2000] [--seeds 5] [--hidden 8] [--repeats 2]
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from actlab.lab2d.run import load_points
from actlab.lab2d.train import BoundaryConfig, parse_row, train_rows

ACTS = ("relu", "tanh", "sigmoid", "square")
NATIVE = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


class Square(nn.Module):
    def forward(self, x):
        return x * x


def plain(x, y, hidden: int, epochs: int, seeds: int, lr: float) -> float:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    started = time.perf_counter()
    target = y.float().reshape(-1, 1)
    for act in ACTS:
        for seed in range(seeds):
            torch.manual_seed(seed)
            net = nn.Sequential(nn.Linear(2, hidden), NATIVE.get(act, Square)(), nn.Linear(hidden, 1))
            optimiser = torch.optim.Adam(net.parameters(), lr=lr, foreach=True)
            for _ in range(epochs):
                optimiser.zero_grad(set_to_none=True)
                F.binary_cross_entropy_with_logits(net(x), target).backward()
                optimiser.step()
    torch.set_num_threads(threads)
    return time.perf_counter() - started


def ours(x, y, hidden: int, epochs: int, seeds: int, lr: float) -> float:
    started = time.perf_counter()
    train_rows([parse_row(a, hidden) for a in ACTS], x, y, BoundaryConfig(hidden=hidden, steps=epochs, lr=lr, seeds=seeds, restarts=1))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    data = load_points("circle", points=500)
    x, y = data.x_train, data.y_train
    print(f"{len(ACTS)} activations × {args.seeds} seeds × {args.epochs} epochs, {len(x)} points, hidden {args.hidden}")
    ours(x, y, args.hidden, 5, args.seeds, 0.03)  # warm-up
    times = {"ours": [], "plain": []}
    for _ in range(args.repeats):
        times["ours"].append(ours(x, y, args.hidden, args.epochs, args.seeds, 0.03))
        times["plain"].append(plain(x, y, args.hidden, args.epochs, args.seeds, 0.03))
    best = {k: min(v) for k, v in times.items()}
    steps = len(ACTS) * args.seeds * args.epochs
    for name, seconds in best.items():
        print(f"{name:>6}: {seconds:6.2f} s  ({1e6 * seconds / steps:6.1f} µs per net-step)  runs: "
              + ", ".join(f"{t:.2f}" for t in times[name]))
    print(f"speed-up ours vs plain: {best['plain'] / best['ours']:.1f}×")


if __name__ == "__main__":
    main()
