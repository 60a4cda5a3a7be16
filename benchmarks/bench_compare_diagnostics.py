"""The cost of ``actlab compare --diagnostics`` in the grid engine, side by side with the epoch it follows.

A grid of 3 activations × 2 seeds, MLP 784-128-128-128-10, on an MNIST subset (``--subset``, default
10 000 training examples; ``--random`` uses random data of that shape).  After a warm-up epoch (which
compiles), each repetition times one training epoch (steps + validation) and then the measurement of
every run on the 1 000-example evaluation batch that ``--diagnostics`` adds at each epoch end, and
prints the ratio.  One torch thread, so that both sides see the same share of a loaded machine.

    python benchmarks/bench_compare_diagnostics.py [--subset 10000] [--reps 3] [--random]
"""
from __future__ import annotations

import argparse
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--random", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)

    from actlab.sweep.probes import GradientFlowProbe
    from actlab.train import RunSpec, TrainConfig
    from actlab.train.driver import _probe
    from actlab.train.grid import GridTrainer
    from actlab.train.prepared import prepare

    if args.random:
        from actlab.data.base import Dataset

        g = torch.Generator().manual_seed(0)
        x, y = torch.rand(args.subset, 784, generator=g), torch.randint(0, 10, (args.subset,), generator=g)
        dataset = Dataset("random", x, y, x[:2000], y[:2000], x[:2000], y[:2000], 10, (784,), "classification")
    else:
        from actlab import data

        dataset = data.load("mnist", subset=args.subset)
    config = TrainConfig(depth=3, width=128, epochs=1, diagnostics=True)
    runs = [RunSpec(act, seed) for act in ("relu", "sigmoid", "tanh") for seed in (0, 1)]
    trainer = GridTrainer(prepare(dataset, "mlp"), config, runs)
    def measure_all() -> None:
        _probe([GradientFlowProbe()], trainer, trainer.epoch, lambda event: None)

    measure_all()
    trainer.train_epoch()  # warm-up (compiles)
    ratios = []
    for rep in range(args.reps):
        start = time.perf_counter()
        trainer.train_epoch()
        epoch = time.perf_counter() - start
        start = time.perf_counter()
        measure_all()
        measure = time.perf_counter() - start
        ratios.append(measure / epoch)
        print(f"rep {rep}: epoch {epoch:.2f} s, measuring {len(runs)} runs {measure:.2f} s, "
              f"ratio {measure / epoch:.3f}", flush=True)
    print(f"--diagnostics adds {100 * sorted(ratios)[len(ratios) // 2]:.1f} % to an epoch of {args.subset} examples "
          f"(median over {args.reps}; precision {config.resolved_precision()})")


if __name__ == "__main__":
    main()
