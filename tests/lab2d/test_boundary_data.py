"""Toy sets' extrapolation split: outside the training domain, labelled by the same rule, independent of the splits."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from actlab import data
from actlab.cli import main
from actlab.data.preview import preview, summary
from actlab.data.toy import EXTRAPOLATION


@pytest.mark.parametrize("name", sorted(EXTRAPOLATION))
def test_extrapolation_points_lie_outside_and_follow_the_rule(name):
    ds = data.load(name, n=300, seed=3)
    far_x, far_y = ds.extra["extrapolation"]
    assert far_x.shape == (60, 2) and far_y.dtype == torch.int64  # default: as many as the test split
    (ox0, ox1, oy0, oy1), (ix0, ix1, iy0, iy1) = EXTRAPOLATION[name]
    x = far_x.double().numpy()
    outside = (x[:, 0] < ix0) | (x[:, 0] > ix1) | (x[:, 1] < iy0) | (x[:, 1] > iy1)
    inside_window = (x[:, 0] >= ox0) & (x[:, 0] <= ox1) & (x[:, 1] >= oy0) & (x[:, 1] <= oy1)
    assert outside.all() and inside_window.all()
    assert (ds.extra["boundary"].label(far_x) == far_y).all()  # noise 0: the true rule labels them exactly
    train = ds.x_train.numpy()
    assert ((train[:, 0] >= ix0) & (train[:, 0] <= ix1)).all()  # the training points stay inside


def test_periodic_extrapolation_is_beyond_the_three_periods_on_both_sides():
    far_x, far_y = data.load("periodic", n=1000).extra["extrapolation"]
    x0 = far_x[:, 0]
    assert (x0.abs() > 3 * math.pi).all() and (x0 < 0).any() and (x0 > 0).any()
    assert 0.3 < far_y.float().mean() < 0.7  # both classes


def test_splits_do_not_depend_on_the_extrapolation_split():
    with_far = data.load("xor", n=200, seed=1)
    without = data.load("xor", n=200, seed=1, extrapolation=0)
    assert "extrapolation" not in without.extra
    for part in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert torch.equal(getattr(with_far, part), getattr(without, part))
    assert len(data.load("xor", n=200, extrapolation=17).extra["extrapolation"][1]) == 17
    assert "extrapolation" not in data.load("moons", n=100).extra  # no region defined


def test_summary_preview_and_show_list_it(capsys, tmp_path):
    ds = data.load("periodic", n=200)
    info = summary(ds)
    assert info["extrapolation"]["size"] == 40 and sum(info["extrapolation"]["class_counts"]) == 40
    axes = preview(ds).axes[0]
    assert axes.get_xlim()[0] <= -5 * math.pi + 1e-6 and axes.get_xlim()[1] >= 5 * math.pi - 1e-6
    labels = axes.get_legend_handles_labels()[1]
    assert any("extrapolation" in label for label in labels) and "training domain" in labels
    code = main(["data", "show", "periodic", "-O", "n=200", "-o", str(tmp_path / "p.png")])
    out = capsys.readouterr().out
    assert code == 0 and "extrapolation" in out and (tmp_path / "p.png").exists()
    np.testing.assert_array_equal(ds.extra["extrapolation_region"][1], (-3 * math.pi, 3 * math.pi, -2.5, 2.5))
