"""The whole ``actlab compare`` job vs a plain PyTorch loop at three sizes, wall time including start-up and
compilation, each side a fresh process, run one after the other (alternating when --rounds > 1).

    PYTHONPATH=src python benchmarks/bench_sizes.py [--size small|medium|default|all] [--rounds 1] [--compile auto]
        [--device cpu|cuda] [--threads N] [--no-floor]

Sizes (the issue's): small = digits, 4 activations × 3 seeds × 10 epochs; medium = MNIST-1D, 9 × 3 × 20;
default = the ``make demo`` job (MNIST, 9 × 3 × 20).  The plain loop: per run an ``nn.Sequential`` MLP
(depth 2, width 128) with torch's native activation modules, fused Adam (lr 1e-3), batch 128, float32, a
validation pass per epoch and a test pass at the end — the strongest simple baseline.  Prints seconds and
the ratio plain / actlab (> 1: actlab faster), with the device, for the whole command (actlab's includes
storing every epoch and writing the report with its figures) and for the training alone.  The default job takes minutes on each side
(run it once: ``--size default``).

At the default size it also reports the grid's training time as a multiple of the **GEMM + Adam floor**: the
same step's matrix multiplies (layer 1 per seed group on the batch's nonzero columns, batched matmuls for the
other layers, forward and backward) and ``torch._fused_adam_``, with no activation and no bookkeeping
(``bench_grid.floor``), times the job's steps.  The grid's training time is ``compare --json``'s
``wall_seconds`` (training incl. each epoch's validation pass) minus its ``compile_seconds``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
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
device = sys.argv[5]
data = actlab.data.load(dataset)
flat = lambda x: x.reshape(len(x), -1).float().to(device)
xt, xv, xs = flat(data.x_train), flat(data.x_val), flat(data.x_test)
yt, yv, ys = (torch.as_tensor(y).to(device) for y in (data.y_train, data.y_val, data.y_test))
started = time.perf_counter()
native = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU,
          "elu": nn.ELU, "selu": nn.SELU, "silu": nn.SiLU, "mish": nn.Mish}
for act in acts:
    for seed in range(seeds):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(xt.shape[1], 128), native[act](), nn.Linear(128, 128), native[act](),
                              nn.Linear(128, data.num_classes)).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
        for epoch in range(epochs):
            order = torch.randperm(len(xt), device=device)
            for i in range(0, len(xt), 128):
                idx = order[i:i + 128]
                opt.zero_grad(set_to_none=True)
                nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
                opt.step()
            with torch.no_grad():
                nn.functional.cross_entropy(model(xv), yv).item()
        with torch.no_grad():
            (model(xs).argmax(1) == ys.to(device)).float().mean().item()
print(time.perf_counter() - started)
'''


def device_name(device: str) -> str:
    """The device in words (CPU model and cores, or the GPU's name)."""
    if device.startswith("cuda"):
        import torch

        return f"cuda ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else "cuda (not available here)"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
    except OSError:
        model = None
    return f"{device} ({model or platform.machine()}, {os.cpu_count()} cores)"


def load() -> str:
    return "load %.1f %.1f %.1f" % os.getloadavg()


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{done.stderr[-2000:]}")
    return time.perf_counter() - start, done.stdout


def floor_seconds(dataset: str, acts: list[str], seeds: int, epochs: int, device: str) -> float:
    """The GEMM + fused-Adam floor of the whole job's training steps (``bench_grid.floor`` per step)."""
    from bench_grid import floor

    import actlab.data
    from actlab.train import RunSpec, TrainConfig
    from actlab.train.grid import GridTrainer
    from actlab.train.prepared import prepare

    data = prepare(actlab.data.load(dataset), "mlp", device)
    runs = [RunSpec(a, s) for a in acts for s in range(seeds)]
    trainer = GridTrainer(data, TrainConfig(epochs=epochs), runs)
    steps = epochs * math.ceil(len(data.x_train) / trainer.config.batch_size)
    return floor(trainer, data, steps=100) * steps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="small", help="small, medium, default or all (or a comma list)")
    parser.add_argument("--sizes", dest="size", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--compile", default="auto")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="OMP_NUM_THREADS for both sides (0: torch's default)")
    parser.add_argument("--no-floor", action="store_true", help="skip the GEMM + Adam floor (default size)")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    device = device_name(args.device)
    print(f"device: {device}, threads: {args.threads or 'default'}, compile: {args.compile}")
    sizes = list(SIZES) if args.size == "all" else args.size.split(",")
    for size in sizes:
        dataset, acts, seeds, epochs = SIZES[size]
        ours, plain, trained, plain_trained = [], [], [], []
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as out:
                seconds, stdout = _run([sys.executable, "-m", "actlab.cli", "compare", "--dataset", dataset,
                                        "--acts", ",".join(acts), "--seeds", str(seeds), "--epochs", str(epochs),
                                        "--compile", args.compile, "--device", args.device, "--json",
                                        "--out", os.path.join(out, "run")], env)
            summary = json.loads(stdout)
            ours.append(seconds)
            trained.append((summary.get("wall_seconds") or 0.0) - (summary.get("compile_seconds") or 0.0))
            seconds, stdout = _run([sys.executable, "-c", PLAIN, dataset, ",".join(acts), str(seeds), str(epochs),
                                    args.device], env)
            plain.append(seconds)
            plain_trained.append(float(stdout.split()[-1]))
        a, p = statistics.median(ours), statistics.median(plain)
        ta, tp = statistics.median(trained), statistics.median(plain_trained)
        print(f"{size:8s} {dataset:8s} {len(acts)}×{seeds}×{epochs}: actlab {a:6.1f} s  plain {p:6.1f} s  "
              f"plain/actlab {p / a:4.2f}×  (compiled: {summary.get('compiled')}, compile "
              f"{summary.get('compile_seconds')} s)  [{device}, {load()}]", flush=True)
        print(f"{'':8s} training only (actlab: compare's wall_seconds − compile_seconds, with each epoch's validation; "
              f"plain: its loop): actlab {ta:6.1f} s  plain {tp:6.1f} s  plain/actlab {tp / ta:4.2f}×", flush=True)
        if size == "default" and not args.no_floor:
            if args.threads:
                import torch

                torch.set_num_threads(args.threads)
            floor = floor_seconds(dataset, acts, seeds, epochs, args.device)
            grid = statistics.median(trained)
            print(f"{'':8s} GEMM + Adam floor of the job's steps {floor:6.1f} s; grid training (wall − compile) "
                  f"{grid:6.1f} s = {grid / floor:4.2f}× the floor  [{device}, {load()}]")


if __name__ == "__main__":
    main()
