"""The classic findings, seeded, with thresholds from measurements over several seeds.

All runs: ``load_points(name, points=500)`` (400 train, 100 test, 100 extrapolation points,
data seed 0, noise 0), 2000 full-batch Adam steps at lr 0.03, one initialisation per seed
(``restarts=1``: what a single run finds; the ``actlab boundary`` default keeps the best of 4 by training
loss, see test_boundary_recipe.py).  Measured on 2026-11-29 with seeds 0–9 (test accuracy per seed unless said):

circle, 2 hidden units
  square, no bias      1.00 1.00 0.78 1.00 1.00 0.78 1.00 0.82 1.00 0.82  (6/10 seeds at 100 %; the
                       others put both units on nearly one direction: a band, not a disc)
  relu, no bias        0.77 0.77 0.52 0.76 0.62 0.58 0.77 0.50 0.76 0.60  (max 0.77)
  relu, bias           0.84 0.86 0.78 0.79 0.79 0.63 0.81 0.59 0.76 0.64  (max 0.86)
  tanh, bias           saturated fraction (|h| ≥ 0.98, i.e. within 1 % of the range from ±1):
                       0.87 0.87 0.86 0.90 0.86 0.79 0.78 0.77 0.79 0.81  (min 0.77)
  sigmoid, bias        saturated fraction (h ≤ 0.01 or h ≥ 0.99):
                       0.83 0.77 0.81 0.86 0.83 0.74 0.83 0.71 0.87 0.76  (min 0.71)
circle, 10 hidden units, relu, bias: 1.00 on every seed (train, test and extrapolation)
periodic, 2 hidden units, no bias, per-neuron cos,identity
                       test 0.98 0.85 0.84 0.84 0.86 0.85 0.98 0.84 0.84 0.84
                       extrapolation 0.99 0.91 0.90 0.90 0.89 0.91 0.99 0.90 0.90 0.90
                       (seeds 0 and 6 find cos(x0) and keep separating beyond the training range; the
                       other seeds stop in a local minimum at another frequency: 8/32 seeds 0–31 succeed)
periodic, 8 hidden units, relu, bias
                       train 0.90 0.89 0.89 1.00 0.90 0.88 0.98 0.89 0.88 0.89
                       extrapolation 0.65 0.84 0.82 0.54 0.74 0.85 0.74 0.85 0.85 0.85
                       (seeds 3 and 6 fit the training range, ≥ 0.97, and fall to 0.54 / 0.74 outside it:
                       piecewise-linear pieces continue as straight lines, not as a periodic boundary)
"""
from __future__ import annotations

import pytest

from actlab.lab2d.run import load_points
from actlab.lab2d.train import BoundaryConfig, parse_row, train_rows

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def circle():
    return load_points("circle", points=500)


@pytest.fixture(scope="module")
def periodic():
    return load_points("periodic", points=500)


def _train(dataset, acts, hidden, bias, seeds, first_seed=0):
    config = BoundaryConfig(hidden=hidden, bias=bias, steps=2000, lr=0.03, seeds=seeds, first_seed=first_seed,
                            restarts=1)  # one initialisation per seed: what a single run finds
    return train_rows([parse_row(a, hidden) for a in acts], dataset.x_train, dataset.y_train, config)


def test_circle_square_two_units_no_bias_beats_relu(circle):
    square, relu = _train(circle, ["square", "relu"], hidden=2, bias=False, seeds=5)
    square_test = square.accuracy(circle.x_test, circle.y_test)
    relu_test = relu.accuracy(circle.x_test, circle.y_test)
    assert square_test[0] >= 0.97 and int((square_test >= 0.97).sum()) >= 3  # measured: seeds 0, 1, 3, 4
    assert relu_test.max() <= 0.85  # measured max 0.77
    assert square_test.max() - relu_test.max() >= 0.15


def test_circle_relu_two_units_below_ten_units_close_and_sigmoids_saturate(circle):
    two = _train(circle, ["relu", "tanh", "sigmoid"], hidden=2, bias=True, seeds=3)
    ten = _train(circle, ["relu"], hidden=10, bias=True, seeds=3)[0]
    assert two[0].accuracy(circle.x_test, circle.y_test).max() <= 0.90  # measured max 0.86 over 10 seeds
    ten_test = ten.accuracy(circle.x_test, circle.y_test)
    assert ten_test.min() >= 0.97  # measured 1.00 on every seed
    h_tanh = two[1].features(circle.x_train)
    h_sigmoid = two[2].features(circle.x_train)
    tanh_saturated = (h_tanh.abs() >= 0.98).float().mean(dim=(1, 2))
    sigmoid_saturated = ((h_sigmoid <= 0.01) | (h_sigmoid >= 0.99)).float().mean(dim=(1, 2))
    assert tanh_saturated.min() >= 0.6, tanh_saturated  # measured min 0.77 (seeds 0–9)
    assert sigmoid_saturated.min() >= 0.6, sigmoid_saturated  # measured min 0.71


def test_periodic_cos_identity_extrapolates_relu_does_not(periodic):
    far_x, far_y = periodic.extra["extrapolation"]
    cos = _train(periodic, ["cos,identity"], hidden=2, bias=False, seeds=7)[0]
    cos_test = cos.accuracy(periodic.x_test, periodic.y_test)
    cos_far = cos.accuracy(far_x, far_y)
    solved = cos_test >= 0.95
    assert bool(solved[0]) and bool(solved[6])  # measured 0.98 on seeds 0 and 6
    assert (cos_far[solved] >= 0.95).all()  # and keeps separating outside the training range (0.99)

    relu = _train(periodic, ["relu"], hidden=8, bias=True, seeds=7)[0]
    relu_train = relu.accuracy(periodic.x_train, periodic.y_train)
    relu_far = relu.accuracy(far_x, far_y)
    fitted = relu_train >= 0.97
    assert int(fitted.sum()) >= 1  # measured: seeds 3 and 6
    assert (relu.accuracy(periodic.x_test, periodic.y_test)[fitted] >= 0.93).all()  # fits the training range
    assert (relu_far[fitted] <= 0.80).all()  # measured 0.54 and 0.74
    assert (relu_train[fitted] - relu_far[fitted] >= 0.2).all()  # measured gaps 0.46 and 0.24
    assert cos_far[solved].min() - relu_far[fitted].max() >= 0.15  # measured 0.99 vs 0.74
