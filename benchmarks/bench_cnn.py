"""The CNN grid (``--model cnn``) vs a plain PyTorch loop, training steps side by side in one process.

    PYTHONPATH=src python benchmarks/bench_cnn.py [--steps 4] [--rounds 2] [--bf16] [--device cpu]

The default CNN grid: 6 activations (relu, leaky_relu, elu, gelu, silu, tanh) × 3 seeds, batch 128, Adam 1e-3,
on MNIST's first 10 000 training images (one epoch = 79 steps; the benchmark times ``--steps`` steps per round
and scales to the epoch).  The plain loop: per run the classic CNN (conv 32 3×3 → act → conv 64 3×3 → act →
max-pool 2 → dense 128 → act → dense 10) with torch's native activation modules, channels-last memory format,
fused Adam, float32, one run after another (with ``--bf16`` also under bfloat16 autocast, which pays only on a
CPU with native bf16).  Rounds alternate grid and plain.  Prints images/s (images × models per second) for
each, the speed-up, and the fraction of this CPU's measured float32 matmul peak (a 2048² sgemm, measured
in each round) that the multiply-adds of each side reach; then the step's convolutions alone (the floor of
any implementation that keeps torch's convolutions) and the speed-up over the plain loop they leave room for.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

import actlab.data
from actlab.models import build_model
from actlab.train import RunSpec, TrainConfig
from actlab.train.grid import GridTrainer
from actlab.train.metrics import batches, epoch_order
from actlab.train.prepared import prepare

ACTS = ["relu", "leaky_relu", "elu", "gelu", "silu", "tanh"]
NATIVE = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "gelu": nn.GELU, "silu": nn.SiLU,
          "tanh": nn.Tanh}
SEEDS, BATCH, IMAGES = 3, 128, 10_000
# multiply-adds per image, forward: conv1 26·26·32·9, conv2 24·24·64·288, dense 9216·128, output 128·10;
# a training step does ~3× (forward, input gradient, weight gradient; conv1 has no input gradient)
MACS = 26 * 26 * 32 * 9 + 24 * 24 * 64 * 288 + 9216 * 128 + 128 * 10
TRAIN_FLOPS = 2 * (3 * MACS - 26 * 26 * 32 * 9)


def device_name(device: str) -> str:
    if device == "cuda":
        return f"cuda ({torch.cuda.get_device_name(0)})"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    except OSError:
        model = "?"
    return f"cpu ({model}, {torch.get_num_threads()} threads)"


def sgemm_peak(device: str, n: int = 2048) -> float:
    """GFLOP/s of the best of 8 float32 n×n matmuls."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    best = float("inf")
    for _ in range(8):
        start = time.perf_counter()
        a @ b
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def conv_floor(grid: GridTrainer, device: str, repeats: int = 2) -> float:
    """Seconds per step of the step's convolutions alone, as the grid runs them (on a CPU one channels-last
    convolution per model, elsewhere one grouped channels-last convolution per activation group; conv 1 forward +
    weight gradient, conv 2 forward + input and weight gradients), on random tensors: no activation, pooling,
    dense layers, loss or optimiser."""
    cl = torch.channels_last
    per_model = device == "cpu"
    tensors = []
    for g in grid.groups:
        for n in ([1] * (g.stop - g.start) if per_model else [g.stop - g.start]):
            x = torch.randn(BATCH, n, 28, 28, device=device).contiguous(memory_format=cl)
            w1 = torch.randn(32 * n, 1, 3, 3, device=device, requires_grad=True)
            h = torch.randn(BATCH, 32 * n, 26, 26, device=device).contiguous(memory_format=cl).requires_grad_(True)
            w2 = torch.randn(64 * n, 32, 3, 3, device=device).contiguous(memory_format=cl).requires_grad_(True)
            tensors.append((n, x, w1, h, w2))

    def step() -> None:
        for n, x, w1, h, w2 in tensors:
            F.conv2d(x, w1, groups=n).sum().backward()
            F.conv2d(h, w2, groups=n).sum().backward()

    step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def plain_model(act: str, data, seed: int, config: TrainConfig, device: str) -> nn.Module:
    """The classic CNN with torch's native activation, actlab's initial weights, channels-last."""
    model = build_model(act, data.input_shape, data.num_outputs, config, seed)
    layers = [NATIVE[act]() if not isinstance(m, (nn.Conv2d, nn.Linear, nn.MaxPool2d, nn.Flatten)) else m
              for m in model]
    return nn.Sequential(*layers).to(device=device, memory_format=torch.channels_last)


