"""Forward+backward time of every catalog module vs the native torch module, side by side in one process.

    PYTHONPATH=src python benchmarks/bench_modules.py [--shape 256x4096] [--repeats 20] [--no-compile]

For entries with a native op: actlab's module (impl="auto") / torch's module (target ≤ 1.1×), and the
reference path (the generic Function) / torch's module.  For the others: actlab's module (impl="auto": the
generic Function, forward and backward each compiled into one kernel for large tensors) / the best of the eager
composition of the spec's forward (autograd) and torch.compile of that composition (target ≤ 1.5×), and
the reference module (eager) / that best.
Interleaved rounds, median of each; the ratio is what to read (the machine is shared and noisy).
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from actlab.catalog import BUILTIN
from actlab.nn import create


def _time(fn, x, repeats: int) -> float:
    x = x.detach().requires_grad_(True)
    start = time.perf_counter()
    for _ in range(repeats):
        y = fn(x)
        y.backward(torch.ones_like(y))
        x.grad = None
    return (time.perf_counter() - start) / repeats


def _side_by_side(fns: dict, x, repeats: int, rounds: int = 5) -> dict[str, float]:
    for fn in fns.values():
        _time(fn, x, 2)  # warm up (and compile)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for key, fn in fns.items():
            times[key].append(_time(fn, x, repeats))
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", default="256x4096")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--no-compile", action="store_true",
                        help="skip torch.compile of the composition (entries without a native op)")
    parser.add_argument("--only", default="", help="comma-separated names")
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.shape.split("x"))
    device = "cpu"
    print(f"device: {device} ({platform.processor() or platform.machine()}), {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, input {shape} float32, fwd+bwd, median of interleaved rounds")
    x = torch.randn(*shape)
    only = set(filter(None, args.only.split(",")))
    print(f"{'name':14s} {'actlab ms':>9s} {'torch ms':>9s} {'auto/torch':>10s} {'ref/torch':>9s}")
    for spec in BUILTIN:
        if spec.kind != "elementwise" or (only and spec.name not in only):
            continue
        if spec.native is not None:
            module = create(spec)
            if spec.torch_module is not None:
                native = module.torch_equivalent()
            else:  # torch has a function but no module (sin, atan, exp)

                def native(v, spec=spec, fixed=module.fixed):
                    return spec.native(v, **fixed)
            fns = {"auto": module, "torch": native,
                   "reference": create(spec, impl="reference")}
            t = _side_by_side(fns, x, args.repeats)
            print(f"{spec.name:14s} {t['auto'] * 1e3:9.2f} {t['torch'] * 1e3:9.2f} "
                  f"{t['auto'] / t['torch']:10.2f} {t['reference'] / t['torch']:9.2f}")
        elif spec.trainable:
            params = spec.resolve()

            def eager(v, spec=spec, params=params):
                return spec.forward(v, **params)

            fns = {"auto": create(spec), "reference": create(spec, impl="reference"), "eager": eager}
            if not args.no_compile:
                fns["compiled"] = torch.compile(eager, dynamic=False)
            t = _side_by_side(fns, x, args.repeats)
            best = min(t[k] for k in ("eager", "compiled") if k in t)
            print(f"{spec.name:14s} {t['auto'] * 1e3:9.2f} {'':9s} auto/best-of-composition {t['auto'] / best:.2f}"
                  f"  ref/best {t['reference'] / best:.2f}  (eager {t['eager'] * 1e3:.2f} ms"
                  + (f", compiled {t['compiled'] * 1e3:.2f} ms)" if "compiled" in t else ")"))

if __name__ == "__main__":
    main()
