"""The playground's nets and the 2-D lab's nets train in actlab.train: their steps equal a plain PyTorch loop,
and neither web/trainer.py nor lab2d/ holds a backward pass or an optimiser."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch
from torch import nn

from actlab.web.trainer import Playground, Settings, build_net, make_data

SRC = Path(__file__).resolve().parents[2] / "src" / "actlab"


@pytest.mark.parametrize("regularization, loss", [("none", "cross_entropy"), ("l2", "cross_entropy"), ("l1", "squared")])
def test_playground_steps_equal_a_plain_torch_loop(regularization, loss):
    settings = Settings(layers=(("tanh", "relu", "sin"), ("tanh",) * 2), learning_rate=0.1, batch_size=16,
                        regularization=regularization, regularization_rate=0.003, loss=loss, compare="relu", seed=3)
    data = make_data("circle", n=120, seed=1)
    play = Playground(data, settings)
    # the reference: what the playground did with its own loop (SGD, one step per shuffled mini-batch)
    nets = [build_net(2, settings.layers, 3), build_net(2, tuple(("relu",) * len(u) for u in settings.layers), 3)]
    optimisers = [torch.optim.SGD(n.parameters(), lr=0.1) for n in nets]
    generator = torch.Generator().manual_seed(3)
    for epoch in range(3):
        if epoch == 2:
            play.set_learning_rate(0.05)
            for o in optimisers:
                o.param_groups[0]["lr"] = 0.05
        play.step()
        order = torch.randperm(len(play.f_train), generator=generator)
        for net, optimiser in zip(nets, optimisers):
            for index in (order[i:i + 16] for i in range(0, len(order), 16)):
                optimiser.zero_grad(set_to_none=True)
                value = play.loss(net(play.f_train[index]), data.y_train[index]) + play._penalty(net)
                value.backward()
                optimiser.step()
    for run, net in zip(play.runs, nets):
        for mine, theirs in zip(run.net.parameters(), net.parameters()):
            torch.testing.assert_close(mine, theirs, rtol=0, atol=0)
    assert play.runs[0].live.step == 3 * 4 and play.runs[0].live.learning_rate == 0.05  # 60 train points / 16


def _training_calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr == "backward":
            found.append(f"{path.name}:{node.lineno} .backward")
        if isinstance(node, ast.Attribute) and node.attr == "optim" and isinstance(node.value, ast.Name) \
                and node.value.id == "torch":
            found.append(f"{path.name}:{node.lineno} torch.optim")
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("torch.optim"):
            found.append(f"{path.name}:{node.lineno} import torch.optim")
    return found


def test_no_training_loop_in_the_playground_or_the_lab():
    files = [SRC / "web" / "trainer.py", *sorted((SRC / "lab2d").glob("*.py"))]
    assert [call for path in files for call in _training_calls(path)] == []
    assert _training_calls(SRC / "train" / "live.py")  # the check finds them where they are


def test_live_run_keeps_the_optimiser_state_when_the_rate_changes():
    from actlab.train.config import TrainConfig
    from actlab.train.live import LiveRun

    net = nn.Linear(2, 1)
    run = LiveRun(net, TrainConfig(optimizer="adam", lr=0.1), nn.functional.mse_loss)
    x, y = torch.randn(8, 2, generator=torch.Generator().manual_seed(0)), torch.ones(8, 1)
    first = run.train_batches(x, y, [torch.arange(4), torch.arange(4, 8)])
    run.set_learning_rate(0.01)
    assert run.optimizer.state[net.weight]["step"] == 2 and run.learning_rate == 0.01
    assert run.train_batches(x, y, [torch.arange(8)]) < first and run.step == 3
    assert run.train_batches(x, y, []) != run.train_batches(x, y, [])  # NaN: no batch, no step
    assert run.step == 3