class Plain:
    def __init__(self, data, config: TrainConfig, device: str, bf16: bool):
        self.data, self.bf16 = data, bf16
        self.models = [(plain_model(a, data, s, config, device), s) for a in ACTS for s in range(SEEDS)]
        self.optimizers = [torch.optim.Adam(m.parameters(), lr=1e-3, fused=True) for m, _ in self.models]
        self.orders = {s: epoch_order(s, 0, len(data.x_train)).to(device) for s in range(SEEDS)}

    def steps(self, parts) -> None:
        for (model, seed), opt in zip(self.models, self.optimizers):
            for part in parts:
                index = self.orders[seed][part]
                x = self.data.x_train[index].contiguous(memory_format=torch.channels_last)
                with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                    out = model(x)
                loss = F.cross_entropy(out.float(), self.data.y_train[index])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=4, help="training steps per side per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--bf16", action="store_true", help="also time the plain loop under bf16 autocast")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = args.device
    dataset = actlab.data.load("mnist", flatten=False)
    data = prepare(dataset, "cnn", device)
    data = type(data)(data.x_train[:IMAGES].contiguous(), data.y_train[:IMAGES].contiguous(), data.x_val[:1000],
                      data.y_val[:1000], data.x_test[:1000], data.y_test[:1000], data.input_shape,
                      data.num_outputs, data.kind)
    config = TrainConfig(model="cnn", epochs=1, batch_size=BATCH, precision="fp32")
    runs = [RunSpec(a, s) for a in ACTS for s in range(SEEDS)]
    grid = GridTrainer(data, config, runs)
    sides = {"grid": None, "plain fp32 channels-last": Plain(data, config, device, False)}
    if args.bf16:
        sides["plain bf16 autocast channels-last"] = Plain(data, config, device, True)
    parts = batches(IMAGES, BATCH)
    name = device_name(device)
    print(f"device: {name}; {len(runs)} models, batch {BATCH}, {len(parts)} steps per epoch on {IMAGES} images; "
          f"load {os.getloadavg()[0]:.1f}")

    def grid_steps(chunk) -> None:
        taken = iter(range(len(chunk) + 1))
        grid.train_epoch(should_stop=lambda: next(taken) >= len(chunk))

    times: dict[str, list[float]] = {k: [] for k in sides}
    peaks: list[float] = []
    grid_steps(parts[:1])  # warm-up (allocations, oneDNN primitives)
    for side in sides.values():
        if side is not None:
            side.steps(parts[:1])
    for r in range(args.rounds):
        chunk = parts[1 + r * args.steps: 1 + (r + 1) * args.steps]
        peaks.append(sgemm_peak(device))
        for key, side in sides.items():
            start = time.perf_counter()
            grid_steps(chunk) if side is None else side.steps(chunk)
            times[key].append((time.perf_counter() - start) / len(chunk))
        print(f"  round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s/step" for k, v in times.items())
              + f"; sgemm {peaks[-1]:.0f} GFLOP/s; load {os.getloadavg()[0]:.1f}", flush=True)
    floor = conv_floor(grid, device)
    peak = statistics.median(peaks)
    per_step = {k: statistics.median(v) for k, v in times.items()}
    base = per_step["plain fp32 channels-last"]
    print(f"\nmeasured float32 matmul peak (2048² sgemm, median of rounds): {peak:.0f} GFLOP/s  [{name}]")
    for key, seconds in per_step.items():
        images = len(runs) * BATCH / seconds
        fraction = images * TRAIN_FLOPS / 1e9 / peak
        print(f"{key:34s} {seconds:6.2f} s/step  {seconds * len(parts):7.1f} s/epoch  {images:6.0f} images/s  "
              f"{100 * fraction:4.0f} % of peak  plain/this {base / seconds:4.2f}×  [{name}]")
    print(f"convolutions alone ({'one per model' if device == 'cpu' else 'grouped'}, channels-last, fwd + bwd): {floor:.2f} s/step — with nothing else, the grid "
          f"could be at most {base / floor:.2f}× the plain loop  [{name}, load {os.getloadavg()[0]:.1f}]")


if __name__ == "__main__":
    main()
