"""The one compile policy: when actlab uses ``torch.compile``, and what happens when it cannot.

- ``ACTLAB_COMPILE`` = 0 / false / no / off turns compilation off everywhere (read by
  :func:`compile_enabled`, the only place that parses it).
- Size thresholds: formula activations, and the modules of catalog entries without a native op, compile
  for tensors of at least :data:`ELEMENTWISE_MIN_NUMEL` elements (one fused elementwise kernel pays above
  that; :class:`actlab.fused.Fused`);
  the grid engine's fused step sections for hidden tensors of at least
  :data:`GRID_MIN_NUMEL` (compiling costs seconds once per process and shape).
- A failed compilation runs the eager function (same values) and warns once per
  context; a real bug raises from the eager run.
- Per job (``--compile {auto,on,off}``, :func:`decide`): "off" never compiles, "on" compiles wherever the
  size thresholds allow, "auto" compiles only when the job's work — steps × models × hidden-tensor elements
  (batch × width) — reaches the threshold for the machine's state when the job starts: :data:`JOB_MIN_WORK`
  on a contended machine (1-minute load average ≥ the usable cores + 1), :data:`JOB_MIN_WORK_IDLE` on an idle one.
  Both thresholds sit at the crossovers that ``benchmarks/bench_compile_crossover.py`` measures (the tables are on
  the docs site's benchmarks page): with 2 threads on a contended machine every eager op waits for the other
  thread, so compiling pays about 40× earlier than on an idle one.

  Compiled and eager steps agree to float rounding, not bit for bit, so a rerun that decides otherwise moves
  the last digits; ``--compile on`` / ``off`` pins the decision (it is recorded as ``compile_used``).
  A small job (a digits comparison, work ≤ 3e7) runs eager either way, a medium MNIST-1D job (2.8e8) compiles
  only on a contended machine, ``make demo`` (3.5e9) compiles either way.
- Each compiled function gets a code object of its own (:func:`own_code`): torch
  keeps compiled code per code object and recompiles one at most 8 times, so
  sharing code would silently turn later uses eager.
"""
from __future__ import annotations

import contextlib
import logging
import os
import types
import warnings
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["compile_enabled", "compile_errors", "own_code", "warn_once", "FORMULA_MIN_NUMEL", "ELEMENTWISE_MIN_NUMEL",
           "GRID_MIN_NUMEL", "compiling", "JOB_MIN_WORK_IDLE", "machine_contended", "job_threshold",
           "COMPILE_MODES", "DEVICES", "JOB_MIN_WORK", "decide", "job_work", "set_job_compile", "job_compiles",
           "resolve_device", "use_persistent_cache", "add_compile_seconds", "compile_seconds"]

ELEMENTWISE_MIN_NUMEL = 1 << 16
FORMULA_MIN_NUMEL = ELEMENTWISE_MIN_NUMEL  # the same threshold, by the name the formula code uses
GRID_MIN_NUMEL = 1 << 18
_OFF = ("0", "false", "no", "off")
COMPILE_MODES = ("auto", "on", "off")
DEVICES = ("auto", "cpu", "cuda", "mps")
# steps × models × hidden elements from which compiling a job pays (benchmarks/bench_compile_crossover.py):
# on a contended machine the crossover is ≈ 6.5e7, on an idle one ≈ 2.8e9
JOB_MIN_WORK = 1e8
JOB_MIN_WORK_IDLE = 3e9
_JOB = {"compile": True}  # the running job's decision (set by the sweep before it trains)
_WARNED: set[str] = set()
_SECONDS = [0.0]  # seconds spent compiling in this process (the grid's fused sections report here)
log = logging.getLogger("actlab.compile")


def compile_enabled() -> bool:
    """False when ``ACTLAB_COMPILE`` is 0/false/no/off (any case)."""
    return os.environ.get("ACTLAB_COMPILE", "1").strip().lower() not in _OFF


