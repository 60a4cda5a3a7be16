"""The bounded symbolic pipeline: every formula answered within its budget, exact derivatives, true kinks."""
from __future__ import annotations

import math
import time

import fuzz_strategies
import pytest
import torch
from hypothesis import HealthCheck, given, settings

from actlab.formula import FormulaError, budget, chainrule, check_formula, from_formula, parse
from actlab.formula.torchfn import forward_function, node_function
from actlab.nn import create

ISSUE_FORMULA = "sqrt(sinh(tan(erf(sqrt(sinh(sqrt(sqrt(sinh(tan(erf(cosh(exp(sinh(sqrt(x)))))))))))))))"
LIMIT = 1.0  # seconds per formula (the issue's bound)
# This machine's CPUs are shared with other jobs (load 6-15 on 2 cores): a process gets a fraction of a core, so a
# formula's *wall* time is its CPU time stretched several-fold by the scheduler. The strict limit is therefore on
# what the pipeline itself controls: the CPU time of this process (the SymPy worker runs in another process under
# its own wall-clock deadline, killed when late, so it cannot add more than budget.SYMBOLIC_SECONDS), plus a wall
# limit of HANG_LIMIT that only a hang, not a busy machine, can exceed. Wall-time figures: the fuzz benchmark.
HANG_LIMIT = 10.0


