"""Where compiling pays: the same ``actlab compare`` job with ``--compile on`` and ``--compile off`` at several
job sizes, each a fresh process, on/off interleaved, wall time including start-up and compilation.

    PYTHONPATH=src python benchmarks/bench_compile_crossover.py [--sizes 2000x1,10000x1,10000x4,0x2,0x5]
        [--rounds 1] [--warm] [--threads N]

A size is ``SUBSETxEPOCHS`` on MNIST (subset 0: the whole training set) with the default grid (9 activations ×
3 seeds, depth 2, width 128, batch 128).  Job work is :func:`actlab.compile_policy.job_work` (steps × models ×
batch × width), as ``--compile auto`` computes it.  Every "on" run gets an empty inductor cache (the cold,
first-run cost); ``--warm`` then runs the largest size once more on the cache the previous run left, and
prints first vs second compile time.  The crossover is the work where on/off crosses 1, interpolated in
log(work) between the measured sizes.  Prints the device with every figure, and the load average.

``--per-step K`` measures the same thing from the other end, in one process (robust to this machine's load
swings): the default grid's training step eager and compiled, K steps each in alternating blocks, after
compiling once (timed).  Compiling pays from work ≈ compile seconds / (seconds saved per step / work per step).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time

ACTS = "sigmoid,tanh,relu,leaky_relu,elu,selu,gelu,silu,mish"
SEEDS, BATCH, WIDTH = 3, 128, 128


def device_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return f"cpu ({line.split(':', 1)[1].strip()}, {os.cpu_count()} cores)"
    except OSError:
        pass
    return f"cpu ({platform.processor() or platform.machine()})"


def load() -> str:
    return "load %.1f %.1f %.1f" % os.getloadavg()


def run_job(subset: int, epochs: int, mode: str, cache: str, env: dict[str, str]) -> tuple[float, dict]:
    env = dict(env, TORCHINDUCTOR_CACHE_DIR=cache)
    with tempfile.TemporaryDirectory() as out:
        argv = [sys.executable, "-m", "actlab.cli", "compare", "--dataset", "mnist", "--acts", ACTS,
                "--seeds", str(SEEDS), "--epochs", str(epochs), "--batch-size", str(BATCH), "--width", str(WIDTH),
                "--compile", mode, "--device", "cpu", "--json", "--out", os.path.join(out, "run")]
        if subset:
            argv += ["--subset", str(subset)]
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout)


def per_step(steps: int, blocks: int = 3) -> None:
    """Eager vs compiled seconds per training step of the default grid (MNIST, 27 models), one process."""
    import actlab.data
    from actlab import compile_policy
    from actlab.train import RunSpec, TrainConfig
    from actlab.train.grid import GridTrainer
    from actlab.train.prepared import prepare

    data = prepare(actlab.data.load("mnist"), "mlp", "cpu")
    runs = [RunSpec(a, s) for a in ACTS.split(",") for s in range(SEEDS)]
    trainer = GridTrainer(data, TrainConfig(epochs=1, batch_size=BATCH, width=WIDTH), runs)
    work = len(runs) * BATCH * WIDTH
    start = time.perf_counter()
    compile_policy.set_job_compile(True)
    stop = iter(range(3))
    trainer.train_epoch(should_stop=lambda: next(stop) >= 2)  # compiles the step (eval is not compiled here)
    compiled_in = compile_policy.compile_seconds()
    print(f"per step: compiling the training step took {compiled_in:.1f} s "
          f"({time.perf_counter() - start:.1f} s with 2 steps)  [{device_name()}, {load()}]")
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(blocks):
        for compiled in (False, True):
            compile_policy.set_job_compile(compiled)
            count = iter(range(steps + 1))
            start = time.perf_counter()
            trainer.train_epoch(should_stop=lambda count=count: next(count) >= steps)
            times[compiled].append((time.perf_counter() - start) / steps)
    compile_policy.set_job_compile(True)
    eager, fused = min(times[False]), min(times[True])
    saved = eager - fused
    print(f"per step: eager {1e3 * eager:.1f} ms, compiled {1e3 * fused:.1f} ms (best of {blocks} blocks of "
          f"{steps}), saves {1e3 * saved:.1f} ms per step of work {work:.2g}  [{device_name()}, {load()}]")
    if saved > 0:
        print(f"per step: compiling pays from work ≈ {compiled_in:.1f} s / ({saved:.4f} s / {work:.2g}) = "
              f"{compiled_in * work / saved:.2g} (this process' compile time; a cold start also compiles "
              f"evaluation)  [{device_name()}, {load()}]")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="2000x1,10000x1,10000x4,0x2,0x5")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--warm", action="store_true", help="rerun the largest size on the warm on-disk cache")
    parser.add_argument("--threads", type=int, default=0, help="OMP_NUM_THREADS for the jobs (0: torch's default)")
    parser.add_argument("--per-step", type=int, default=0, metavar="K",
                        help="only the in-process eager vs compiled step timing, K steps per block")
    args = parser.parse_args()
    if args.per_step:
        per_step(args.per_step)
        return
    env = dict(os.environ)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    import actlab.data
    from actlab.compile_policy import JOB_MIN_WORK, job_work

    n_train = len(actlab.data.load("mnist").x_train)
    models = len(ACTS.split(",")) * SEEDS
    device = device_name()
    print(f"device: {device}; threads: {args.threads or 'default'}; current JOB_MIN_WORK {JOB_MIN_WORK:.2g}")
    print(f"{'size':>9s} {'work':>8s} {'off s':>7s} {'on s':>7s} {'compile s':>9s} {'on/off':>6s}  device, load")
    rows = []
    cache_of_last = None
    for size in args.sizes.split(","):
        subset, epochs = (int(v) for v in size.split("x"))
        n = min(subset, n_train) if subset else n_train
        work = job_work(epochs * math.ceil(n / BATCH), models, BATCH * WIDTH)
        off, on, compiled = [], [], []
        for _ in range(args.rounds):
            cache = tempfile.mkdtemp(prefix="actlab-inductor-")
            seconds, _ = run_job(subset, epochs, "off", cache, env)
            off.append(seconds)
            seconds, summary = run_job(subset, epochs, "on", cache, env)
            on.append(seconds)
            compiled.append(summary.get("compile_seconds") or 0.0)
            cache_of_last = (subset, epochs, cache, seconds, compiled[-1])
        a, b, c = min(off), min(on), min(compiled)
        rows.append((work, b / a))
        print(f"{size:>9s} {work:8.2e} {a:7.1f} {b:7.1f} {c:9.1f} {b / a:6.2f}  {device}, {load()}", flush=True)
    crossing = None
    for (w0, r0), (w1, r1) in zip(rows, rows[1:]):
        if r0 >= 1.0 > r1:
            t = (1.0 - r0) / (r1 - r0)
            crossing = math.exp(math.log(w0) + t * (math.log(w1) - math.log(w0)))
    if crossing is None:
        print("no crossing between the measured sizes (on/off does not go from ≥ 1 to < 1)")
    else:
        print(f"crossover (cold cache): compiling pays from work ≈ {crossing:.2g}  [{device}, {load()}]")
    if args.warm and cache_of_last is not None:
        subset, epochs, cache, first_wall, first_compile = cache_of_last
        seconds, summary = run_job(subset, epochs, "on", cache, env)
        print(f"second run of {subset}x{epochs} on the warm cache: compile {first_compile:.1f} s → "
              f"{summary.get('compile_seconds') or 0.0:.1f} s, wall {first_wall:.1f} s → {seconds:.1f} s  "
              f"[{device}, {load()}]")


if __name__ == "__main__":
    main()
