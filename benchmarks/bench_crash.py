"""Crash safety, measured: SIGKILL a running ``actlab compare`` at random moments, resume each time, then check.

    PYTHONPATH=src python benchmarks/bench_crash.py [--kills 20] [--seed 0] [--engine grid]

Each trial starts the sweep (``--resume`` once the store exists), waits until it has
stored at least one more epoch, sleeps a random 0–``--window`` s and sends SIGKILL.
After the kills the sweep is resumed to the end and compared with an uninterrupted
sweep of the same seeds.  Printed: kills delivered and survived (the next resume
opened the store and went on), runs completed exactly once, duplicate or orphaned
rows (must be 0), ``PRAGMA integrity_check``, and whether the final metrics equal
the uninterrupted sweep's to the bit.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
SWEEP = ["--dataset", "moons", "--subset", "1000", "--acts", "relu,tanh,elu", "--seeds", "2", "--epochs", "30",
         "--batch-size", "16", "--width", "32", "--precision", "fp32", "--quiet"]


def _command(out: Path, sweep: list[str], engine: str, resume: bool) -> list[str]:
    args = [sys.executable, "-m", "actlab.cli", "compare", *sweep, "--engine", engine, "--out", str(out)]
    return args + (["--resume"] if resume else [])


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "ACTLAB_COMPILE": "0"}


def _read(out: Path, timeout: float = 5.0) -> sqlite3.Connection:
    """Read-only: a plain connect would create an empty results.sqlite before the sweep creates its store."""
    return sqlite3.connect(f"file:{out / 'results.sqlite'}?mode=ro", uri=True, timeout=timeout)


def _epoch_count(out: Path) -> int:
    try:
        with _read(out, 30) as conn:
            return conn.execute("SELECT COUNT(*) FROM epochs").fetchone()[0]
    except sqlite3.Error:
        return 0


def _snapshot(out: Path) -> tuple[list, list]:
    with _read(out) as conn:
        epochs = conn.execute("SELECT run_id, epoch, step, train_loss, val_loss, val_accuracy FROM epochs"
                              " ORDER BY run_id, epoch").fetchall()
        results = conn.execute("SELECT run_id, best_epoch, test_loss, test_accuracy, val_loss, val_accuracy"
                               " FROM results ORDER BY run_id").fetchall()
    return epochs, results


def _audit(out: Path, epochs_per_run: int) -> dict[str, object]:
    with _read(out) as conn:
        runs = conn.execute("SELECT run_id, status FROM runs").fetchall()
        per_run = dict(conn.execute("SELECT run_id, COUNT(*) FROM epochs GROUP BY run_id").fetchall())
        distinct = dict(conn.execute("SELECT run_id, COUNT(DISTINCT epoch) FROM epochs GROUP BY run_id").fetchall())
        results = dict(conn.execute("SELECT run_id, COUNT(*) FROM results GROUP BY run_id").fetchall())
        orphans = conn.execute("SELECT COUNT(*) FROM epochs WHERE run_id NOT IN (SELECT run_id FROM runs)"
                               " OR epoch < 1 OR epoch > ?", (epochs_per_run,)).fetchone()[0]
        orphans += conn.execute("SELECT COUNT(*) FROM results WHERE run_id NOT IN (SELECT run_id FROM runs)"
                                ).fetchone()[0]
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    duplicates = sum(per_run[r] - distinct[r] for r in per_run) + sum(n - 1 for n in results.values())
    once = sum(1 for run_id, status in runs if status == "finished" and results.get(run_id) == 1
               and per_run.get(run_id) == epochs_per_run == distinct.get(run_id))
    return {"runs": len(runs), "completed_once": once, "duplicates": duplicates, "orphans": orphans,
            "integrity": integrity}


def crash_trials(kills: int, root: Path, *, seed: int = 0, engine: str = "grid", sweep: list[str] | None = None,
                 window: float = 1.5, log=print) -> dict[str, object]:
    """Kill a sweep ``kills`` times, resume it to the end, compare with an uninterrupted one; return the counts."""
    sweep = list(sweep or SWEEP)
    epochs_per_run = int(sweep[sweep.index("--epochs") + 1])
    rng = random.Random(seed)
    reference, crashed = root / "reference", root / "crashed"
    started = time.monotonic()
    subprocess.run(_command(reference, sweep, engine, False), env=_env(), check=True, capture_output=True)
    reference_seconds = time.monotonic() - started
    delivered = survived = finished_early = last_count = 0
    unchecked = False  # a kill whose survival the next process has not checked yet
    for trial in range(kills):
        resume = (crashed / "results.sqlite").is_file()
        before = _epoch_count(crashed) if resume else 0
        child = subprocess.Popen(_command(crashed, sweep, engine, resume), env=_env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if unchecked:  # the store kept what the killed process had stored
            survived, unchecked = survived + (1 if before >= last_count else 0), False
        deadline = time.monotonic() + 300
        while child.poll() is None and _epoch_count(crashed) <= before and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0, window))
        if child.poll() is not None:
            finished_early += 1
            log(f"trial {trial + 1}: the sweep ended (rc {child.returncode}) before the kill")
            break
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stderr.close()
        delivered, unchecked = delivered + 1, True
        last_count = _epoch_count(crashed)
        log(f"trial {trial + 1}: SIGKILL with {last_count} epoch rows stored")
    final = subprocess.run(_command(crashed, sweep, engine, True), env=_env(), capture_output=True, text=True)
    if unchecked:
        survived += 1 if final.returncode == 0 and _epoch_count(crashed) >= last_count else 0
    if final.returncode != 0:
        raise RuntimeError(f"the final resume failed (rc {final.returncode}): {final.stderr[-2000:]}")
    audit = _audit(crashed, epochs_per_run)
    equal = final.returncode == 0 and _snapshot(crashed) == _snapshot(reference)
    return {"kills_delivered": delivered, "kills_survived": survived, "ended_before_kill": finished_early,
            **audit, "final_rc": final.returncode, "equal_to_uninterrupted": equal,
            "reference_seconds": round(reference_seconds, 1), "seconds": round(time.monotonic() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", default="grid", choices=["grid", "sequential"])
    parser.add_argument("--window", type=float, default=1.5, help="seconds after an epoch within which to kill")
    parser.add_argument("--keep", type=Path, default=None, help="directory for the stores (default: a temp dir)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="actlab-crash-"))
    result = crash_trials(args.kills, root, seed=args.seed, engine=args.engine, window=args.window)
    print(f"sweep: {' '.join(SWEEP)} --engine {args.engine}  (stores in {root})")
    print(f"kills survived:          {result['kills_survived']} of {result['kills_delivered']} delivered"
          f"{' (the sweep ended before a kill)' if result['ended_before_kill'] else ''}")
    print(f"runs completed once:     {result['completed_once']} of {result['runs']}")
    print(f"duplicate rows:          {result['duplicates']}")
    print(f"orphaned rows:           {result['orphans']}")
    print(f"PRAGMA integrity_check:  {result['integrity']}")
    print(f"final = uninterrupted:   {result['equal_to_uninterrupted']} (bit-identical epochs and results)")
    print(f"time: {result['seconds']} s (uninterrupted sweep {result['reference_seconds']} s)")


if __name__ == "__main__":
    main()
