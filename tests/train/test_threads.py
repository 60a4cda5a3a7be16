"""A sweep's threads come from the load: the cores other jobs leave free, at least one, at most the cores."""
from __future__ import annotations

import torch

from actlab.train import threads


def test_threads_for_load():
    assert threads.threads_for_load(2, 0.4) == 2  # idle: every core
    assert threads.threads_for_load(2, 3.0) == 1  # two other busy jobs on 2 cores: one thread, not two spinning
    assert threads.threads_for_load(16, 5.0) == 12
    assert threads.threads_for_load(4, 40.0) == 1 and threads.threads_for_load(4, None) == 4


def test_the_setting_is_respected_and_restored(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv(threads.ENV, "3")
    with threads.job_threads() as chosen:
        assert chosen == 3 == torch.get_num_threads()
    assert torch.get_num_threads() == before
    monkeypatch.setenv(threads.ENV, "torch")
    assert threads.chosen_threads() is None
    monkeypatch.setenv(threads.ENV, "auto")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the user's explicit choice is kept
    assert threads.chosen_threads() is None
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    assert threads.chosen_threads() == 1
