"""A hard time budget for formulas: SymPy runs in a worker process with a deadline.

SymPy has no time limit of its own: automatic evaluation while an expression is
built, ``diff`` on nested functions, ``simplify`` and high-precision evaluation
of huge constants can each run for minutes.  So the symbolic stage runs in a
separate process (forked once, reused) and the caller waits at most until its
deadline; a worker that is late is killed (SIGKILL, so nothing can hang the
caller) and a fresh one is forked for the next formula.  The worker also runs
under an address-space limit (:data:`WORKER_MEMORY_BYTES` above its size at the
fork), so a memory bomb ends in an error, not in swapping.

The worker sends results in stages (:func:`run_stages`): the caller keeps every
stage that arrived in time, so a slow ``simplify`` costs only the simplified
display, never the exact derivative.

:func:`actlab.formula.build.check_formula` is the entry point for code that accepts formulas from
strangers (the web playground): text → an :class:`~actlab.spec.ActivationSpec`
or a :class:`~actlab.formula.parse.FormulaError` with a clear message, within a
given number of seconds.

Where ``fork`` is not available (Windows) or ``ACTLAB_FORMULA_WORKER=0``, the
stages run in this process: then only the size limits bound them.
"""
from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.util  # noqa: F401 - its exit handler must be registered before ours
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from actlab.formula.parse import FormulaError

__all__ = [
    "FORMULA_SECONDS",
    "NUMERIC_SECONDS",
    "MIN_SYMBOLIC_SECONDS",
    "symbolic_share",
    "SIMPLIFY_SECONDS",
    "SYMBOLIC_SECONDS",
    "WORKER_MEMORY_BYTES",
    "BudgetExceeded",
    "SymbolicFailure",

    "run_stages",
    "worker_enabled",
]

FORMULA_SECONDS = 1.0  # a formula is accepted or refused within this (the whole from_formula)
SYMBOLIC_SECONDS = 0.45  # of which SymPy (to_sympy, diff, printing, bounded simplify) may take this
NUMERIC_SECONDS = 0.3  # ... and this is kept for the rest (chain rule, torch functions, domain and kink scans):
# SymPy's deadline is min(SYMBOLIC_SECONDS, what is left of FORMULA_SECONDS - NUMERIC_SECONDS), so time lost
# before it (parsing, a garbage collection, a descheduled process) shortens SymPy's share, not the total
MIN_SYMBOLIC_SECONDS = 0.05  # SymPy always gets at least this (below it, the chain rule answers)
SIMPLIFY_SECONDS = 0.25  # ... and simplify (display only) at most this after the exact derivative arrived
WORKER_MEMORY_BYTES = 1 << 30  # address space the worker may add after the fork


class BudgetExceeded(FormulaError):
    """The formula did not finish within its time (or memory) budget."""


class SymbolicFailure(FormulaError):
    """SymPy itself failed on the formula (its own exception, named in the message); callers may fall back."""


def symbolic_share(started: float, seconds: float = SYMBOLIC_SECONDS, total: float = FORMULA_SECONDS) -> float:
    """SymPy's deadline for a formula whose work began at ``started`` (``time.monotonic()``): at most
    ``seconds``, and no more than what is left of ``total`` after keeping :data:`NUMERIC_SECONDS` for the rest."""
    left = total - NUMERIC_SECONDS - (time.monotonic() - started)
    return max(MIN_SYMBOLIC_SECONDS, min(seconds, left))


def worker_enabled() -> bool:
    """False where fork is unavailable or ``ACTLAB_FORMULA_WORKER`` is 0/false/no/off."""
    if os.environ.get("ACTLAB_FORMULA_WORKER", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if multiprocessing.current_process().daemon:  # a daemonic process (a DataLoader worker) may not fork children
        return False
    return "fork" in multiprocessing.get_all_start_methods()


# ------------------------------------------------------------------ worker
def _limit_memory() -> None:
    try:
        import resource

        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = current + WORKER_MEMORY_BYTES
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError):  # not Linux: no limit beyond the deadline
        pass


WATCHDOG_SECONDS = 0.5  # how often the worker checks that its parent is alive


def _die_with_parent(parent: int, inherited, death_signal: bool) -> None:  # pragma: no cover - in the worker
    """Make this forked worker end when the process that forked it ends, however that ends (SIGKILL included).

    Three guards: the parent's end of the pipe, inherited by the fork, is closed (so once the parent is gone, a
    read sees end-of-file instead of waiting on an end this process itself holds open); on Linux the kernel sends
    SIGKILL when the parent dies (``PR_SET_PDEATHSIG``, only for a fork from the main thread: the signal follows
    the forking *thread*); and a daemon thread polls ``os.getppid()`` and exits when this process has been
    re-parented.  The signal handlers the parent installed (a web server's SIGTERM/SIGINT handlers) are reset:
    SIGTERM ends the worker, Ctrl-C in the terminal is for the parent, whose exit then ends the worker.
    """
    import signal

    inherited.close()
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if death_signal and os.uname().sysname == "Linux":
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the guards were set
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(WATCHDOG_SECONDS)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="actlab-formula-watchdog", daemon=True).start()


