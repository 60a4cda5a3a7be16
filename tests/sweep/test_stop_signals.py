"""Ctrl-C / SIGTERM: the first asks for a stop at the next step, the second raises at once; old stores resume."""
from __future__ import annotations

import os
import signal

import pytest

import actlab.sweep as sweep
from actlab.store import Store
from actlab.sweep.plan import legacy_fingerprint
from actlab.sweep.run import _signals_stop, _StopFlag


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_first_signal_sets_the_flag_second_raises(number):
    flag = _StopFlag(None)
    before = signal.getsignal(number)
    with _signals_stop(flag):
        os.kill(os.getpid(), number)
        assert flag()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), number)
    assert signal.getsignal(number) is before


def test_store_from_before_the_epoch_budget_left_the_fingerprint_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTLAB_COMPILE", "0")
    options = dict(dataset="moons", subset=200, acts=["relu"], seeds=1, epochs=2, width=8, precision="fp32")
    sweep.compare(options, out=tmp_path, report=False)
    with Store(tmp_path, create=False) as store:
        config = store.sweep()["config"]
        old = legacy_fingerprint(config, 2)
        with store._write() as conn:
            conn.execute("UPDATE sweep SET fingerprint = ?", (old,))
    outcome = sweep.compare({"epochs": 3}, out=tmp_path, report=False, resume=True)
    assert outcome.finished == 1 and outcome.extended_from == 2
    with Store(tmp_path, create=False) as store:
        assert store.sweep()["fingerprint"] != old and len(store.epochs()) == 3
