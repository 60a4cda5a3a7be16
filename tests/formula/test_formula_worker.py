"""The forked SymPy worker (actlab.formula.budget) ends with the process that forked it, checked with real processes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from actlab.formula import budget

pytestmark = pytest.mark.skipif(not budget.worker_enabled() or sys.platform != "linux",
                                reason="the worker process exists where fork does (Linux here)")

SRC = str(Path(__file__).resolve().parents[2] / "src")


# a child's SIGINT is Python's KeyboardInterrupt even where the test process ignores or blocks SIGINT (both are
# inherited through exec, and Python keeps an ignored SIGINT ignored)
RESET_SIGINT = ("import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
                "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})")


def _env() -> dict:
    env = {key: value for key, value in os.environ.items() if key != "ACTLAB_FORMULA_WORKER"}
    return {**env, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}


def _state(pid: int) -> str:
    """What a process that did not end is doing (for a failing assertion's message)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            lines = [line.strip() for line in status if line.startswith(("State", "SigBlk", "SigIgn", "SigCgt"))]
        with open(f"/proc/{pid}/wchan") as wchan:
            lines.append(f"wchan {wchan.read()}")
        return "; ".join(lines)
    except OSError as error:
        return str(error)


def _wait(process: subprocess.Popen, seconds: float) -> None:
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the process did not exit within {seconds} s: {_state(process.pid)}") from None


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


def _start(body: str) -> tuple[subprocess.Popen, int]:
    """A Python process that runs ``body`` (which builds a formula), prints its worker's pid, then sleeps."""
    script = textwrap.dedent(f"""
        {RESET_SIGINT}
        import os, signal, sys, time, threading
        from actlab.formula import budget, from_formula

        def probe():
            yield 1
            yield 2
        """) + textwrap.dedent(body) + textwrap.dedent("""
        print(budget._worker().process.pid, flush=True)
        time.sleep(float(os.environ.get("HOLD", "120")))
        """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=_env(), text=True)
    line = process.stdout.readline()
    assert line.strip().isdigit(), f"no worker pid printed (got {line!r})"
    return process, int(line)


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return not _alive(pid)


def _cleanup(pid: int) -> None:
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def test_worker_dies_when_its_parent_is_sigkilled():
    process, worker = _start('from_formula("x*tanh(x)")')
    try:
        assert _alive(worker)
        process.kill()
        process.wait(10)
        assert _gone_within(worker, 5), "the formula worker outlived its SIGKILLed parent"
    finally:
        _cleanup(worker)


@pytest.mark.slow
def test_worker_dies_when_a_parent_with_its_own_sigterm_handler_exits():
    # a web server installs SIGTERM/SIGINT handlers that only set a flag; the fork inherited them, so
    # multiprocessing's exit-time SIGTERM did not end the worker and the parent's exit waited on it for ever
    process, worker = _start('''
        signal.signal(signal.SIGTERM, lambda *args: None)
        signal.signal(signal.SIGINT, lambda *args: None)
        from_formula("x*sigmoid(x)")
        ''')
    try:
        process.send_signal(signal.SIGUSR1)  # default action: the parent ends (its exit handlers do not run)
        process.wait(10)
        assert _gone_within(worker, 5)
    finally:
        _cleanup(worker)


@pytest.mark.slow
def test_parent_exits_normally_and_takes_its_worker_along():
    process, worker = _start('''
        signal.signal(signal.SIGTERM, lambda *args: None)
        from_formula("x*erf(x)")
        ''')
    try:
        os.kill(process.pid, signal.SIGINT)  # KeyboardInterrupt in the sleep: a normal Python exit
        _wait(process, 30)
        assert _gone_within(worker, 5)
    finally:
        _cleanup(worker)


@pytest.mark.slow
def test_a_worker_forked_an_instant_before_a_normal_exit_does_not_hold_the_exit():
    # the exit comes before the new worker has reset the SIGTERM handler it inherited (one that ignores SIGTERM):
    # multiprocessing's own exit handler would send SIGTERM and wait for ever; the worker is SIGKILLed first
    script = textwrap.dedent(f"""
        {RESET_SIGINT}
        import signal, time
        from actlab.formula import budget
        signal.signal(signal.SIGTERM, lambda *args: None)
        print(budget._worker().process.pid, flush=True)
        time.sleep(120)
        """)
    for _ in range(3):
        process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   env=_env(), text=True)
        worker = int(process.stdout.readline())
        try:
            os.kill(process.pid, signal.SIGINT)  # KeyboardInterrupt: a normal exit, right after the fork
            _wait(process, 30)
            assert _gone_within(worker, 5)
        finally:
            process.kill()
            _cleanup(worker)


@pytest.mark.slow
def test_a_worker_forked_from_a_thread_survives_the_thread():
    # the kernel's parent-death signal follows the forking thread: a worker forked by a short-lived thread (a web
    # server's thread pool) must keep serving the process
    process, worker = _start('''
        thread = threading.Thread(target=budget._worker)
        thread.start(); thread.join()
        forked = budget._WORKER.process
        time.sleep(1.0)
        assert forked.is_alive(), "the worker died with the thread that forked it"
        stages, finished = budget.run_stages(probe, (), 30.0)
        assert stages == [1, 2] and finished and budget._WORKER.process is forked
        ''')
    try:
        assert _alive(worker)
        process.kill()
        process.wait(10)
        assert _gone_within(worker, 5)
    finally:
        _cleanup(worker)
