"""Formula activations vs native PyTorch ops: forward+backward time and memory saved for backward.

For gelu_tanh, silu, mish and elu written as formulas, in one run:

* native fwd+bwd time (``F.gelu(approximate='tanh')``, ``F.silu``, ``F.mish``, ``F.elu``),
* the formula through ``actlab.nn.create(spec)`` (compiled forward + fused vjp; target <= 1.3x native),
* the eager, uncompiled composition of torch ops under plain autograd,
* compile time (first call minus a steady call),
* bytes autograd saves for backward (target: one input-sized tensor).

Usage: ``python benchmarks/bench_formula.py [--numel 16777216] [--repeats 10]``
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F

os.environ.setdefault("ACTLAB_COMPILE", "1")

from actlab.formula import from_formula  # noqa: E402
from actlab.nn import create  # noqa: E402

CASES = [
    ("gelu_tanh", "0.5*x*(1 + tanh(0.7978845608*(x + 0.044715*x**3)))", lambda x: F.gelu(x, approximate="tanh")),
    ("silu", "x*sigmoid(x)", F.silu),
    ("mish", "x*tanh(softplus(x))", F.mish),
    ("elu", "where(x > 0, x, exp(x) - 1)", F.elu),
]


def fwd_bwd(fn, x: torch.Tensor, grad: torch.Tensor) -> None:
    leaf = x.detach().requires_grad_(True)
    fn(leaf).backward(grad)


def timed(fn, x, grad, repeats: int) -> float:
    fwd_bwd(fn, x, grad)  # warm-up
    fwd_bwd(fn, x, grad)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fwd_bwd(fn, x, grad)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def saved_bytes(fn, x: torch.Tensor) -> int:
    """Bytes of the distinct tensors autograd keeps for backward."""
    seen: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return tensor

    leaf = x.detach().requires_grad_(True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = fn(leaf)
    del y
    return sum(seen.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numel", type=int, default=16 * 1024 * 1024)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.manual_seed(0)
    x = torch.randn(args.numel)
    grad = torch.randn(args.numel)
    mb = 1024 * 1024
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.numel:,} float32 elements "
          f"({x.numel() * 4 / mb:.0f} MiB), median of {args.repeats}")
    header = (f"{'activation':<10} {'native ms':>9} {'formula ms':>10} {'ratio':>6} {'eager ms':>9} {'ratio':>6} "
              f"{'compile s':>9} {'saved MiB: native':>17} {'formula':>8} {'eager':>6}")
    print(header)
    print("-" * len(header))
    for name, text, native in CASES:
        spec = from_formula(text)
        module = create(spec)
        eager = spec.forward.eager  # the uncompiled composition of torch ops, under plain autograd

        start = time.perf_counter()
        fwd_bwd(module, x, grad)  # first call compiles forward and the fused vjp
        first = time.perf_counter() - start
        t_formula = timed(module, x, grad, args.repeats)
        compile_s = first - t_formula
        t_native = timed(native, x, grad, args.repeats)
        t_eager = timed(eager, x, grad, args.repeats)
        # values agree
        leaf = x[:4096].detach().requires_grad_(True)
        torch.testing.assert_close(module(leaf), native(leaf), rtol=1e-5, atol=1e-5)
        print(f"{name:<10} {t_native * 1e3:>9.1f} {t_formula * 1e3:>10.1f} {t_formula / t_native:>6.2f} "
              f"{t_eager * 1e3:>9.1f} {t_eager / t_native:>6.2f} {compile_s:>9.1f} "
              f"{saved_bytes(native, x) / mb:>17.0f} {saved_bytes(module, x) / mb:>8.0f} {saved_bytes(eager, x) / mb:>6.0f}")
    print("target: formula/native <= 1.3; formula saves one input-sized tensor")


if __name__ == "__main__":
    main()
