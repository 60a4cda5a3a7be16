"""Size bounds: a sweep that cannot fit is refused up front, with the estimate and the limit, writing nothing."""
from __future__ import annotations

import time

import pytest

from actlab.cli import main
from actlab.errors import ActlabError
from actlab.sweep import budget, resolve_config


def _refused(tmp_path, capsys, *args):
    out = tmp_path / "sweep"
    start = time.monotonic()
    code = main(["compare", "--dataset", "moons", "--subset", "200", "--epochs", "1", "--out", str(out), *args])
    elapsed = time.monotonic() - start
    err = capsys.readouterr().err
    assert code == 2, err
    assert not (out / "results.sqlite").exists(), "nothing may be written for a refused sweep"
    assert elapsed < 30
    return " ".join(err.split())


def test_a_huge_depth_is_refused_before_allocating(tmp_path, capsys):
    err = _refused(tmp_path, capsys, "--depth", "100000", "--acts", "relu")
    assert "needs about" in err and "the limit is" in err


def test_a_huge_width_is_refused(tmp_path, capsys):
    err = _refused(tmp_path, capsys, "--width", "100000000", "--acts", "relu")
    assert "GiB" in err or "TiB" in err or "PiB" in err


def test_a_million_seeds_is_refused_before_the_store(tmp_path, capsys):
    err = _refused(tmp_path, capsys, "--seeds", "1000000", "--acts", "relu,tanh")
    assert "2,000,000 runs" in err and "limit" in err


def test_max_memory_refuses_a_small_sweep_and_names_the_option(tmp_path, capsys):
    err = _refused(tmp_path, capsys, "--max-memory", "1K", "--acts", "relu")
    assert "--max-memory" in err


def test_parse_size():
    assert budget.parse_size("8G") == 8 * 1024**3
    assert budget.parse_size("512M") == 512 * 1024**2
    assert budget.parse_size("1e9") == 10**9
    assert budget.parse_size(None) is None
    for bad in ("lots", "-1G", "0"):
        with pytest.raises(ActlabError):
            budget.parse_size(bad)


@pytest.mark.parametrize("depth,width", [(1, 8), (2, 128), (3, 17)])
def test_parameter_estimate_matches_the_real_model(depth, width):
    from actlab.models import build_model
    from actlab.train import TrainConfig

    config = resolve_config({"depth": depth, "width": width})
    found = budget.estimate(config, input_shape=(784,), num_outputs=10, dataset_numel=0, runs=3)
    model = build_model("relu", (784,), 10, TrainConfig(depth=depth, width=width), seed=0)
    assert found.parameters_per_run == sum(p.numel() for p in model.parameters())
    # the grid trains the 3 runs together: at least their weights, gradients and Adam moments
    assert found.memory_bytes >= 3 * 4 * 4 * found.parameters_per_run
