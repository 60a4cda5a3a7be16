"""The Ray engine (``--engine ray``): the local engine's numbers, a killed worker retried once, resume across
engines, and the install message without Ray.  One local Ray instance (2 CPUs) serves the whole module."""
from __future__ import annotations

import collections
import os
import subprocess
import sys
import textwrap

import pytest

import actlab.sweep as sweep
from actlab.store import Store
from actlab.sweep.ray_engine import CRASH_ONCE_ENV, INSTALL, POISONED_EXIT, worker_setup

# a grid cell (relu, tanh, a saved formula) and two sequential cells (prelu's slope is learnt)
BASE = dict(dataset="moons", subset=300, acts=["relu", "tanh", "ramp15", "prelu"], seeds=2, epochs=4, batch_size=32,
            width=16, precision="fp32", dropout=0.2)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]  # one process shares the Ray instance


def test_without_ray_engine_ray_exits_2_with_the_install_command(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.modules["ray"] = None  # import ray → ImportError, as where the extra is not installed
        from actlab.cli import main
        sys.exit(main(["compare", "--dataset", "moons", "--subset", "100", "--acts", "relu", "--seeds", "1",
                       "--epochs", "1", "--engine", "ray", "--out", {str(tmp_path / "out")!r}, "--quiet"]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert INSTALL in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()  # refused before anything was stored


@pytest.fixture(scope="module")
def ray_instance():
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING",
                 runtime_env={"worker_process_setup_hook": worker_setup})  # as actlab.sweep.ray_engine.ensure_ray
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(autouse=True)
def _same_arithmetic(monkeypatch):
    import torch

    from actlab.formula.build import register_formula
    from actlab.resolve import unregister

    monkeypatch.setenv("ACTLAB_COMPILE", "0")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # what a worker with one CPU per task uses
    # a formula the workers cannot know by name (registered in this process only, never saved)
    register_formula("ramp15", "maximum(x, 0) * a", {"a": 1.5})
    yield
    unregister("ramp15")
    torch.set_num_threads(threads)


def _snapshot(out):
    with Store(out, create=False) as store:
        epochs = [(e.run_id, e.epoch, e.step, e.train_loss, e.val_loss, e.val_accuracy) for e in store.epochs()]
        runs = [(r.run_id, r.status, r.best_epoch, r.test_loss, r.test_accuracy, r.val_loss) for r in store.runs()]
    return epochs, runs


@pytest.fixture(scope="module")
def local_result(tmp_path_factory):
    import torch

    from actlab.formula.build import register_formula
    from actlab.resolve import unregister

    out = tmp_path_factory.mktemp("local")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    register_formula("ramp15", "maximum(x, 0) * a", {"a": 1.5})
    os.environ["ACTLAB_COMPILE"] = "0"
    try:
        outcome = sweep.compare(BASE, out=out, report=False)
    finally:
        del os.environ["ACTLAB_COMPILE"]
        unregister("ramp15")
        torch.set_num_threads(threads)
    assert outcome.finished == outcome.total == 8
    return _snapshot(out)


def _once_each(events):
    keys = collections.Counter((type(e).__name__, e.run_id, getattr(e, "epoch", None)) for e in events)
    return [key for key, count in keys.items() if count > 1]


def test_ray_gives_the_local_engines_numbers(tmp_path, ray_instance, local_result):
    events = []
    outcome = sweep.compare(BASE, out=tmp_path, report=False, engine="ray", on_event=events.append)
    assert not outcome.interrupted and outcome.trained == 8
    assert _snapshot(tmp_path) == local_result  # bit-identical: the same trainer code, one thread
    assert _once_each(events) == []
    with Store(tmp_path, create=False) as store:
        config = store.sweep()["config"]
    assert config["engine"] == "ray" and config["device_used"] == "cpu"
    assert len(list((tmp_path / "checkpoints").glob("*.pt"))) == 3  # written by the driver: a grid, two prelu runs


def test_a_worker_killed_mid_task_is_retried_and_each_run_finishes_once(tmp_path, ray_instance, local_result,
                                                                        monkeypatch):
    marker = tmp_path / "killed"
    monkeypatch.setenv(CRASH_ONCE_ENV, str(marker))  # the first task to reach epoch 2 dies (os._exit) once
    events = []
    outcome = sweep.compare(BASE, out=tmp_path / "out", report=False, engine="ray", on_event=events.append)
    assert marker.is_file()  # a worker was killed ...
    assert not outcome.interrupted and outcome.finished == outcome.trained == 8  # ... and Ray retried its task
    assert _once_each(events) == []
    assert sum(type(e).__name__ == "RunEnd" for e in events) == 8
    assert _snapshot(tmp_path / "out") == local_result


def test_resume_across_engines(tmp_path, ray_instance, local_result):
    events = []
    first = sweep.compare(BASE, out=tmp_path / "a", report=False, engine="ray", on_event=events.append,
                          should_stop=lambda: len(events) >= 10)
    assert first.interrupted and 0 < first.epochs_stored < first.epochs_planned
    rest = sweep.compare({}, out=tmp_path / "a", report=False, resume=True, engine="grid")
    assert not rest.interrupted and rest.skipped + rest.trained <= 8
    assert _snapshot(tmp_path / "a") == local_result

    steps = {"n": 0}

    def after_nine_steps():
        steps["n"] += 1
        return steps["n"] > 9

    first = sweep.compare(BASE, out=tmp_path / "b", report=False, should_stop=after_nine_steps)
    assert first.interrupted
    rest = sweep.compare({}, out=tmp_path / "b", report=False, resume=True, engine="ray")
    assert not rest.interrupted and rest.finished == 8
    assert _snapshot(tmp_path / "b") == local_result


def test_grid_size_spreads_a_grid_over_tasks_with_the_local_numbers(tmp_path, ray_instance):
    options = dict(BASE, acts=["relu", "tanh", "elu"], epochs=2, grid_size=2)  # 6 runs → grids of 2, 2, 2
    local = sweep.compare(options, out=tmp_path / "local", report=False)
    spread = sweep.compare(options, out=tmp_path / "ray", report=False, engine="ray")
    assert local.trained == spread.trained == 6
    assert len(list((tmp_path / "ray" / "checkpoints").glob("grid-*.pt"))) == 3
    assert _snapshot(tmp_path / "ray") == _snapshot(tmp_path / "local")


def test_engine_local_is_the_grid_engine_and_ray_rows_stay_out_of_the_fingerprint(tmp_path):
    from actlab.sweep.plan import plan_from_options

    small = dict(dataset="moons", subset=100, acts=["relu"], seeds=1, epochs=1, out=str(tmp_path))
    local = plan_from_options(dict(small, engine="local"))
    ray = plan_from_options(dict(small, engine="ray", address="auto", cpus_per_task=2, grid_size=3))
    assert local.config["engine"] == "grid" and local.fingerprint == ray.fingerprint


def test_a_worker_whose_imports_were_interrupted_exits_for_ray_to_replace_it():
    # what a KeyboardInterrupt inside ``import torch._dynamo`` leaves behind: a module that fails on every import
    script = textwrap.dedent("""
        import builtins
        real = builtins.__import__
        def broken(name, *args, **kwargs):
            if name == "torch._dynamo":
                raise AttributeError("partially initialized module 'torch._dynamo' has no attribute 'decorators'")
            return real(name, *args, **kwargs)
        builtins.__import__ = broken
        from actlab.sweep.ray_engine import _import_heavy_modules
        _import_heavy_modules()
        print("not reached")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == POISONED_EXIT, done.stderr
    assert "not reached" not in done.stdout
    assert "retries the task on a fresh worker" in done.stderr and "decorators" in done.stderr
