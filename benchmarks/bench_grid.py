"""Grid engine vs a plain PyTorch loop: one epoch of the default ``actlab compare`` grid, side by side.

Default grid: 9 activations × 3 seeds, MLP 784-128-128-10, Adam lr 1e-3, batch 128, on MNIST
(``actlab.data.load("mnist")``; ``--random`` uses random data of the same shape instead).

Baseline: for each run, a plain ``nn.Sequential`` with PyTorch's native activation modules
(``nn.ReLU``, ``nn.GELU``, ... — faster than actlab's generic Function), the same initial
weights and batch order, trained by ``torch.optim.Adam`` (the faster of ``foreach=True`` and
``fused=True``, measured on a few steps first), one run after another.  Both sides evaluate
on the test set after the epoch.  Prints both times, the speed-up and both mean accuracies.

    python benchmarks/bench_grid.py [--epochs 1] [--random] [--seeds 3]
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from actlab.models import initial_weights, resolve_activation
from actlab.train import RunSpec, TrainConfig
from actlab.train.grid import GridTrainer
from actlab.train.metrics import batches, epoch_order
from actlab.train.prepared import prepare

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish")
NATIVE = {
    "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "elu": nn.ELU, "selu": nn.SELU, "gelu": nn.GELU, "silu": nn.SiLU, "mish": nn.Mish,
}


def load(random: bool):
    from actlab.data.base import Dataset

    if not random:
        try:
            from actlab import data

            return data.load("mnist")
        except Exception as error:  # noqa: BLE001 — any loader problem: fall back, say so
            print(f"MNIST not available ({error}); using random data of the same shape")
    g = torch.Generator().manual_seed(0)
    x = lambda n: torch.rand(n, 784, generator=g)  # noqa: E731
    y = lambda n: torch.randint(0, 10, (n,), generator=g)  # noqa: E731
    return Dataset("random", x(50000), y(50000), x(10000), y(10000), x(10000), y(10000), 10, (784,), "classification")


def baseline_model(activation, data, config, seed):
    spec = resolve_activation(activation)
    act = NATIVE[activation]
    layers = [nn.Linear(784, config.width), act()]
    for _ in range(config.depth - 1):
        layers += [nn.Linear(config.width, config.width), act()]
    layers.append(nn.Linear(config.width, data.num_outputs))
    model = nn.Sequential(*layers)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for layer, (w, b) in zip(linears, initial_weights(spec, data.input_shape, data.num_outputs, config, seed)):
            layer.weight.copy_(w)
            layer.bias.copy_(b)
    return model


def baseline_run(model, data, config, seed, epochs, optimizer_options, max_steps=None):
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, **optimizer_options)
    steps = 0
    for epoch in range(epochs):
        order = epoch_order(seed, epoch, len(data.x_train))
        for part in batches(len(order), config.batch_size):
            index = order[part]
            loss = F.cross_entropy(model(data.x_train[index]), data.y_train[index])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps += 1
            if max_steps is not None and steps >= max_steps:
                return
    return model


@torch.no_grad()
def accuracy(model, x, y):
    return float((model(x).argmax(1) == y).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--random", action="store_true", help="random data instead of MNIST")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dataset = load(args.random)
    config = TrainConfig(epochs=args.epochs)
    data = prepare(dataset, "mlp")
    runs = [RunSpec(a, s) for a in ACTIVATIONS for s in range(args.seeds)]
    print(f"{dataset.name}: train {tuple(data.x_train.shape)}; {len(runs)} runs "
          f"({len(ACTIVATIONS)} activations × {args.seeds} seeds), MLP {config.depth}×{config.width}, "
          f"Adam lr {config.lr}, batch {config.batch_size}, {args.epochs} epoch(s), {torch.get_num_threads()} threads")

    # ---- baseline: pick the faster torch.optim.Adam implementation on a few steps
    options = {}
    best = None
    for candidate in ({"foreach": True}, {"fused": True}):
        model = baseline_model("relu", data, config, 0)
        start = time.perf_counter()
        baseline_run(model, data, config, 0, 1, candidate, max_steps=150)
        spent = time.perf_counter() - start
        if best is None or spent < best:
            best, options = spent, candidate
    print(f"baseline optimiser: torch.optim.Adam({', '.join(f'{k}=True' for k in options)})")

    # ---- grid
    start = time.perf_counter()
    trainer = GridTrainer(data, config, runs)
    setup = time.perf_counter() - start
    epoch_seconds = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        trainer.train_epoch()
        epoch_seconds.append(time.perf_counter() - start)
    grid_time = sum(epoch_seconds)
    _, grid_acc = trainer.evaluate(trainer.params, data.x_test, data.y_test)
    grid_acc = {run.run_id: float(a) for run, a in zip(trainer.runs, grid_acc)}

    # ---- baseline, one run after another
    base_acc = {}
    start = time.perf_counter()
    for run in runs:
        model = baseline_model(run.activation, data, config, run.seed)
        baseline_run(model, data, config, run.seed, args.epochs, options)
        base_acc[run.run_id] = accuracy(model, data.x_test, data.y_test)
    base_time = time.perf_counter() - start  # includes its own (cheap) eval, like the grid's train_epoch

    print(f"\n{'activation':<12} {'grid acc':>9} {'plain acc':>9}")
    for a in ACTIVATIONS:
        g = sum(grid_acc[f"{a}/seed={s}"] for s in range(args.seeds)) / args.seeds
        b = sum(base_acc[f"{a}/seed={s}"] for s in range(args.seeds)) / args.seeds
        print(f"{a:<12} {100 * g:>8.2f}% {100 * b:>8.2f}%")
    g_mean = 100 * sum(grid_acc.values()) / len(runs)
    b_mean = 100 * sum(base_acc.values()) / len(runs)
    print(f"\ngrid  : {grid_time:7.2f} s ({grid_time / args.epochs:.2f} s/epoch, setup {setup:.2f} s), mean test acc {g_mean:.2f}%")
    print(f"plain : {base_time:7.2f} s ({base_time / args.epochs:.2f} s/epoch), mean test acc {b_mean:.2f}%")
    print(f"speed-up: {base_time / grid_time:.2f}×   accuracy difference: {g_mean - b_mean:+.2f} pp")


if __name__ == "__main__":
    main()