def compile_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "the compiler could not", as opposed to a bug in the function."""
    errors: list[type[BaseException]] = [OSError, ImportError, NotImplementedError]
    try:
        from torch._dynamo.exc import TorchDynamoException

        errors.append(TorchDynamoException)
    except ImportError:  # pragma: no cover
        pass
    try:
        from torch._inductor.exc import InductorError

        errors.append(InductorError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


def warn_once(context: str, error: BaseException, consequence: str) -> None:
    """One RuntimeWarning per context (``"formula"``, ``"grid"``) naming the error and what runs instead."""
    if context not in _WARNED:
        _WARNED.add(context)
        first = str(error).splitlines()[0] if str(error) else ""
        warnings.warn(f"actlab: torch.compile failed ({type(error).__name__}: {first}); {consequence}. "
                      "Set ACTLAB_COMPILE=0 to silence this.", RuntimeWarning, stacklevel=3)
    log.debug("%s compilation failed", context, exc_info=error)


def own_code(fn: Callable[..., Any], label: str | None = None) -> Callable[..., Any]:
    """``fn`` (a function or a bound method) with a code object of its own, optionally renamed."""
    func = getattr(fn, "__func__", fn)
    code = func.__code__.replace(co_name=label) if label else func.__code__.replace()
    clone = types.FunctionType(code, func.__globals__, label or func.__name__, func.__defaults__, func.__closure__)
    clone.__kwdefaults__ = func.__kwdefaults__
    clone.__qualname__ = label or func.__qualname__
    clone.__dict__.update(func.__dict__)
    bound_to = getattr(fn, "__self__", None)
    return types.MethodType(clone, bound_to) if bound_to is not None and hasattr(fn, "__func__") else clone


def job_work(steps: int, models: int, hidden_numel: int) -> float:
    """The size of a training job as the compile policy measures it."""
    return float(steps) * float(models) * float(hidden_numel)


def machine_contended() -> bool:
    """Whether other work keeps the cores this process may use busy: the 1-minute load average reaches the
    cores + 1 (the job itself — its imports and data loading just before the decision — counts for about one;
    measured: idle 0.5–1.8, contended 3.5–12 on 2 cores).  The load average is the host's: in a container
    limited to fewer cores than the host has, a busy host counts as contended."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover — not Linux
        cores = os.cpu_count() or 1
    try:
        return os.getloadavg()[0] >= cores + 1
    except OSError:  # pragma: no cover — no load average: assume the worst (compiling is the safer bet)
        return True


def job_threshold(contended: bool | None = None) -> float:
    """The work from which "auto" compiles: :data:`JOB_MIN_WORK` on a contended machine, else
    :data:`JOB_MIN_WORK_IDLE` (``contended`` None: :func:`machine_contended` now)."""
    if contended is None:
        contended = machine_contended()
    return JOB_MIN_WORK if contended else JOB_MIN_WORK_IDLE


def decide(mode: str, work: float, contended: bool | None = None) -> bool:
    """Whether a job of ``work`` (:func:`job_work`) compiles under ``mode`` ("auto", "on", "off").

    "auto" compares ``work`` with :func:`job_threshold` (``contended`` None: the machine's state now).
    ``ACTLAB_COMPILE=0`` still turns compilation off everywhere.
    """
    if mode not in COMPILE_MODES:
        from actlab.errors import ActlabError

        raise ActlabError(f"unknown compile mode {mode!r}; choose one of {', '.join(COMPILE_MODES)}")
    if mode == "off" or not compile_enabled():
        return False
    return mode == "on" or work >= job_threshold(contended)


def set_job_compile(enabled: bool) -> None:
    """Record the running job's decision (the grid engine reads it through :func:`job_compiles`); a compiling
    job keeps inductor's on-disk cache in actlab's user cache folder (:func:`use_persistent_cache`)."""
    _JOB["compile"] = bool(enabled)
    if enabled:
        use_persistent_cache()


def use_persistent_cache() -> str:
    """Point inductor's on-disk cache (compiled kernels and FX graphs) at ``$ACTLAB_CACHE_DIR/inductor`` or
    the user cache folder, unless ``TORCHINDUCTOR_CACHE_DIR`` is set: a second process running the same job
    reuses the compiled code instead of paying again (the default, /tmp/torchinductor_USER, is per-boot)."""
    if "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
        import platformdirs

        base = os.environ.get("ACTLAB_CACHE_DIR") or platformdirs.user_cache_dir("actlab")
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(base, "inductor")
    os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
    return os.environ["TORCHINDUCTOR_CACHE_DIR"]


def add_compile_seconds(seconds: float) -> None:
    """Count ``seconds`` spent in torch.compile (first call of a compiled function, or a recompile)."""
    _SECONDS[0] += float(seconds)


def compile_seconds() -> float:
    """Seconds this process spent compiling so far (``compare --json`` prints the job's share)."""
    return _SECONDS[0]


def job_compiles() -> bool:
    return _JOB["compile"] and compile_enabled()


@contextlib.contextmanager
def compiling(enabled: bool) -> Iterator[None]:
    """The running job's decision set to ``enabled`` inside the block, put back after (e.g. no compilation
    while the property table times a module: compiling would cost seconds per entry)."""
    before = _JOB["compile"]
    _JOB["compile"] = bool(enabled)
    try:
        yield
    finally:
        _JOB["compile"] = before


def resolve_device(device: str) -> str:
    """"auto" → cuda, else mps, else cpu; an explicit device that is not available raises ActlabError."""
    from actlab.errors import ActlabError

    if device not in DEVICES:
        raise ActlabError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    import torch

    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if device == "auto":
        return "cuda" if cuda else ("mps" if mps else "cpu")
    if (device == "cuda" and not cuda) or (device == "mps" and not mps):
        raise ActlabError(f"--device {device}: no {device} device is available here (use cpu or auto)")
    return device
