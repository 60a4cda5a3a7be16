"""A user's model, 4 seeds: the stacked engine (torch.func) against 4 sequential runs, side by side.

The model is the worked example's small residual CNN (``examples/resnet_tiny.py:build``, batch norm, GELU via
``act_layer``) on the example's image folder (``examples/make_shapes.py``: 4 classes of noisy 16×16 shapes).
Both sides go through :func:`actlab.train.train_runs` — the same driver, evaluation every epoch, the three
reported points — with ``engine="grid"`` (the runs of an arm stacked: one ``vmap`` over the stacked
parameters) and ``engine="sequential"`` (one ``nn.Module`` and one optimiser per run, one after another).
The sides alternate (stacked, sequential, stacked, …) and the median of each is printed, with the largest
difference between the two engines' test losses (they compute the same runs: float tolerance).

    python benchmarks/bench_user_stacked.py [--seeds 4] [--epochs 2] [--per-class 150] [--repeats 3] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

from make_shapes import make_shapes  # noqa: E402

from actlab.data import load  # noqa: E402
from actlab.train import RunSpec, TrainConfig, train_runs  # noqa: E402


def timed(data, config, runs, engine):
    started = time.perf_counter()
    results = train_runs(data, config, runs, engine=engine)
    return time.perf_counter() - started, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--per-class", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    folder = make_shapes(Path(tempfile.mkdtemp(prefix="shapes-")) / "shapes", per_class=args.per_class)
    data = load(folder)
    config = TrainConfig(model="user", model_source=f"{ROOT / 'examples' / 'resnet_tiny.py'}:build",
                         epochs=args.epochs, batch_size=args.batch_size, precision="fp32")
    runs = [RunSpec("gelu", seed=seed) for seed in range(args.seeds)]
    timed(data, config, runs[:2], "grid")  # warm-up: imports, first vmap, first optimiser
    timed(data, config, runs[:1], "sequential")
    load_before = os.getloadavg()
    stacked, sequential = [], []
    for _ in range(args.repeats):
        seconds, ours = timed(data, config, runs, "grid")
        stacked.append(seconds)
        seconds, reference = timed(data, config, runs, "sequential")
        sequential.append(seconds)
    difference = max(abs(ours[r].test_loss - reference[r].test_loss) for r in ours)
    same_accuracy = all(ours[r].test_accuracy == reference[r].test_accuracy for r in ours)
    a, b = statistics.median(stacked), statistics.median(sequential)
    print(f"{args.seeds} seeds × {args.epochs} epochs, {len(data.x_train)} training images, batch {args.batch_size}")
    print(f"stacked (torch.func): {a:.2f} s   sequential: {b:.2f} s   sequential / stacked: {b / a:.2f}×")
    print(f"largest |test loss difference|: {difference:.2e}; same test accuracies: {same_accuracy}")
    if args.json is not None:
        record = {
            "order": 18,
            "title": "A user's model: stacked seeds (torch.func) against sequential runs",
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, shared",
            "load": f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after",
            "torch": torch.__version__,
            "command": "python " + " ".join(["benchmarks/bench_user_stacked.py", *sys.argv[1:]]),
            "what": (f"examples/resnet_tiny.py:build (GELU) on the example's image folder ({len(data.x_train)} training "
                     f"images 16×16, 4 classes), {args.seeds} seeds × {args.epochs} epochs, batch {args.batch_size}, "
                     "Adam; both engines through actlab.train.train_runs (evaluation every epoch); alternating "
                     f"rounds, median of {args.repeats}."),
            "tables": [{"columns": ["engine", "seconds (median)", "rounds", "sequential / stacked"],
                        "rows": [["stacked (torch.func vmap)", f"{a:.2f}", " ".join(f"{s:.2f}" for s in stacked),
                                  f"{b / a:.2f}×"],
                                 ["sequential (one run at a time)", f"{b:.2f}",
                                  " ".join(f"{s:.2f}" for s in sequential), "1.00×"]]}],
            "notes": [f"The two engines' test losses differ by at most {difference:.1e} (float32 reordering); "
                      f"test accuracies {'equal' if same_accuracy else 'differ'}."],
        }
        args.json.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
