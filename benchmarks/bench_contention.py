"""The demo's training under contention, beside a plain PyTorch loop under the same contention.

Three workloads, each timed with the machine as it is ("idle") and with ``--load`` busy PyTorch processes
added (each a loop of 512×512 matrix products on PyTorch's default threads — a second sweep's kind of load):

* **demo, threads from the load**: ``actlab compare`` with the demo's model and activations (MLP 784-128-128-10,
  the nine defaults, Adam, batch 128) on an MNIST subset; its stored training wall time.  ``ACTLAB_THREADS=auto``.
* **demo, PyTorch's threads**: the same with ``ACTLAB_THREADS=torch`` (one thread per core, whatever the load).
* **plain PyTorch loop**: nine ``nn.Sequential`` MLPs of the same shape trained one after the other with
  ``torch.optim.Adam`` for the same number of steps, on PyTorch's default threads.

The slowdown of each (loaded / idle) is printed side by side; the goal is that the demo's is no worse than the
plain loop's.  Usage: ``python benchmarks/bench_contention.py [--load 2] [--subset 4000] [--epochs 2]
[--json docs/benchmarks/contention.json]``
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUSY = "import torch\nx = torch.randn(512, 512)\nwhile True:\n    y = x @ x\n"
PLAIN = """
import sys, time, torch
from torch import nn
steps, batch = int(sys.argv[1]), 128
torch.manual_seed(0)
x, y = torch.randn(batch * 8, 784), torch.randint(0, 10, (batch * 8,))
acts = [nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SELU, nn.GELU, nn.SiLU, nn.Mish, nn.Tanh, nn.Sigmoid]
start = time.perf_counter()
for act in acts:
    net = nn.Sequential(nn.Linear(784, 128), act(), nn.Linear(128, 128), act(), nn.Linear(128, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for step in range(steps):
        i = (step % 8) * batch
        loss = nn.functional.cross_entropy(net(x[i:i + batch]), y[i:i + batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
print(time.perf_counter() - start)
"""


def demo_seconds(subset: int, epochs: int, threads: str) -> tuple[float, int]:
    """The demo-shaped sweep's training wall time and the optimiser steps each run took."""
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "ACTLAB_THREADS": threads}
        env.pop("OMP_NUM_THREADS", None)
        done = subprocess.run([sys.executable, "-m", "actlab.cli", "compare", "--dataset", "mnist", "--subset",
                               str(subset), "--epochs", str(epochs), "--seeds", "1", "--compile", "off", "--out",
                               out, "--json"], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(done.stderr[-2000:])
        summary = json.loads(done.stdout)
        import sqlite3

        with sqlite3.connect(Path(out) / "results.sqlite") as conn:
            steps = conn.execute("SELECT MAX(step) FROM epochs").fetchone()[0]
        return float(summary["wall_seconds"]), int(steps)


def plain_seconds(steps: int) -> float:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", PLAIN, str(steps)], env=env, capture_output=True, text=True,
                          check=True)
    return float(done.stdout.strip().splitlines()[-1])


def measure(subset: int, epochs: int) -> dict[str, float]:
    out: dict[str, float] = {"load": os.getloadavg()[0]}
    out["demo, threads from the load"], steps = demo_seconds(subset, epochs, "auto")
    print(f"  demo, threads from the load: {out['demo, threads from the load']:.2f} s", flush=True)
    out["demo, PyTorch's threads"], _ = demo_seconds(subset, epochs, "torch")
    torch_threads = out["demo, PyTorch's threads"]
    print(f"  demo, PyTorch's threads: {torch_threads:.2f} s", flush=True)
    out["plain PyTorch loop"] = plain_seconds(steps)
    print(f"  plain PyTorch loop: {out['plain PyTorch loop']:.2f} s (load {out['load']:.1f})", flush=True)
    out["steps"] = steps
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, default=2)
    parser.add_argument("--subset", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    idle = measure(args.subset, args.epochs)
    busy = [subprocess.Popen([sys.executable, "-c", BUSY], env={k: v for k, v in os.environ.items()
                                                                   if k != "OMP_NUM_THREADS"})
            for _ in range(args.load)]
    try:
        time.sleep(30)  # the load average follows
        loaded = measure(args.subset, args.epochs)
    finally:
        for process in busy:
            process.kill()
    keys = ["demo, threads from the load", "demo, PyTorch's threads", "plain PyTorch loop"]
    rows = [[key, f"{idle[key]:.2f} s", f"{loaded[key]:.2f} s", f"{loaded[key] / idle[key]:.2f}×"] for key in keys]
    for row in rows:
        print("  ".join(row))
    print(f"load average: {idle['load']:.1f} idle, {loaded['load']:.1f} loaded; {idle['steps']} steps per run")
    if args.json:
        record = {
            "order": 19, "title": "The demo's training under contention, beside a plain PyTorch loop",
            "date": date.today().isoformat(),
            "machine": f"{os.cpu_count()}-core {platform.machine()}, shared with other jobs",
            "load": f"1-minute load average {idle['load']:.1f} (first column: the machine as it was) and {loaded['load']:.1f} "
                    f"(with {args.load} busy PyTorch processes added)",
            "command": f"python benchmarks/bench_contention.py --load {args.load} --subset {args.subset} "
                       f"--epochs {args.epochs}",
            "what": "Training wall time of the demo's sweep shape (9 activations, MLP 784-128-128-10, Adam, batch "
                    f"128; MNIST subset of {args.subset}, {args.epochs} epochs, {idle['steps']} steps per run) with "
                    "threads chosen from the load and with PyTorch's own, and of a plain PyTorch loop training the "
                    "same nine nets for the same steps; the slowdown column is the second column over the first.",
            "tables": [{"columns": ["workload", "machine as it was", f"+ {args.load} busy PyTorch processes", "slowdown"], "rows": rows}],
            "torch": __import__("torch").__version__,
        }
        args.json.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
