"""The crash benchmark in short: three SIGKILLs at random moments, resume, nothing lost or doubled."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_crash.py"


@pytest.mark.slow
def test_three_kills_then_resume_equals_uninterrupted(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_crash", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    sweep = ["--dataset", "moons", "--subset", "600", "--acts", "relu,tanh", "--seeds", "2", "--epochs", "12",
             "--batch-size", "8", "--width", "16", "--precision", "fp32", "--dropout", "0.1", "--quiet"]
    result = bench.crash_trials(3, tmp_path, seed=1, sweep=sweep, window=0.5, log=lambda *a: None)
    assert result["final_rc"] == 0
    assert result["kills_delivered"] + result["ended_before_kill"] >= 1
    assert result["kills_survived"] == result["kills_delivered"]
    assert result["completed_once"] == result["runs"] == 4
    assert result["duplicates"] == 0 and result["orphans"] == 0 and result["integrity"] == "ok"
    assert result["equal_to_uninterrupted"]
