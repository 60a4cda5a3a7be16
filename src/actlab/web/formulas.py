"""Formulas typed in the browser: checked in a worker process under a hard deadline.

:class:`FormulaChecker` keeps one warm worker process (``spawn``: no state
shared with the server).  Each check sends the formula text to it and waits at
most ``deadline`` seconds; a worker that overruns is killed and replaced, so no
formula can hang the server.  The worker builds the spec with
:func:`actlab.formula.from_formula` and returns f and f′ sampled on a grid, the
derivative formula and the kinks; the server builds the same (cached) spec
itself only after the worker said it is fine.
"""
from __future__ import annotations

import math
import multiprocessing
import threading
from collections import deque
from contextlib import contextmanager
from typing import Any

__all__ = ["FormulaChecker", "FormulaProblem", "FairTurns", "sample_spec", "SAMPLE_RANGE", "SAMPLE_POINTS"]

SAMPLE_RANGE = (-5.0, 5.0)
SAMPLE_POINTS = 161


class FormulaProblem(Exception):
    """A formula the playground refuses; the message names the problem (sent back as 422)."""


def _finite(values: list[float]) -> list[float | None]:
    return [v if math.isfinite(v) else None for v in values]


def sample_spec(spec: Any) -> dict[str, Any]:
    """f and f′ of ``spec`` on :data:`SAMPLE_POINTS` points of :data:`SAMPLE_RANGE` (JSON-ready; inf/NaN → null)."""
    import torch

    x = torch.linspace(*SAMPLE_RANGE, SAMPLE_POINTS, dtype=torch.float64)
    params = spec.resolve()
    with torch.no_grad():
        f = spec.forward(x, **params).tolist()
        df = spec.derivative(x, **params).tolist()
    return {"x": x.tolist(), "f": _finite(f), "df": _finite(df)}


def _check_float32(spec: Any, samples: dict[str, Any]) -> None:
    """Refuse a formula that is finite in float64 but overflows in float32 (the playground trains in float32)."""
    import torch

    x = torch.linspace(*SAMPLE_RANGE, SAMPLE_POINTS, dtype=torch.float32)
    params = spec.resolve()
    problem = None
    try:
        with torch.no_grad():
            f = spec.forward(x, **params)
            df = spec.derivative(x, **params)
        for name, wide, narrow in (("f", samples["f"], f), ("f\u2032", samples["df"], df)):
            finite = torch.isfinite(narrow.to(torch.float32))
            bad = [i for i, v in enumerate(wide) if v is not None and not finite[i]]
            if bad:
                problem = f"{name}({x[bad[0]].item():g}) is finite in float64 but overflows float32"
                break
    except (RuntimeError, OverflowError) as error:  # e.g. a constant beyond float32 in an op that converts it
        problem = str(error)
    if problem is not None:
        raise ValueError(f"the playground trains in float32 and this formula does not fit it: {problem} "
                         "(a constant beyond \u00b13.4e38?)")


def _describe(text: str) -> dict[str, Any]:
    from actlab.formula import from_formula

    spec = from_formula(text)
    samples = sample_spec(spec)
    if all(v is None for v in samples["f"]):
        raise ValueError("the formula is not finite anywhere on [-5, 5]")
    _check_float32(spec, samples)
    kinks = [k for k in spec.kink_points() if math.isfinite(k)][:16]
    return {
        "formula": spec.formula,
        "derivative_formula": spec.derivative_formula,
        "kinks": kinks,
        **samples,
    }


def _worker(connection) -> None:  # runs in the child process
    import torch

    torch.set_num_threads(1)
    import actlab  # noqa: F401  warm the imports before the first job
    from actlab import ActlabError
    from actlab.formula import from_formula  # noqa: F401  (pulls in SymPy now, not at the first job)

    _describe("x*tanh(x) + where(x > 0, x, 0)")  # first-call costs (SymPy caches, torch kernels) before the clock
    connection.send(("ready", None))
    while True:
        try:
            text = connection.recv()
        except EOFError:
            return
        try:
            connection.send(("ok", _describe(text)))
        except (ActlabError, ValueError, ArithmeticError, TypeError) as error:
            connection.send(("error", str(error)))
        except Exception as error:  # report any failure of a user formula as its problem, keep serving
            connection.send(("error", f"{type(error).__name__}: {error}"))


