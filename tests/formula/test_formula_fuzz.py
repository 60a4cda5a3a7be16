"""Samples of the two fuzz benchmarks (benchmarks/bench_fuzz_properties.py, bench_fuzz_derivatives.py): the
property table answers every formula within its budget without a traceback, and f' agrees with autograd and an
mpmath reference at smooth points.  The full runs (≥ 1 000 and ≥ 2 000 formulas) are the benchmarks."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_fuzz_derivatives  # noqa: E402
import bench_fuzz_properties  # noqa: E402

from actlab.analysis.fields import PROPERTY_SECONDS  # noqa: E402


@pytest.fixture(autouse=True)
def _environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ACTLAB_CONFIG_DIR", str(tmp_path / "config"))


def _properties_sample(texts: list[str]) -> None:
    result = bench_fuzz_properties.run(texts)
    assert result["crashed"] == []
    # CPU time of this process: wall time on a shared machine also counts the waits for a core
    slow = [(round(c, 2), text) for c, text in zip(result["cpu"], texts) if c > PROPERTY_SECONDS + 2.0]
    assert slow == []


def test_property_fuzz_sample():
    hostile = ["log(erfc(x))", "sin(1e16*x)", "tan(x)", "sqrt(abs(x))", "clip(x, 2*x, -x)"]
    _properties_sample(hostile + bench_fuzz_properties.generate(15))


@pytest.mark.slow
def test_property_fuzz_larger_sample():
    _properties_sample(bench_fuzz_properties.HOSTILE + bench_fuzz_properties.generate(80))


def _derivative_sample(texts: list[str]) -> dict:
    counts = dict.fromkeys(["accepted", "refused", "smooth points", "comparable points", "disagreements with mpmath",
                            "disagreements with autograd", "ours non-finite, autograd finite"], 0)
    report: list[str] = []
    for text in texts:
        bench_fuzz_derivatives.check(text, counts, report)
    assert counts["disagreements with mpmath"] == 0, "\n".join(report)
    assert counts["disagreements with autograd"] == 0, "\n".join(report)
    assert counts["ours non-finite, autograd finite"] == 0, "\n".join(report)
    return counts


def test_derivative_fuzz_sample():
    counts = _derivative_sample(bench_fuzz_derivatives.HOSTILE + bench_fuzz_derivatives.generate(30))
    assert counts["comparable points"] > 100  # the comparison really happened


@pytest.mark.slow
def test_derivative_fuzz_larger_sample():
    counts = _derivative_sample(bench_fuzz_derivatives.generate(300))
    assert counts["comparable points"] > 1000


def test_the_mpmath_reference_sees_a_wrong_derivative():
    # the reference itself: clip(x, 2*x, -x) at x = 1 is -x, slope -1 (the slope 2 of main's derivative is caught)
    from actlab.formula import parse

    value, slope = bench_fuzz_derivatives.reference(parse("clip(x, 2*x, -x)"), 1.0)
    assert (value, slope) == pytest.approx((-1.0, -1.0))
    assert not bench_fuzz_derivatives.close(2.0, slope)
    assert bench_fuzz_derivatives.reference(parse("abs(x)"), 0.0) is None  # not smooth at the kink