def _answered(text: str) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds) to build, scan and evaluate ``text``."""
    start, cpu = time.perf_counter(), time.process_time()
    try:
        spec = from_formula(text)
        spec.kink_points()
        x = torch.tensor([-1.0, 0.5, 2.0], dtype=torch.float64)
        spec.forward(x)
        spec.derivative(x)
    except FormulaError:
        pass
    return time.process_time() - cpu, time.perf_counter() - start


def test_the_86_character_formula_is_answered_within_the_limit():
    assert len(ISSUE_FORMULA) == 86
    from_formula("x*tanh(x)")  # the worker and SymPy's lazy imports are set up once per process
    start, cpu = time.perf_counter(), time.process_time()
    spec = from_formula(ISSUE_FORMULA)
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    assert used < LIMIT and elapsed < HANG_LIMIT, (used, elapsed)
    # SymPy did not finish; the derivative is still exact: the chain rule agrees with autograd
    assert any("chain rule" in note for note in spec.notes)
    x = torch.tensor([0.3, 1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(spec.forward(x).sum(), x)
    assert torch.allclose(spec.derivative(x.detach()), grad, rtol=1e-9, atol=1e-300)


def test_a_hanging_stage_is_killed_at_its_deadline():
    start = time.perf_counter()
    stages, finished = budget.run_stages(_slow_stages, (), 0.3)
    assert time.perf_counter() - start < 1.5
    assert stages == ["first"] and not finished
    # the next call gets a fresh worker that works
    stages, finished = budget.run_stages(_quick_stages, (), 2.0)
    assert stages == [1, 2] and finished


def _slow_stages():
    yield "first"
    while True:  # a stage that never ends
        pass


def _quick_stages():
    yield 1
    yield 2


def test_a_memory_bomb_in_the_worker_is_an_error():
    with pytest.raises(budget.BudgetExceeded, match="memory"):
        budget.run_stages(_memory_stages, (), 5.0)


def _memory_stages():
    yield bytearray(4 * budget.WORKER_MEMORY_BYTES)


def test_check_formula_refuses_or_accepts_within_budget():
    spec = check_formula("x*sigmoid(x)")
    assert spec.kink_points() == ()
    with pytest.raises(FormulaError, match="unknown function"):
        check_formula("sigmod(x)")


@pytest.mark.parametrize("text", [
    "x*sigmoid(1.702*x)", "where(x > 0, x, 0.5*(exp(x) - 1))", "softplus(x)*tanh(x)", "x**3/(1 + abs(x))",
    "clip(x, -1, 2)*sin(x)", "2**x", "x**x", "maximum(x, 0.1*x) + minimum(x, 2)", ISSUE_FORMULA,
])
def test_chain_rule_is_exact(text):
    tree = parse(text)
    derivative = node_function(chainrule.derivative(tree))
    forward = forward_function(tree)
    x = torch.tensor([-1.7, -0.4, 0.35, 0.9, 1.6], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(forward(x).sum(), x)
    assert torch.allclose(derivative(x.detach()), grad, rtol=1e-9, atol=1e-12, equal_nan=True)
    # the printed derivative parses back to the same function (where it fits the language's limits)
    printed = chainrule.text(chainrule.derivative(tree))
    if len(printed) > 500:
        return
    again = from_formula(printed)
    assert torch.allclose(again.forward(x.detach()), derivative(x.detach()), rtol=1e-12, equal_nan=True)


def test_integers_beyond_64_bits():
    spec = from_formula("1e19*x**2")
    x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert spec.derivative(x).tolist() == [2e19, 4e19]
    # the training path (module forward + backward through the vjp) too: compare crashed mid-training
    layer = create(spec)
    inputs = torch.tensor([1.0, 2.0], requires_grad=True)
    layer(inputs).sum().backward()
    assert inputs.grad.tolist() == pytest.approx([2e19, 4e19], rel=1e-6)
    huge = from_formula("123456789012345678901234567890*x**3")
    assert math.isclose(huge.derivative(x).tolist()[1], 3 * 1.2345678901234568e29 * 4)


@pytest.mark.parametrize("text,kinks", [
    ("where(x > 0, 1000*x, 1000*x)", ()),
    ("where(x == x, 12*sin(x), 0)", ()),
    ("maximum(x, x)", ()),
    ("maximum(relu(x), 0)", (0.0,)),
    ("where(x > 0, 1000*x, 0)", (0.0,)),
    ("where(x > 1, 1e6*x, 1e6)", ()),  # steep but continuous and the slopes... differ: see below
])
def test_no_false_kinks(text, kinks):
    if text == "where(x > 1, 1e6*x, 1e6)":
        kinks = (1.0,)  # slope 1e6 on the right, 0 on the left: a real kink
    cpu = time.process_time()
    assert from_formula(text).kink_points() == pytest.approx(kinks, abs=1e-9)
    assert time.process_time() - cpu < LIMIT


def test_derivative_size_is_bounded():
    text = "*".join([f"sin(x+{i})" for i in range(20)])
    spec = from_formula(text)
    assert chainrule.tree_size(chainrule.derivative(parse(text)), chainrule.MAX_DERIVATIVE_NODES) > 1000
    x = torch.tensor([0.1], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(spec.forward(x).sum(), x)
    assert torch.allclose(spec.derivative(x.detach()), grad, rtol=1e-7)


@pytest.mark.slow
@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(fuzz_strategies.formulas())
def test_fuzz_formulas_each_within_the_limit(text):
    used, elapsed = _answered(text)
    assert used < LIMIT and elapsed < HANG_LIMIT, (text, used, elapsed)


def test_a_sympy_bug_falls_back_to_the_chain_rule():
    # SymPy raises AttributeError: 'NaN' object has no attribute '_mpf_' on this one (found by the fuzz benchmark)
    spec = from_formula("relu(tanh(sigmoid(log(relu(x)))))")
    assert any(note.startswith("SymPy failed on the formula: AttributeError") for note in spec.notes)
    x = torch.tensor([0.2, 1.0, 3.0], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(spec.forward(x).sum(), x)
    assert torch.allclose(spec.derivative(x.detach()), grad, rtol=1e-9)
    assert spec.kink_points() == (0.0,)


def test_the_overall_budget_shortens_sympys_share():
    # time lost before SymPy starts (parsing, a garbage collection, a descheduled process) comes out of its share
    now = time.monotonic()
    assert budget.symbolic_share(now) == pytest.approx(budget.SYMBOLIC_SECONDS, abs=0.05)
    assert budget.symbolic_share(now - 0.5) == pytest.approx(
        budget.FORMULA_SECONDS - budget.NUMERIC_SECONDS - 0.5, abs=0.05)
    assert budget.symbolic_share(now - 5.0) == budget.MIN_SYMBOLIC_SECONDS
    assert budget.symbolic_share(now, 3.0, total=5.0) == pytest.approx(3.0)


def test_a_scan_past_its_deadline_stops():
    from actlab.formula.scan import ScanDeadline, scan_deadline

    spec = from_formula("maximum(x, 0.5) + abs(x - 1)", name="deadline_probe")
    with scan_deadline(time.monotonic() - 1.0), pytest.raises(ScanDeadline):  # already past
        spec.kinks()
    assert spec.kink_points() == pytest.approx((0.5, 1.0))  # without a deadline (nothing memoised by the failure)
    with pytest.raises(budget.BudgetExceeded, match="kink search"):
        check_formula("maximum(x, 0.25) + abs(x - 2)", seconds=1e-9)
