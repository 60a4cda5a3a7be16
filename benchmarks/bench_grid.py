"""Grid engine vs a plain PyTorch loop: one epoch of the default ``actlab compare`` grid, side by side.

Default grid: 9 activations × 3 seeds, MLP 784-128-128-10, Adam lr 1e-3, batch 128, on MNIST
(``actlab.data.load("mnist")``; ``--random`` uses random data of the same shape instead).

Baseline: for each run, a plain ``nn.Sequential`` with PyTorch's native activation modules
(``nn.ReLU``, ``nn.GELU``, ... — faster than actlab's generic Function), the same initial
weights and batch order, trained by ``torch.optim.Adam`` (the faster of ``foreach=True`` and
``fused=True``, measured on a few steps first), in float32, one run after another.

The grid runs twice: the precision "auto" resolves to here first (``bf16``, bfloat16 matmuls, on a
CPU with native bf16), then the other of ``fp32``/``bf16``.  Before each grid's clock starts, two
steps and a validation pass compile its code (torch.compile, once per process; printed, and the
state is put back).  Each grid epoch is timed with the plain loop **interleaved**: every 1/27 of
the epoch the grid's clock stops and the next plain run trains, so both sides see the same
minutes of this VM (whose speed drifts by up to ±40 %).  Timed on both sides: the epoch's
training steps and its validation pass over 10k examples (loss and accuracy, as ``actlab
compare`` records every epoch).  Test accuracy is computed after training, untimed, for every
side.  Prints seconds per epoch, speed-ups, and mean test accuracies per activation.

Then the **floor**: the step's GEMMs and ``torch._fused_adam_`` alone, on the same shapes —
the time no implementation built from these PyTorch kernels can go below — and the grid's training
step as a multiple of it, the two timed in alternating blocks of 20 steps (``floor_ratio``).

``--full N`` also trains the default grid (precision "auto") for N epochs and prints, for each
n ≤ N, the estimated job time and ReLU's test accuracy at its best validation epoch (≤ n).

    python benchmarks/bench_grid.py [--epochs 1] [--random] [--seeds 3] [--no-floor] [--full 20 [--skip-plain]]
"""
from __future__ import annotations

import argparse
import gc
import os
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


def baseline_run(model, data, config, seed, epochs, optimizer_options, max_steps=None, validate=True):
    """The plain loop: Adam steps over the epoch's batches, then (like ``actlab compare``) the
    validation loss and accuracy, every epoch."""
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
        if validate:
            with torch.no_grad():
                out = model(data.x_val)
                F.cross_entropy(out, data.y_val).item(), (out.argmax(1) == data.y_val).float().mean().item()
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
    parser.add_argument("--no-floor", action="store_true", help="skip the GEMM + Adam floor measurement")
    parser.add_argument("--auto-only", action="store_true", help="only the precision auto resolves to")
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


