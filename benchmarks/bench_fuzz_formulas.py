"""Fuzz benchmark: ≥ 10 000 hypothesis-generated formulas → time per formula (max, p99, median), printed.

Each formula is built (``from_formula``), its kinks found and f, f' evaluated at
three points, as ``actlab eval`` / ``define`` do; a refusal (FormulaError) counts
as answered.  The generator is ``tests/formula/fuzz_strategies.py``.

Printed: wall time per formula (median, p90, p99, max), the same for this
process's CPU time (the SymPy worker runs in another process, under its own
wall-clock deadline), the load average during the run, and the 20 slowest
formulas with their wall and CPU times: on a shared machine a formula whose
wall time is far above its CPU time waited for a core.

    PYTHONPATH=src python benchmarks/bench_fuzz_formulas.py [N]
"""
from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "formula"))

import warnings

import fuzz_strategies
import numpy as np
import torch
from hypothesis.errors import HypothesisWarning

from actlab.formula import FormulaError, from_formula


def generate(count: int) -> list[str]:
    """``count`` formulas from the hypothesis strategy (derandomised: the same list every time)."""
    return fuzz_strategies.sample(count)


def main(count: int) -> None:
    warnings.filterwarnings("ignore", category=HypothesisWarning)  # large strategy reprs, not our concern
    # generated first, then timed one by one: hypothesis' own bookkeeping (and the garbage collections it causes,
    # 0.1-0.5 s of CPU each with its data in memory) stays out of the formulas' times
    texts = generate(count)
    times: list[float] = []
    cpu_times: list[float] = []
    gc_times: list[float] = []
    loads: list[float] = [os.getloadavg()[0]]
    slowest: list[tuple[float, float, float, float, str]] = []
    outcomes = {"accepted": 0, "refused": 0, "chain rule": 0, "crashed": 0}
    x = torch.tensor([-1.0, 0.5, 2.0], dtype=torch.float64)
    from_formula("x*tanh(x)")  # one-time set-up (worker fork, SymPy's lazy imports) is not per formula
    collecting = {"since": 0.0, "total": 0.0}

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            collecting["since"] = time.perf_counter()
        else:
            collecting["total"] += time.perf_counter() - collecting["since"]

    gc.callbacks.append(on_gc)
    for text in texts:
        start, cpu, collected = time.perf_counter(), time.process_time(), collecting["total"]
        try:
            spec = from_formula(text)
            spec.kink_points()
            spec.forward(x)
            spec.derivative(x)
            outcomes["accepted"] += 1
            outcomes["chain rule"] += any("chain rule" in note for note in spec.notes)
        except FormulaError:
            outcomes["refused"] += 1
        except Exception as error:  # noqa: BLE001 - a crash is what this benchmark looks for: count and show it
            outcomes["crashed"] += 1
            print(f"CRASH {type(error).__name__}: {error} on {text!r}", flush=True)
        elapsed, used = time.perf_counter() - start, time.process_time() - cpu
        times.append(elapsed)
        cpu_times.append(used)
        gc_times.append(collecting["total"] - collected)
        if len(times) % 1000 == 0:
            t = np.array(times)
            loads.append(os.getloadavg()[0])
            print(f"  ... {len(t)}: p99 {np.percentile(t, 99) * 1e3:.1f} ms, max {t.max() * 1e3:.1f} ms, "
                  f"load {loads[-1]:.1f}", flush=True)
        slowest.append((elapsed, used, gc_times[-1], os.getloadavg()[0], text))
        slowest.sort(reverse=True)
        del slowest[20:]
    gc.callbacks.remove(on_gc)
    t = np.array(times)
    print(f"{len(t)} formulas: {outcomes['accepted']} accepted ({outcomes['chain rule']} by the chain-rule fallback), "
          f"{outcomes['refused']} refused, {outcomes['crashed']} crashed")
    print(f"time per formula: median {np.median(t) * 1e3:.1f} ms, p90 {np.percentile(t, 90) * 1e3:.1f} ms, "
          f"p99 {np.percentile(t, 99) * 1e3:.1f} ms, max {t.max() * 1e3:.1f} ms; over 1 s: {(t > 1).sum()}")
    c = np.array(cpu_times)
    print(f"CPU time of this process per formula: median {np.median(c) * 1e3:.1f} ms, "
          f"p99 {np.percentile(c, 99) * 1e3:.1f} ms, max {c.max() * 1e3:.1f} ms; over 1 s: {(c > 1).sum()}")
    g = np.array(gc_times)
    print(f"garbage collection inside the timed region: total {g.sum():.2f} s, max {g.max() * 1e3:.1f} ms")
    print(f"load average (1 min) during the run: {min(loads):.1f}-{max(loads):.1f} "
          f"({os.cpu_count()} CPUs); the 20 slowest (wall, CPU of this process, GC, load at the time):")
    for elapsed, used, collected, load, text in slowest:
        print(f"  {elapsed * 1e3:7.1f} ms wall {used * 1e3:6.1f} ms CPU {collected * 1e3:6.1f} ms GC  "
              f"load {load:4.1f}  {text[:150]}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
