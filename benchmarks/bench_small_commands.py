"""Small commands, idle and under a synthetic load: a typo refused, ``show gelu`` (cached and cold), and the
two floors they stand on (Python's start, ``import torch``), measured side by side in one run.

The synthetic load: ``--load N`` processes, each a PyTorch loop of 512×512 matrix products on PyTorch's
default threads (one per core) — the kind of neighbour a second sweep on the machine is.  Each command is run
``--repeats`` times as a fresh process; the median wall time is reported, with the 1-minute load average.

Usage: ``python benchmarks/bench_small_commands.py [--repeats 5] [--load 2] [--json docs/benchmarks/small_commands.json]``
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUSY = ("import torch\nx = torch.randn(512, 512)\nwhile True:\n    for _ in range(50):\n        y = x @ x\n")


def timed(argv: list[str], env: dict[str, str], repeats: int) -> tuple[float, int]:
    """Median wall seconds of ``argv`` run ``repeats`` times, and its exit code."""
    times, code = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        code = done.returncode
    return statistics.median(times), code


def measure(repeats: int, cache: str) -> dict[str, float]:
    python = sys.executable
    # as a user runs it: Python caches the compiled modules (a PYTHONDONTWRITEBYTECODE in this shell would make
    # every run compile actlab's sources again, about 0.17 s)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env = {**env, "PYTHONPATH": str(ROOT / "src"), "ACTLAB_CACHE_DIR": cache}
    cli = [python, "-m", "actlab.cli"]
    subprocess.run([*cli, "show", "gelu"], env=env, capture_output=True)  # warm the caches (actlab's and Python's)
    subprocess.run([*cli, "compare", "--acts", "relu,gleu"], env=env, capture_output=True)
    out = {"load": os.getloadavg()[0]}
    out["python -c pass"], _ = timed([python, "-c", "pass"], env, repeats)
    out["python -c 'import torch'"], _ = timed([python, "-c", "import torch"], env, repeats)
    out["actlab show gleu (typo, exit 2)"], code = timed([*cli, "show", "gleu"], env, repeats)
    assert code == 2
    out["actlab compare --acts relu,gleu (typo, exit 2)"], code = timed([*cli, "compare", "--acts", "relu,gleu"], env,
                                                                        repeats)
    assert code == 2
    out["actlab show gelu (cached)"], code = timed([*cli, "show", "gelu"], env, repeats)
    assert code == 0
    with tempfile.TemporaryDirectory() as cold:
        out["actlab show gelu (cold cache, once)"], _ = timed([*cli, "show", "gelu"], {**env, "ACTLAB_CACHE_DIR": cold},
                                                              1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--load", type=int, default=2, help="busy PyTorch processes for the loaded measurement")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        idle = measure(args.repeats, cache)
        busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(args.load)]
        try:
            time.sleep(20)  # the load average follows
            loaded = measure(args.repeats, cache)
        finally:
            for process in busy:
                process.kill()
    rows = []
    for key in idle:
        if key == "load":
            continue
        rows.append([key, f"{idle[key]:.2f} s", f"{loaded[key]:.2f} s", f"{loaded[key] / idle[key]:.1f}×"])
        print(f"{key:50s} idle {idle[key]:6.2f} s   loaded {loaded[key]:6.2f} s   ×{loaded[key] / idle[key]:.1f}")
    print(f"load average: idle run {idle['load']:.1f}, loaded run {loaded['load']:.1f}")
    if args.json:
        record = {
            "order": 18, "title": "Small commands: a typo refused, show gelu", "date": date.today().isoformat(),
            "machine": f"{os.cpu_count()}-core {platform.machine()} ({platform.processor() or 'CPU'}), "
                       "shared with other jobs",
            "load": f"1-minute load average {idle['load']:.1f} (first column: the machine as it was) and {loaded['load']:.1f} "
                    f"(with {args.load} busy PyTorch processes added)",
            "command": f"python benchmarks/bench_small_commands.py --repeats {args.repeats} --load {args.load}",
            "what": "Median wall time of each command as a fresh process. A typo is refused from the catalog's "
                    "plain-data index before torch is imported; show of a catalog record is read from the disk "
                    "cache (ACTLAB_CACHE_DIR) when its record and actlab's code are unchanged.",
            "tables": [{"columns": ["command", "machine as it was", f"+ {args.load} busy PyTorch processes", "ratio"], "rows": rows}],
            "torch": __import__("torch").__version__,
        }
        args.json.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
