"""--device and --compile: the compile policy's decision per job size, the device recorded in the store,
and the CUDA path (skipped without a GPU)."""
from __future__ import annotations

import math

import pytest
import torch

from actlab.compile_policy import JOB_MIN_WORK, JOB_MIN_WORK_IDLE, decide, job_threshold, job_work, resolve_device
from actlab.errors import ActlabError
from actlab.store import Store
from actlab.sweep.plan import plan_from_options
from actlab.sweep.run import run_sweep


def _work(train_examples: int, epochs: int, models: int, batch: int = 128, width: int = 128) -> float:
    return job_work(epochs * math.ceil(train_examples / batch), models, batch * width)


@pytest.mark.parametrize("contended", [True, False])
def test_policy_off_for_the_small_job_on_for_the_default_job(monkeypatch, contended):
    monkeypatch.delenv("ACTLAB_COMPILE", raising=False)
    small = _work(1797, epochs=10, models=4 * 3)  # digits (all of it, an upper bound), 4 acts × 3 seeds × 10 epochs
    medium = _work(3500, epochs=20, models=9 * 3)  # mnist1d (3 500 training sequences), 9 acts × 3 seeds × 20
    default = _work(50_000, epochs=20, models=9 * 3)  # make demo: MNIST, 9 acts × 3 seeds × 20 epochs
    assert small < JOB_MIN_WORK <= medium < JOB_MIN_WORK_IDLE <= default
    assert decide("auto", small, contended) is False and decide("auto", default, contended) is True
    assert decide("auto", medium, contended) is contended  # pays only where eager ops wait for a core
    assert decide("on", small, contended) is True and decide("off", default, contended) is False
    monkeypatch.setenv("ACTLAB_COMPILE", "0")
    assert decide("on", default, contended) is False
    with pytest.raises(ActlabError, match="compile mode"):
        decide("sometimes", 1.0)


def test_contention_is_read_from_the_load_average(monkeypatch):
    import os

    cores = len(os.sched_getaffinity(0))
    monkeypatch.setattr(os, "getloadavg", lambda: (cores + 1.5, 0.0, 0.0))
    assert job_threshold() == JOB_MIN_WORK
    monkeypatch.setattr(os, "getloadavg", lambda: (cores + 0.5, 0.0, 0.0))  # the job itself counts for about one
    assert job_threshold() == JOB_MIN_WORK_IDLE


def test_a_small_job_records_its_eager_decision(tmp_path, monkeypatch):
    monkeypatch.delenv("ACTLAB_COMPILE", raising=False)
    plan = plan_from_options({"dataset": "moons", "subset": 300, "width": 8, "epochs": 1, "seeds": 1,
                              "acts": ["relu"], "out": str(tmp_path / "r")})
    outcome = run_sweep(plan, handle_sigint=False)
    assert outcome.finished == 1
    with Store(tmp_path / "r", create=False) as store:
        config = store.sweep()["config"]
    assert config["device"] == "auto" and config["device_used"] == resolve_device("auto")
    assert config["compile"] == "auto" and config["compile_used"] is False


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_device_recorded_in_the_store(tmp_path, device):
    plan = plan_from_options({"dataset": "moons", "subset": 200, "width": 4, "epochs": 1, "seeds": 1,
                              "acts": ["tanh"], "device": device, "compile": "off", "out": str(tmp_path / device)})
    run_sweep(plan, handle_sigint=False)
    with Store(tmp_path / device, create=False) as store:
        config = store.sweep()["config"]
    assert config["device"] == device
    assert config["device_used"] == resolve_device(device)
    assert config["compile_used"] is False


def test_unavailable_device_is_a_clear_error():
    with pytest.raises(ActlabError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ActlabError, match="no cuda device"):
            resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine (CI has none either)")
