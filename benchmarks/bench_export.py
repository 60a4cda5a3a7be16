"""ONNX exporters side by side: torch's torch.export-based exporter (``dynamo=True``) against the TorchScript one
(``dynamo=False``), for every catalog record and a few formula activations, in one run.

For each activation: does each exporter write a model that onnxruntime runs and that matches the module to 1e-5
(``actlab.nn.export.mismatch``) on ``sample_input`` (kinks, origin, tails), and how long the export takes.  Both
exporters get a static shape here (the TorchScript exporter has no ``torch.export`` dynamic batch).

Usage: ``python benchmarks/bench_export.py [--json docs/benchmarks/export.json]``
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import os
import platform
import statistics
import sys
import time
import warnings

import torch

from actlab.catalog import BUILTIN
from actlab.nn import create
from actlab.nn.export import OPSET, mismatch, run_onnx, sample_input

FORMULAS = ("x*sigmoid(1.702*x)", "where(x > 0, x, expm1(x))", "x*tanh(softplus(x))", "x*erf(x)",
            "sinh(x/10) + arctan(x)", "clip(x, -1, 1) + maximum(x, 0)")


def export(module: torch.nn.Module, x: torch.Tensor, dynamo: bool) -> bytes:
    if dynamo:
        program = torch.onnx.export(module, (x,), dynamo=True, opset_version=OPSET, verbose=False)
        return program.model_proto.SerializeToString()
    buffer = io.BytesIO()
    torch.onnx.export(module, (x,), buffer, dynamo=False, opset_version=OPSET)
    return buffer.getvalue()


def measure(name: str, dynamo: bool) -> tuple[str, float]:
    module = create(name).eval()
    x = sample_input(name, 2)
    with torch.no_grad():
        expected = module(x)
    start = time.perf_counter()
    try:
        model = export(module, x, dynamo)
    except Exception as error:  # the outcome is the measurement
        return f"fails: {type(error).__name__}", time.perf_counter() - start
    seconds = time.perf_counter() - start
    problem = mismatch(run_onnx(model, x), expected)
    return ("ok" if problem is None else "wrong values"), seconds


def _cpu() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else the platform's machine name."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the result table here")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    names = [spec.name for spec in BUILTIN] + list(FORMULAS)
    for dynamo in (True, False):  # warm up: imports and the first exporter call
        measure("relu", dynamo)
    load_before = os.getloadavg()[0]
    rows, times = [], {True: [], False: []}
    for name in names:
        results = {dynamo: measure(name, dynamo) for dynamo in (True, False)}
        for dynamo, (_, seconds) in results.items():
            times[dynamo].append(seconds)
        row = [name, results[True][0], f"{results[True][1]:.2f} s", results[False][0], f"{results[False][1]:.3f} s",
               f"{results[True][1] / max(results[False][1], 1e-9):.0f}x"]
        rows.append(row)
        print(" | ".join(row), flush=True)
    load = f"{load_before:.1f}–{os.getloadavg()[0]:.1f}"
    summary = []
    for dynamo, label in ((True, "dynamo=True (torch.export-based)"), (False, "dynamo=False (TorchScript)")):
        column = 1 if dynamo else 3
        ok = sum(1 for row in rows if row[column] == "ok")
        catalog_ok = sum(1 for row in rows[: len(BUILTIN)] if row[column] == "ok")
        summary.append([label, f"{catalog_ok}/{len(BUILTIN)}", f"{ok - catalog_ok}/{len(FORMULAS)}",
                        f"{statistics.median(times[dynamo]):.3f} s", f"{sum(times[dynamo]):.1f} s"])
    for row in summary:
        print(" | ".join(row))
    print(f"load {load}")
    if args.json:
        result = {
            "order": 20,
            "title": "ONNX export: torch's two exporters on every record",
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{os.cpu_count()}-core {_cpu()} VM",
            "load": load,
            "torch": torch.__version__,
            "command": "python benchmarks/bench_export.py --json docs/benchmarks/export.json",
            "what": "Each catalog record's module and six formula activations exported to ONNX (opset "
                    f"{OPSET}) by both exporters, run in onnxruntime and compared with the module to 1e-5 on inputs "
                    "at the kinks and in the tails; export time per activation (one core).",
            "tables": [
                {"columns": ["exporter", "catalog records ok", "formulas ok", "median export", "total"],
                 "rows": summary},
                {"columns": ["activation", "dynamo=True", "time", "dynamo=False", "time", "ratio"], "rows": rows},
            ],
            "notes": "ok: onnxruntime matches the module to 1e-5; wrong values: it runs but misses (log_sigmoid's "
                     "Log(Sigmoid(x)) in float32); fails: no model. actlab.nn.export uses dynamo=True: it writes "
                     "every formula the TorchScript exporter writes and the ones it cannot.",
        }
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=1, ensure_ascii=False)
            handle.write("\n")


if __name__ == "__main__":
    sys.exit(main())
