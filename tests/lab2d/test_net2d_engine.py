"""The 2-D nets' engine (actlab.train.net2d) behind the driver: init schemes, resume, the driver's events."""
from __future__ import annotations

import math

import pytest
import torch

from actlab.lab2d.run import load_points
from actlab.lab2d.train import BoundaryConfig, train_config
from actlab.train.driver import drive
from actlab.train.events import RunEnd
from actlab.train.net2d import Net2dEngine, initial_weights, parse_row, two_d_data


@pytest.fixture(scope="module")
def circle():
    return load_points("circle", points=200, seed=0)


def test_init_schemes_and_weight_scale():
    row = parse_row("tanh", 3)
    seeds = list(range(50))
    standard = initial_weights(row, 3, seeds, init="standard")
    bound = 1 / math.sqrt(2)  # U[-1/√fan_in, 1/√fan_in], fan_in 2
    assert standard["w1"].abs().max() <= bound and standard["w1"].abs().max() > 0.9 * bound
    assert torch.equal(standard["b1"], torch.zeros(50, 1, 3))  # standard: zero biases
    torch_default = initial_weights(row, 3, seeds, init="torch-default")
    assert 0 < torch_default["b1"].abs().max() <= bound  # nn.Linear's default draws its bias too
    nielsen = initial_weights(row, 3, seeds, init="nielsen", bias=True)
    assert 0.7 < float(nielsen["b1"].std()) < 1.3  # N(0, 1) biases
    assert initial_weights(row, 3, seeds, init="nielsen", bias=False)["b1"] is None
    scaled = initial_weights(row, 3, seeds, init="he_uniform", weight_scale=2.0)
    plain = initial_weights(row, 3, seeds, init="he_uniform")
    torch.testing.assert_close(scaled["w1"], 2 * plain["w1"])
    assert plain["w1"].abs().max() <= math.sqrt(6 / 2)  # he_uniform: √(6 / fan_in)
    # per activation: the square unit he, the identity unit glorot (one generator per seed, in unit order)
    mixed = initial_weights(parse_row("square,identity", 2), 2, [0], init="glorot,square=he")
    generator = torch.Generator().manual_seed(0)
    he = torch.randn(2, 1, generator=generator) * 1.0  # √(2 / fan_in) = 1
    glorot = torch.randn(2, 1, generator=generator) * math.sqrt(2 / 4)
    torch.testing.assert_close(mixed["w1"][0], torch.cat([he, glorot], dim=1))


def test_resume_from_the_engine_state_gives_the_same_nets(circle):
    config = BoundaryConfig(hidden=3, steps=40, seeds=2, restarts=1)
    rows = [parse_row(a, 3) for a in ("tanh", "prelu:per_unit", "rrelu", "maxout:k=2")]
    data = two_d_data(circle.x_train, circle.y_train)
    whole = Net2dEngine(data, train_config(config), rows, [0, 1])
    whole.train_steps(40)
    first = Net2dEngine(data, train_config(config), rows, [0, 1])
    first.train_steps(25)
    state = first.state_dict()
    second = Net2dEngine(data, train_config(config), rows, [0, 1])
    second.load_state_dict(state)
    second.train_steps(15)
    for a, b in zip(whole.trained_rows(), second.trained_rows()):
        torch.testing.assert_close(a.w1, b.w1, rtol=0, atol=0)
        torch.testing.assert_close(a.final_loss, b.final_loss, rtol=0, atol=0)


def test_the_driver_runs_the_budget_and_reports_the_final_point(circle):
    config = BoundaryConfig(hidden=2, steps=30, seeds=3, restarts=1)
    schedule = train_config(config)
    engine = Net2dEngine(two_d_data(circle.x_train, circle.y_train, circle.x_test, circle.y_test), schedule,
                         [parse_row("tanh", 2), parse_row("relu", 2)], [0, 1, 2])
    events = []
    assert drive(engine, schedule, emit=events.append)
    ends = [e for e in events if isinstance(e, RunEnd)]
    assert engine.step == 30 and len(ends) == 6 and {e.report_at for e in ends} == {"final"}
    loss, accuracy = engine.evaluate_split("test")
    trained = engine.trained_rows()
    torch.testing.assert_close(accuracy[3:].float(), trained[1].accuracy(circle.x_test, circle.y_test))
    assert [e.test_accuracy for e in ends] == pytest.approx(accuracy.tolist())
    stopped = Net2dEngine(two_d_data(circle.x_train, circle.y_train), schedule, [parse_row("tanh", 2)], [0])
    assert not drive(stopped, schedule, emit=lambda e: None, should_stop=lambda: stopped.step >= 7)
    assert stopped.step == 7  # stopped within the budget, at a step boundary