def _serve(connection, parent: int = 0, inherited=None, death_signal: bool = False) -> None:  # pragma: no cover
    if inherited is not None:
        _die_with_parent(parent, inherited, death_signal)
    _limit_memory()
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        function, args = request
        try:
            for stage in function(*args):
                connection.send(("stage", stage))
            connection.send(("done", None))
        except FormulaError as error:
            connection.send(("formula_error", str(error)))
        except MemoryError:
            connection.send(("memory", "out of memory"))
        except RecursionError:
            connection.send(("error", "nested too deeply (recursion limit)"))
        except Exception as error:  # noqa: BLE001 - SymPy's own failure, named to the caller (never swallowed)
            connection.send(("error", f"{type(error).__name__}: {error}"))


class _Worker:
    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        self.connection, child = context.Pipe()
        main = threading.current_thread() is threading.main_thread()
        self.process = context.Process(target=_serve, args=(child, os.getpid(), self.connection, main), daemon=True,
                                       name="actlab-formula-worker")
        self.process.start()
        child.close()
        self.pid = os.getpid()

    def kill(self) -> None:
        """SIGKILL, without waiting long for it to die: on a loaded machine the kernel may take a while to
        schedule the exit, and that wait would count against the caller's budget. A worker not yet reaped is
        reaped by multiprocessing at the next fork (or by :func:`_discard`'s next call)."""
        try:
            self.process.kill()
            self.process.join(0.02)
        finally:
            self.connection.close()


_LOCK = threading.Lock()
_WORKER: _Worker | None = None


def _worker() -> _Worker:
    global _WORKER
    if _WORKER is not None and (_WORKER.pid != os.getpid() or not _WORKER.process.is_alive()):
        _WORKER = None  # inherited by a fork of ours, or died
    if _WORKER is None:
        _WORKER = _Worker()
    return _WORKER


def _discard() -> None:
    global _WORKER
    if _WORKER is not None:
        _WORKER.kill()
        _WORKER = None


def _discard_at_exit() -> None:
    """At a normal exit, SIGKILL the worker before multiprocessing's own exit handler (registered earlier, so run
    later: ``multiprocessing.util`` is imported first) sends SIGTERM and waits: a worker forked an instant before the exit may not have reset the SIGTERM
    handler it inherited yet (a server's handler that ignores SIGTERM), and that wait would never end."""
    if _WORKER is not None and _WORKER.pid == os.getpid():
        _discard()


atexit.register(_discard_at_exit)


def run_stages(
    function: Callable[..., Iterator[Any]], args: tuple, seconds: float, grace: float | None = None
) -> tuple[list[Any], bool]:
    """Run the generator ``function(*args)`` for at most ``seconds``: (stages received, finished).

    With ``grace``, the stages after the first get at most ``grace`` seconds
    more (within ``seconds``): for optional refinements such as ``simplify``.

    ``function`` and ``args`` must pickle (a module-level function; plain data).
    A :class:`FormulaError` raised by the generator is raised here again (any
    stages sent before it are dropped); any other exception (SymPy has its own
    bugs on odd input: ``AttributeError: 'NaN' object has no attribute '_mpf_'``
    for ``relu(tanh(sigmoid(log(relu(x)))))``) raises :class:`SymbolicFailure`
    naming it, so the caller can fall back.  A late worker is killed and the stages
    that arrived in time are returned with ``finished=False``; a dead one (out
    of memory) raises :class:`BudgetExceeded`.
    """
    if not worker_enabled():
        return _run_here(function, args)
    stages: list[Any] = []
    with _LOCK:
        deadline = time.monotonic() + seconds
        worker = _worker()
        try:
            worker.connection.send((function, args))
        except (OSError, ValueError):  # a worker that died just now: one more try
            _discard()
            worker = _worker()
            worker.connection.send((function, args))
        idle = False  # True once the worker has answered this request completely
        try:
            while True:
                remaining = deadline - time.monotonic()
                try:
                    ready = remaining > 0 and worker.connection.poll(remaining)
                    message = worker.connection.recv() if ready else None
                except (EOFError, OSError):
                    raise BudgetExceeded(
                        "the symbolic worker stopped (it ran out of its "
                        f"{WORKER_MEMORY_BYTES >> 20} MiB memory budget or was killed)"
                    ) from None
                if message is None:
                    return stages, False  # late: killed below; the next formula gets a fresh worker
                kind, payload = message
                if kind == "stage":
                    stages.append(payload)
                    if grace is not None and len(stages) == 1:
                        deadline = min(deadline, time.monotonic() + grace)
                    continue
                idle = kind != "memory"
                if kind == "done":
                    return stages, True
                if kind == "formula_error":
                    raise FormulaError(payload)
                if kind == "memory":
                    raise BudgetExceeded(
                        f"the formula needs more than the {WORKER_MEMORY_BYTES >> 20} MiB memory budget of the "
                        "symbolic stage"
                    )
                raise SymbolicFailure(f"SymPy failed on the formula: {payload}")
        finally:
            if not idle:  # late, dead, out of memory, or we were interrupted (Ctrl-C): never reuse it
                _discard()


def _run_here(function: Callable[..., Iterator[Any]], args: tuple) -> tuple[list[Any], bool]:
    try:
        return list(function(*args)), True
    except FormulaError:
        raise
    except RecursionError:
        raise SymbolicFailure("SymPy failed on the formula: nested too deeply (recursion limit)") from None
    except Exception as error:  # noqa: BLE001 - SymPy's own failure, named to the caller (never swallowed)
        raise SymbolicFailure(f"SymPy failed on the formula: {type(error).__name__}: {error}") from None
