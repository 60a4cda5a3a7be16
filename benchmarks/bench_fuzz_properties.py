"""Property-table fuzz: ≥ 1 000 generated formulas plus hand-written hostile ones → the wall and CPU time of
``properties(formula, measure_cost=False)`` each (the formula is built first, untimed; a refused formula counts
as answered), and every exception that is not a clear refusal.

The generator is ``tests/formula/fuzz_strategies.py`` (derandomised).  Printed: time per formula (median, p99,
max), the load average, how many tables had fields left null by the budget, and the slowest formulas.

    PYTHONPATH=src python benchmarks/bench_fuzz_properties.py [N]
"""
from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "formula"))

import fuzz_strategies
import numpy as np

from actlab.analysis import properties
from actlab.errors import ActlabError
from actlab.formula import from_formula

HOSTILE = ["log(erfc(x))", "x-1e308", "x*sigmoid(1e308*x)", "sin(1e16*x)", "abs(sin(1e6*x))", "tan(x)",
           "sqrt(abs(x))", "where(x > 0, sqrt(x), 0)", "sinh(x)/cosh(x)", "clip(x, 2*x, -x)",
           "clip(17, exp(pi), exp(x))", "x**maximum(x, 17)", "0**x", "1e308*x", "x*4e38",
           "exp(exp(exp(x)))", "sin(1/x)", "x*sin(1e300*x)", "where(x == x, x, 0)", "log(log(log(x)))"]
LIMIT_SECONDS = 5.0


def generate(count: int) -> list[str]:
    """``count`` formulas from the hypothesis strategy (derandomised: the same list every time)."""
    return fuzz_strategies.sample(count)


def run(texts: list[str]) -> dict:
    """Time ``properties`` on each formula: {"times", "cpu", "refused", "crashed", "budgeted", "slowest"}."""
    result = {"times": [], "cpu": [], "refused": 0, "crashed": [], "budgeted": 0, "slowest": []}
    for text in texts:
        try:
            spec = from_formula(text)
        except ActlabError:
            result["refused"] += 1
            continue
        start, cpu = time.perf_counter(), time.process_time()
        try:
            table = properties(spec, measure_cost=False)
            result["budgeted"] += any("within the budget" in note for note in table.notes)
        except ActlabError:
            result["refused"] += 1
        except Exception as error:  # noqa: BLE001 - a crash is what this benchmark looks for: count and show it
            result["crashed"].append(f"{type(error).__name__}: {error}: {text}")
        elapsed = time.perf_counter() - start
        result["times"].append(elapsed)
        result["cpu"].append(time.process_time() - cpu)
        result["slowest"].append((elapsed, result["cpu"][-1], os.getloadavg()[0], text))
        result["slowest"].sort(reverse=True)
        del result["slowest"][10:]
    return result


def main(count: int) -> int:
    warnings.filterwarnings("ignore")
    texts = HOSTILE + generate(count)
    from_formula("x*tanh(x)")
    properties("x*tanh(x)", measure_cost=False)
    loads = [os.getloadavg()[0]]
    start = time.perf_counter()
    result = run(texts)
    loads.append(os.getloadavg()[0])
    t, c = np.array(result["times"]), np.array(result["cpu"])
    print(f"{len(texts)} formulas ({len(HOSTILE)} hand-written hostile ones first) in {time.perf_counter() - start:.0f} s; "
          f"load {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} CPUs")
    print(f"  tables: {len(t)}, refused formulas: {result['refused']}, crashed: {len(result['crashed'])}, "
          f"with fields left null by the budget: {result['budgeted']}")
    print(f"  wall per table: median {np.median(t):.3f} s, p99 {np.percentile(t, 99):.3f} s, max {t.max():.3f} s, "
          f"over {LIMIT_SECONDS:g} s: {(t > LIMIT_SECONDS).sum()}")
    print(f"  CPU per table: median {np.median(c):.3f} s, p99 {np.percentile(c, 99):.3f} s, max {c.max():.3f} s, "
          f"over {LIMIT_SECONDS:g} s: {(c > LIMIT_SECONDS).sum()}")
    print("  slowest (wall, CPU, load):")
    for elapsed, used, load, text in result["slowest"]:
        print(f"    {elapsed:6.2f} s {used:6.2f} s {load:4.1f}  {text[:140]}")
    for line in result["crashed"][:30]:
        print("  CRASH", line)
    return 0 if not result["crashed"] else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