def test_compare_on_cuda(tmp_path):
    plan = plan_from_options({"dataset": "moons", "subset": 300, "width": 8, "epochs": 1, "seeds": 2,
                              "acts": ["relu", "gelu"], "device": "cuda", "out": str(tmp_path / "cuda")})
    outcome = run_sweep(plan, handle_sigint=False)
    assert outcome.finished == 4
    with Store(tmp_path / "cuda", create=False) as store:
        assert store.sweep()["config"]["device_used"] == "cuda"


def test_progress_display_announces_compiling():
    from types import SimpleNamespace

    from rich.console import Console

    from actlab.cli.compare import _Display

    plan = SimpleNamespace(labels={"a": "relu"}, config={"epochs": 2, "compile_used": True},
                           dataset=SimpleNamespace(task="classification"))
    display = _Display(plan, set())
    console = Console(record=True, width=100)
    console.print(display)
    assert "compiling…" in console.export_text()
    plan.config["compile_used"] = False
    console.print(display)
    assert "epoch 0/2" in console.export_text()


def test_compiling_job_uses_the_persistent_inductor_cache(monkeypatch, tmp_path):
    from actlab import compile_policy

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", "placeholder")  # recorded, so teardown restores the original
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR")
    monkeypatch.setenv("ACTLAB_CACHE_DIR", str(tmp_path))
    compile_policy.set_job_compile(True)
    import os

    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "inductor")
    compile_policy.set_job_compile(True)
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", "/elsewhere")  # the user's own setting wins
    assert compile_policy.use_persistent_cache() == "/elsewhere"


def test_job_decision_does_not_outlive_the_sweep(tmp_path):
    from actlab import compile_policy

    plan = plan_from_options({"dataset": "moons", "subset": 200, "width": 4, "epochs": 1, "seeds": 1,
                              "acts": ["tanh"], "compile": "off", "out": str(tmp_path / "o")})
    run_sweep(plan, handle_sigint=False)
    assert compile_policy._JOB["compile"] is True


def test_report_names_the_device_and_the_compile_decision(tmp_path):
    from actlab.report import write_report

    out = tmp_path / "rep"
    plan = plan_from_options({"dataset": "moons", "subset": 200, "width": 4, "epochs": 1, "seeds": 1,
                              "acts": ["tanh"], "device": "cpu", "compile": "off", "out": str(out)})
    run_sweep(plan, handle_sigint=False)
    paths = write_report(out)
    for kind in ("html", "markdown"):
        text = open(paths[kind], encoding="utf-8").read()
        assert "on cpu, eager (--compile off)" in text, kind


def test_compare_json_reports_compile_seconds(tmp_path, capsys):
    import json

    from actlab.cli import main

    code = main(["compare", "--dataset", "moons", "--subset", "200", "--width", "4", "--epochs", "1", "--seeds", "1",
                 "--acts", "tanh", "--compile", "off", "--json", "--out", str(tmp_path / "j")])
    assert code in (0, 3, None)  # 3: one tiny epoch may learn nothing (the summary still says so)
    summary = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    assert summary["compiled"] is False and summary["compile_seconds"] == 0
    assert summary["device"] == "cpu" and summary["wall_seconds"] > 0


def test_compile_seconds_accumulate():
    from actlab import compile_policy

    before = compile_policy.compile_seconds()
    compile_policy.add_compile_seconds(1.5)
    assert compile_policy.compile_seconds() == pytest.approx(before + 1.5)
    compile_policy._SECONDS[0] = before


@pytest.mark.parametrize("key, value, message", [("compile", "sometimes", "unknown compile 'sometimes'"),
                                                 ("compile", "of", "did you mean off"),
                                                 ("device", "cdua", "did you mean cuda")])
def test_bad_compile_or_device_is_refused_when_planning(tmp_path, key, value, message):
    """Refused with the plan (nothing trained, no output folder, no progress display started)."""
    with pytest.raises(ActlabError, match=message):
        plan_from_options({"dataset": "moons", "acts": ["relu"], key: value, "out": str(tmp_path / "r")})
    assert not (tmp_path / "r").exists()