class Interleave:
    """A ``should_stop`` hook that interleaves the plain loop with the grid's epoch.

    Every ``every`` grid steps it stops the grid's clock and trains the next plain run; so both
    sides are timed over the same stretch of wall-clock time, and a change in this VM's speed
    (up to ±40 % between minutes) hits both alike.
    """

    def __init__(self, jobs, steps: int):
        self.jobs = list(jobs)
        self.every = max(1, steps // max(len(self.jobs), 1))
        self.calls = 0
        self.paused = 0.0  # wall seconds spent in plain runs (not the grid's)
        self.plain = 0.0  # the plain runs' training seconds

    def __call__(self) -> bool:
        self.calls += 1
        if self.jobs and self.calls % self.every == 0:
            self._next()
        return False

    def _next(self) -> None:
        start = time.perf_counter()
        collecting = gc.isenabled()
        gc.enable()  # the grid pauses the collector during its steps; the plain loop runs as usual
        try:
            self.plain += self.jobs.pop(0)()
            gc.collect()  # its garbage is its own: not left for the grid's clock
        finally:
            if not collecting:
                gc.disable()
        self.paused += time.perf_counter() - start

    def finish(self) -> None:
        while self.jobs:
            self._next()


def plain_jobs(data, runs, config, epochs, options, accuracies):
    """One callable per run: trains it with the plain loop, returns its training seconds (test untimed)."""
    def job(run):
        def train():
            model = baseline_model(run.activation, data, config, run.seed)
            start = time.perf_counter()
            baseline_run(model, data, config, run.seed, epochs, options)
            seconds = time.perf_counter() - start
            accuracies[run.run_id] = accuracy(model, data.x_test, data.y_test)
            return seconds
        return train
    return [job(run) for run in runs]


def warm_up(trainer: GridTrainer, data) -> float:
    """Compile the grid's step and evaluation (torch.compile, once per process) before the clock starts.

    Two steps and one validation pass, then the weights, optimiser state and step count are put
    back: the timed epoch starts from the same state as without the warm-up.
    """
    tensors = trainer.params + trainer.optimizer.state + trainer.optimizer.state2 + [trainer.optimizer._adam_step]
    saved = [t.detach().clone() for t in tensors]
    step = trainer.step
    start = time.perf_counter()
    order = torch.stack([epoch_order(s, 0, len(data.x_train)) for s in trainer.seeds])
    for part in batches(2 * trainer.config.batch_size, trainer.config.batch_size):
        index = order[:, part]
        y = data.y_train[index][trainer.seed_index]
        with torch.no_grad():
            if trainer.mlp is not None:
                _, grads = trainer.mlp.loss_and_grads(trainer.params, list(data.x_train[index]), y, data.kind)
                trainer._update(grads)
    trainer.evaluate(trainer.params, data.x_val, data.y_val)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        for t, old in zip(tensors, saved):
            t.copy_(old)
    trainer.step = step
    return seconds


def floor(trainer: GridTrainer, data, steps: int = 60) -> float:
    """Seconds per step of the grid step's matrix multiplies and fused Adam alone (nothing else)."""
    step = floor_step(trainer, data)
    for _ in range(5):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def floor_step(trainer: GridTrainer, data):
    """A function running one step of the grid step's matrix multiplies and fused Adam alone.

    The least GEMM work of the step, as large GEMMs: layer 1 per seed group as one GEMM on a real
    batch's nonzero columns in fp32 (the fast path multiplies each run's nonzero column *range*, a
    superset, run by run, to avoid moving weights), batched matmuls for the other layers, forward and
    backward, in the trainer's compute dtype; and ``torch._fused_adam_`` over copies of the grid's
    parameters and optimiser state.
    """
    dtype, M, S = trainer.compute_dtype, trainer.M, len(trainer.seeds)
    m = M // S
    order = torch.stack([epoch_order(s, 0, len(data.x_train)) for s in trainer.seeds])
    index = order[:, :trainer.config.batch_size]
    xs = []
    for x in data.x_train[index]:
        if dtype in (torch.float32, torch.float64):  # as measured before; bf16 multiplies every column here
            x = x[:, (x != 0).any(0).nonzero().flatten()]
        xs.append(x.to(dtype))
    B, H = index.shape[1], trainer.config.width
    w1 = [torch.randn(x.shape[1], m * H).to(dtype) for x in xs]
    d1 = [torch.randn(B, m * H).to(dtype) for _ in xs]
    layers = [(p.shape[1], p.shape[2]) for p in trainer.params[2::2]]
    hs = [torch.randn(M, B, i).to(dtype) for i, _ in layers]
    ws = [torch.randn(M, i, o).to(dtype) for i, o in layers]
    ds = [torch.randn(M, B, o).to(dtype) for _, o in layers]
    flat = [f.clone() for f in trainer.flat]
    grads = [torch.randn_like(f) * 1e-3 for f in flat]
    m1, m2 = [torch.zeros_like(f) for f in flat], [torch.zeros_like(f) for f in flat]
    count = torch.zeros(())

    def step():
        for x, w, d in zip(xs, w1, d1):
            x @ w
            x.t() @ d
        for h, w, d in zip(hs, ws, ds):
            torch.bmm(h, w)
            torch.bmm(h.transpose(1, 2), d)
            torch.bmm(d, w.transpose(1, 2))
        count.add_(1)
        torch._fused_adam_(flat, grads, m1, m2, [], [count] * len(flat), amsgrad=False, lr=1e-3, beta1=0.9,
                           beta2=0.999, weight_decay=0.0, eps=1e-8, maximize=False)

    return step


def grid_step(trainer: GridTrainer, data):
    """A function running one training step of ``trainer`` (the fast path: batch gather, loss and gradients,
    Adam), on the epoch's batches in order — what ``train_epoch`` does per step, without its bookkeeping."""
    order = torch.stack([epoch_order(s, 0, len(data.x_train)) for s in trainer.seeds])
    parts = batches(len(data.x_train), trainer.config.batch_size)
    count = [0]

    def step():
        index = order[:, parts[count[0] % len(parts)]]
        count[0] += 1
        xs = data.x_train[index]
        y = data.y_train[index][trainer.seed_index]
        with torch.no_grad():
            _, grads = trainer.mlp.loss_and_grads(trainer.params, list(xs), y, data.kind, out=trainer._grad_first)
        trainer._update(grads)
        trainer.step += 1

    return step


def floor_ratio(trainer: GridTrainer, data, blocks: int = 8, steps: int = 20) -> tuple[float, float, float, float]:
    """The grid's training step as a multiple of the floor step, both timed in alternating blocks of ``steps``
    in this process (the machine's speed drifts by up to ±40 % between minutes: a floor measured at another
    moment than the grid can be off by that much).  Returns (median ratio, lowest, highest, median floor s)."""
    g, f = grid_step(trainer, data), floor_step(trainer, data)
    for _ in range(3):
        g()
        f()
    ratios, floors = [], []
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(steps):
            g()
        mid = time.perf_counter()
        for _ in range(steps):
            f()
        end = time.perf_counter()
        ratios.append((mid - start) / (end - mid))
        floors.append((end - mid) / steps)
    ratios.sort()
    return ratios[len(ratios) // 2], ratios[0], ratios[-1], sorted(floors)[len(floors) // 2]


def compare(data, runs, args, base_config) -> None:
    # ---- baseline: pick the faster torch.optim.Adam implementation on a few steps (this also warms it up)
    options = {}
    best = None
    for candidate in ({"foreach": True}, {"fused": True}):
        model = baseline_model("relu", data, base_config, 0)
        start = time.perf_counter()
        baseline_run(model, data, base_config, 0, 1, candidate, max_steps=150, validate=False)
        spent = time.perf_counter() - start
        if best is None or spent < best:
            best, options = spent, candidate
    print(f"plain loop: torch.optim.Adam({', '.join(f'{k}=True' for k in options)}), float32, one run after another")

    # ---- each grid precision: compile first (untimed), then one timed pass with the plain loop interleaved
    auto = TrainConfig().resolved_precision("cpu")
    precisions = [auto] + ([] if args.auto_only else [p for p in ("fp32", "bf16") if p != auto])
    steps = args.epochs * len(batches(len(data.x_train), base_config.batch_size))
    results, plain_time, base_acc = {}, {}, {}
    for precision in precisions:
        config = TrainConfig(epochs=args.epochs, precision=precision)
        trainer = GridTrainer(data, config, runs)
        compile_seconds = warm_up(trainer, data)
        accuracies: dict[str, float] = {}
        hook = Interleave(plain_jobs(data, runs, base_config, args.epochs, options, accuracies), steps)
        start = time.perf_counter()
        for _ in range(args.epochs):
            trainer.train_epoch(should_stop=hook)
        seconds = time.perf_counter() - start - hook.paused
        hook.finish()
        plain_time[precision] = hook.plain
        base_acc = base_acc or accuracies
        results[precision] = (seconds, test_accuracies(trainer, data), compile_seconds)
        print(f"  grid {precision}: {seconds:.2f} s; plain loop alongside it: {hook.plain:.2f} s", flush=True)

    plain = per_activation(base_acc, args.seeds)
    grids = {p: per_activation(r[1], args.seeds) for p, r in results.items()}
    print(f"\nmean test accuracy after {args.epochs} epoch(s) over {args.seeds} seeds")
    print(f"{'activation':<12} {'plain':>8} " + " ".join(f"{'grid ' + p:>10}" for p in precisions))
    for a in ACTIVATIONS:
        print(f"{a:<12} {100 * plain[a]:>7.2f}% " + " ".join(f"{100 * grids[p][a]:>9.2f}%" for p in precisions))
    b_mean = 100 * sum(base_acc.values()) / len(runs)
    print(f"\nplain loop: mean test acc {b_mean:.2f}% (timed, both sides: training steps + validation pass)")
    for precision, (seconds, acc, compiled) in results.items():
        mean = 100 * sum(acc.values()) / len(runs)
        worst = max(abs(grids[precision][a] - plain[a]) for a in ACTIVATIONS) * 100
        base = plain_time[precision]
        label = f"{precision} (precision auto)" if precision == auto else precision
        print(f"grid {label}: {seconds / args.epochs:.2f} s/epoch incl. validation vs plain {base / args.epochs:.2f} "
              f"s/epoch timed alongside -> speed-up {base / seconds:.2f}x; mean test acc {mean:.2f}% "
              f"({mean - b_mean:+.2f} pp; max per-activation |diff| {worst:.2f} pp); "
              f"one-off compile before the clock {compiled:.1f} s")
    if not args.no_floor:
        trainer = GridTrainer(data, TrainConfig(precision=auto), runs)
        per_step = floor(trainer, data)
        base = plain_time[auto] / args.epochs
        print(f"\nfloor ({auto}): the step's GEMMs and fused Adam alone take {1000 * per_step:.2f} ms/step = "
              f"{per_step * steps / args.epochs:.2f} s/epoch, so even with nothing else the speed-up could be "
              f"at most {base / (per_step * steps / args.epochs):.2f}x (4x needs {base / 4:.2f} s/epoch)")
        if trainer.mlp is not None:
            ratio, low, high, floor_s = floor_ratio(trainer, data)
            print(f"grid training step / floor step, interleaved in blocks of 20 steps: median {ratio:.2f}x "
                  f"(blocks {low:.2f}–{high:.2f}x; floor {1000 * floor_s:.2f} ms/step in those blocks)  "
                  f"[{torch.get_num_threads()} thread(s), load {' '.join(f'{v:.1f}' for v in os.getloadavg())}]")


def full_job(data, runs, args) -> None:
    config = TrainConfig(epochs=args.full)
    print(f"\nfull job: {len(runs)} runs, {args.full} epochs, precision {config.precision} → "
          f"{config.resolved_precision('cpu')} (validation every epoch timed; test accuracy per epoch untimed)")
    seconds, setup, trainer, records = grid_epochs(data, config, runs, args.full, test_every_epoch=True)
    start = time.perf_counter()
    trainer.evaluate_split("test")  # the final test pass (the driver runs it once per reported point)
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
