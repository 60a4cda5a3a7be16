"""The whole ``actlab compare`` job vs a plain PyTorch loop at three sizes, wall time including start-up and
compilation, each side a fresh process, run one after the other (alternating when --rounds > 1).

    PYTHONPATH=src python benchmarks/bench_sizes.py [--sizes small,medium,default] [--rounds 1] [--compile auto]

Sizes (the issue's): small = digits, 4 activations × 3 seeds × 10 epochs; medium = MNIST-1D, 9 × 3 × 20;
default = the ``make demo`` job (MNIST, 9 × 3 × 20).  The plain loop: per run an ``nn.Sequential`` MLP
(depth 2, width 128) with torch's native activation modules, fused Adam (lr 1e-3), batch 128, float32, a
validation pass per epoch and a test pass at the end — the strongest simple baseline.  Prints seconds and
the ratio plain / actlab (> 1: actlab faster), with the device.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

SIZES = {
    "small": ("digits", ["relu", "tanh", "gelu", "sigmoid"], 3, 10),
    "medium": ("mnist1d", ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish"], 3, 20),
    "default": ("mnist", ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish"], 3, 20),
}

PLAIN = r'''
import sys, time, torch
from torch import nn
import actlab.data
dataset, acts, seeds, epochs = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), int(sys.argv[4])
data = actlab.data.load(dataset)
flat = lambda x: x.reshape(len(x), -1).float()
xt, yt, xv, yv, xs, ys = flat(data.x_train), data.y_train, flat(data.x_val), data.y_val, flat(data.x_test), data.y_test
native = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU,
          "elu": nn.ELU, "selu": nn.SELU, "silu": nn.SiLU, "mish": nn.Mish}
for act in acts:
    for seed in range(seeds):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(xt.shape[1], 128), native[act](), nn.Linear(128, 128), native[act](),
                              nn.Linear(128, data.num_classes))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
        for epoch in range(epochs):
            order = torch.randperm(len(xt))
            for i in range(0, len(xt), 128):
                idx = order[i:i + 128]
                opt.zero_grad(set_to_none=True)
                nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
                opt.step()
            with torch.no_grad():
                nn.functional.cross_entropy(model(xv), yv).item()
        with torch.no_grad():
            (model(xs).argmax(1) == ys).float().mean().item()
'''


def _run(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="small")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--compile", default="auto")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    env = dict(os.environ)
    print(f"device: {args.device} (CPU threads: {os.cpu_count()}), compile: {args.compile}")
    for size in args.sizes.split(","):
        dataset, acts, seeds, epochs = SIZES[size]
        ours, plain = [], []
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as out:
                ours.append(_run([sys.executable, "-m", "actlab.cli", "compare", "--dataset", dataset, "--acts", ",".join(acts),
                                  "--seeds", str(seeds), "--epochs", str(epochs), "--compile", args.compile,
                                  "--device", args.device, "--quiet", "--out", os.path.join(out, "run")], env))
            plain.append(_run([sys.executable, "-c", PLAIN, dataset, ",".join(acts), str(seeds), str(epochs)], env))
        a, p = statistics.median(ours), statistics.median(plain)
        print(f"{size:8s} {dataset:8s} {len(acts)}×{seeds}×{epochs}: actlab {a:6.1f} s  plain {p:6.1f} s  "
              f"plain/actlab {p / a:4.2f}×")


if __name__ == "__main__":
    main()