class FairTurns:
    """One holder at a time, handed out round-robin over clients (FIFO within a client).

    A client that queued many requests gets every n-th turn when n clients wait,
    not all turns before the others: a flood from one client delays another by
    at most one of its requests per turn.
    """

    def __init__(self):
        self._condition = threading.Condition()
        self._queues: dict[Any, deque] = {}  # insertion order = whose turn is next
        self._busy = False

    def _next(self) -> object | None:
        for queue in self._queues.values():
            return queue[0]
        return None

    @contextmanager
    def turn(self, client: Any = None):
        ticket = object()
        with self._condition:
            self._queues.setdefault(client, deque()).append(ticket)
            while self._busy or self._next() is not ticket:
                self._condition.wait()
            self._busy = True
            queue = self._queues.pop(client)
            queue.popleft()
            if queue:
                self._queues[client] = queue  # to the back of the line
        try:
            yield
        finally:
            with self._condition:
                self._busy = False
                self._condition.notify_all()


class FormulaChecker:
    """Checks formula text in a separate process, ``deadline`` seconds at most per formula.

    Checks are served one at a time, in :class:`FairTurns` over the ``client``
    each check names.
    """

    def __init__(self, deadline: float = 1.0, max_length: int = 200, start_timeout: float = 60.0):
        self.deadline = deadline
        self.max_length = max_length
        self.start_timeout = start_timeout
        self._lock = threading.Lock()
        self._process = None
        self._connection = None
        self._cache: dict[str, dict[str, Any]] = {}
        self._closed = False
        self._starting = None  # a worker being started (close() kills it without waiting for the lock)
        self._turns = FairTurns()

    def start(self) -> None:
        """Start the worker now (it imports actlab, which takes a moment) instead of at the first check."""
        with self._lock:
            self._ensure()

    def _ensure(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=_worker, args=(child,), daemon=True, name="actlab-formula-worker")
        process.start()
        self._starting = process
        child.close()
        waited = 0.0
        while not parent.poll(0.1):
            waited += 0.1
            if self._closed or waited > self.start_timeout or not process.is_alive():
                process.kill()
                self._starting = None
                raise FormulaProblem("the formula checker did not start" + (" (server shutting down)" if self._closed else ""))
        parent.recv()
        self._starting = None
        self._process, self._connection = process, parent

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(timeout=5)
        if self._connection is not None:
            self._connection.close()
        self._process = self._connection = None

    def close(self) -> None:
        self._closed = True
        starting = self._starting
        if starting is not None:
            starting.kill()
        with self._lock:
            self._kill()

    def cached(self, text: Any) -> dict[str, Any] | None:
        """The description of a formula checked before (None if it was not)."""
        return self._cache.get(text.strip()) if isinstance(text, str) else None

    def check(self, text: Any, client: Any = None) -> dict[str, Any]:
        """The formula's description, or :class:`FormulaProblem` with a message naming what is wrong.

        ``client`` names who asks: checks take turns fairly between clients.
        """
        if not isinstance(text, str):
            raise FormulaProblem(f"a formula is a string, got {type(text).__name__}")
        text = text.strip()
        if not text:
            raise FormulaProblem("the formula is empty")
        if len(text) > self.max_length:
            raise FormulaProblem(f"the formula is {len(text)} characters long; the limit is {self.max_length}")
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        with self._turns.turn(client), self._lock:
            if self._closed:
                raise FormulaProblem("the server is shutting down")
            self._ensure()
            self._connection.send(text)
            if not self._connection.poll(self.deadline):
                self._kill()
                raise FormulaProblem(f"the formula took longer than {self.deadline:g} s to build; try a simpler one")
            try:
                status, payload = self._connection.recv()
            except EOFError:
                self._kill()
                raise FormulaProblem("the formula checker crashed on this formula") from None
        if status != "ok":
            raise FormulaProblem(f"formula {text!r}: {payload}")
        if len(self._cache) > 512:
            self._cache.clear()
        self._cache[text] = payload
        return payload
