"""Grid engine vs a plain PyTorch loop: one epoch of the default ``actlab compare`` grid, side by side.

Default grid: 9 activations × 3 seeds, MLP 784-128-128-10, Adam lr 1e-3, batch 128, on MNIST
(``actlab.data.load("mnist")``; ``--random`` uses random data of the same shape instead).

Baseline: for each run, a plain ``nn.Sequential`` with PyTorch's native activation modules
(``nn.ReLU``, ``nn.GELU``, ... — faster than actlab's generic Function), the same initial
weights and batch order, trained by ``torch.optim.Adam`` (the faster of ``foreach=True`` and
``fused=True``, measured on a few steps first), in float32, one run after another.

The grid runs twice: ``precision="fp32"`` and ``precision="bf16"`` (bfloat16 matmuls; what
"auto" picks on a CPU with native bf16).  Timing: the plain loop's training steps only; the
grid's ``train_epoch`` including its validation pass over 10k examples (so the grid pays for
something the plain loop does not).  Test accuracy is computed after training, untimed, for
every side.  Prints seconds per epoch, speed-ups, and mean test accuracies per activation.

``--full N`` also trains the default grid (precision "auto") for N epochs and prints, for each
n ≤ N, the estimated job time and ReLU's test accuracy at its best validation epoch (≤ n).

    python benchmarks/bench_grid.py [--epochs 1] [--random] [--seeds 3] [--full 20 [--skip-plain]]
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


def grid_epochs(data, config, runs, epochs, test_every_epoch=False):
    """Train a GridTrainer; returns (seconds per epoch list, setup seconds, trainer, per-epoch records).

    Timed: the trainer's own epochs (training steps + its validation pass).  Not timed: the test
    evaluation after each epoch that ``test_every_epoch`` adds (for the DEFAULT_EPOCHS table).
    """
    start = time.perf_counter()
    trainer = GridTrainer(data, config, runs)
    setup = time.perf_counter() - start
    seconds, records = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        events = trainer.train_epoch()
        seconds.append(time.perf_counter() - start)
        if test_every_epoch:
            _, test_acc = trainer.evaluate(trainer.params, data.x_test, data.y_test)
            val = {e.run_id: e.val_loss for e in events}
            records.append({run.run_id: (val.get(run.run_id, float("inf")), float(a))
                            for run, a in zip(trainer.runs, test_acc)})
            print(f"  epoch {len(seconds)}: {seconds[-1]:.2f} s", flush=True)
    return seconds, setup, trainer, records


def test_accuracies(trainer, data):
    _, acc = trainer.evaluate(trainer.params, data.x_test, data.y_test)
    return {run.run_id: float(a) for run, a in zip(trainer.runs, acc)}


def per_activation(acc, seeds):
    return {a: sum(acc[f"{a}/seed={s}"] for s in range(seeds)) / seeds for a in ACTIVATIONS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--random", action="store_true", help="random data instead of MNIST")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--full", type=int, default=0, metavar="EPOCHS",
                        help="also train the default grid (precision auto) for EPOCHS epochs: time per epoch and "
                             "ReLU test accuracy at the best validation epoch within the first N epochs, each N")
    parser.add_argument("--skip-plain", action="store_true", help="with --full: skip the one-epoch comparison")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dataset = load(args.random)
    data = prepare(dataset, "mlp")
    runs = [RunSpec(a, s) for a in ACTIVATIONS for s in range(args.seeds)]
    auto = TrainConfig().resolved_precision("cpu")
    base_config = TrainConfig(epochs=args.epochs, precision="fp32")
    print(f"{dataset.name}: train {tuple(data.x_train.shape)}; {len(runs)} runs "
          f"({len(ACTIVATIONS)} activations × {args.seeds} seeds), MLP {base_config.depth}×{base_config.width}, "
          f"Adam lr {base_config.lr}, batch {base_config.batch_size}, {args.epochs} epoch(s), "
          f"{torch.get_num_threads()} threads; precision auto → {auto} on this CPU")
    if not args.skip_plain:
        compare(data, runs, args, base_config)
    if args.full:
        full_job(data, runs, args)


def compare(data, runs, args, base_config) -> None:
    # ---- baseline: pick the faster torch.optim.Adam implementation on a few steps
    options = {}
    best = None
    for candidate in ({"foreach": True}, {"fused": True}):
        model = baseline_model("relu", data, base_config, 0)
        start = time.perf_counter()
        baseline_run(model, data, base_config, 0, 1, candidate, max_steps=150)
        spent = time.perf_counter() - start
        if best is None or spent < best:
            best, options = spent, candidate
    print(f"plain loop optimiser: torch.optim.Adam({', '.join(f'{k}=True' for k in options)})")

    # ---- actlab grid, fp32 and bf16
    results = {}
    for precision in ("fp32", "bf16"):
        config = TrainConfig(epochs=args.epochs, precision=precision)
        seconds, setup, trainer, _ = grid_epochs(data, config, runs, args.epochs)
        compiled = trainer.mlp.compile_seconds if trainer.mlp is not None else 0.0  # once per process, in epoch 1
        results[precision] = (sum(seconds), setup, test_accuracies(trainer, data), compiled)

    # ---- plain PyTorch loop, one run after another (test accuracy outside the timed part)
    base_acc = {}
    base_time = 0.0
    for run in runs:
        model = baseline_model(run.activation, data, base_config, run.seed)
        start = time.perf_counter()
        baseline_run(model, data, base_config, run.seed, args.epochs, options)
        base_time += time.perf_counter() - start
        base_acc[run.run_id] = accuracy(model, data.x_test, data.y_test)

    plain = per_activation(base_acc, args.seeds)
    grids = {p: per_activation(r[2], args.seeds) for p, r in results.items()}
    print(f"\nmean test accuracy after {args.epochs} epoch(s) over {args.seeds} seeds")
    print(f"{'activation':<12} {'plain':>8} {'grid fp32':>10} {'grid bf16':>10}")
    for a in ACTIVATIONS:
        print(f"{a:<12} {100 * plain[a]:>7.2f}% {100 * grids['fp32'][a]:>9.2f}% {100 * grids['bf16'][a]:>9.2f}%")
    b_mean = 100 * sum(base_acc.values()) / len(runs)
    print(f"\nplain loop: {base_time:7.2f} s ({base_time / args.epochs:.2f} s/epoch; training steps only), "
          f"mean test acc {b_mean:.2f}%")
    for precision, (seconds, setup, acc, compiled) in results.items():
        mean = 100 * sum(acc.values()) / len(runs)
        worst = max(abs(grids[precision][a] - plain[a]) for a in ACTIVATIONS) * 100
        print(f"grid {precision}: {seconds:7.2f} s ({seconds / args.epochs:.2f} s/epoch incl. validation, "
              f"setup {setup:.2f} s), mean test acc {mean:.2f}% ({mean - b_mean:+.2f} pp; "
              f"max per-activation |diff| {worst:.2f} pp)  speed-up {base_time / seconds:.2f}×")
        if compiled:
            rest = seconds - compiled
            print(f"    of which torch.compile {compiled:.2f} s (once per process); without it "
                  f"{rest / args.epochs:.2f} s/epoch, speed-up {base_time / rest:.2f}×")


def full_job(data, runs, args) -> None:
    config = TrainConfig(epochs=args.full)
    print(f"\nfull job: {len(runs)} runs, {args.full} epochs, precision {config.precision} → "
          f"{config.resolved_precision('cpu')} (validation every epoch timed; test accuracy per epoch untimed)")
    seconds, setup, trainer, records = grid_epochs(data, config, runs, args.full, test_every_epoch=True)
    start = time.perf_counter()
    trainer.finish()
    finish = time.perf_counter() - start
    per_epoch = sum(seconds) / len(seconds)
    print(f"seconds per epoch (train + validation): mean {per_epoch:.2f}, min {min(seconds):.2f}, "
          f"max {max(seconds):.2f}; setup {setup:.2f} s; final test pass {finish:.2f} s")
    relu = [f"relu/seed={s}" for s in range(args.seeds)]
    print(f"{'epochs':>6} {'est. job time':>14} {'relu test acc at best val epoch (per seed)':>44}")
    for n in range(1, args.full + 1):
        accs = []
        for run_id in relu:
            best = min(range(n), key=lambda e: records[e][run_id][0])
            accs.append(records[best][run_id][1])
        estimate = setup + sum(seconds[:n]) + finish
        mean = 100 * sum(accs) / len(accs)
        print(f"{n:>6} {estimate:>12.1f} s   mean {mean:.2f}%  ({', '.join(f'{100 * a:.2f}' for a in accs)})")


if __name__ == "__main__":
    main()
