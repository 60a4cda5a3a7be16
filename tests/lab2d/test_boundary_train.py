"""The 2-D trainer: --act parsing, stacking independence, feature space = forward pass, layer choices."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.collections import PathCollection

from actlab.errors import ActlabError
from actlab.lab2d.figures import boundary_figure, feature_space
from actlab.lab2d.run import load_points, run_boundary, summarise
from actlab.lab2d.train import BoundaryConfig, parse_row, train_rows


@pytest.fixture(scope="module")
def circle():
    return load_points("circle", points=200, seed=0)


def test_parse_row_lists_and_errors():
    row = parse_row("cos,identity", 2)
    assert row.per_neuron and [i.spec.name for i in row.items] == ["cos", "identity"]
    assert parse_row("maxout:k=3", 4).pieces == 3
    assert parse_row("sign(x)*x**2", 3).items[0].spec.source == "formula"
    with pytest.raises(ActlabError, match="lists 2 activations but --hidden is 3"):
        parse_row("cos,identity", 3)
    with pytest.raises(ActlabError, match="per-neuron list takes elementwise"):
        parse_row("maxout,relu", 2)
    with pytest.raises(ActlabError, match="softmax"):
        parse_row("softmax", 2)


def test_rows_trained_together_equal_rows_trained_alone(circle):
    config = BoundaryConfig(hidden=3, steps=60, lr=0.03, seeds=2)
    together = train_rows([parse_row(a, 3) for a in ("tanh", "relu", "cos,identity,relu")],
                          circle.x_train, circle.y_train, config)
    alone = train_rows([parse_row("relu", 3)], circle.x_train, circle.y_train, config)[0]
    torch.testing.assert_close(together[1].w1, alone.w1, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(together[1].w2, alone.w2, rtol=1e-5, atol=1e-6)
    # the seeds start from the same weights across rows (paired) but end apart
    assert not torch.allclose(together[0].w1, together[1].w1)


def test_feature_space_is_the_forward_pass_and_what_the_figure_plots(circle):
    result = run_boundary("circle", ["tanh", "prelu:per_unit", "maxout:k=3", "prelu,cos", "rrelu"],
                          BoundaryConfig(hidden=2, steps=80, seeds=2), points=200)
    for trained, summary in zip(result.trained, result.summaries):
        k = summary["shown_index"]
        net = trained.module(k)
        with torch.no_grad():
            hidden = net[1](net[0](circle.x_train))
            logits = net(circle.x_train).squeeze(-1)
        space = feature_space(trained, k, circle.x_train)
        np.testing.assert_allclose(space.coordinates, hidden.double().numpy(), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(trained.logits(circle.x_train)[k], logits, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(space.weights, net[2].weight[0].detach().double().numpy())
    figure = boundary_figure(result.dataset, result.trained, result.summaries)
    left = figure.axes[0]
    plotted = np.concatenate([c.get_offsets() for c in left.collections if isinstance(c, PathCollection)])
    expected = feature_space(result.trained[0], result.summaries[0]["shown_index"], circle.x_train).coordinates
    y = circle.y_train.numpy()
    expected = np.concatenate([expected[y == 0], expected[y == 1]])
    np.testing.assert_allclose(plotted, expected, rtol=1e-5, atol=1e-6)


def test_pca_projection_for_wide_layers(circle):
    trained = train_rows([parse_row("relu", 6)], circle.x_train, circle.y_train, BoundaryConfig(hidden=6, steps=50))[0]
    space = feature_space(trained, 0, circle.x_train)
    assert space.projected and space.coordinates.shape == (len(circle.x_train), 2)
    # the projection is of the true hidden activations (exact reconstruction from all directions)
    np.testing.assert_allclose(space.hidden, trained.features(circle.x_train)[0].double().numpy(), rtol=1e-6)
    np.testing.assert_allclose(space.projection.T @ space.projection, np.eye(2), atol=1e-9)


def test_learnable_and_random_activations_train(circle):
    config = BoundaryConfig(hidden=3, steps=150, lr=0.05, seeds=2, bias=False)
    prelu, per_unit, rrelu, maxout = train_rows([parse_row(a, 3) for a in ("prelu", "prelu:per_unit", "rrelu", "maxout:k=3")],
                                                circle.x_train, circle.y_train, config)
    assert prelu.learnable[0]["alpha"].shape == (2, 1, 1)
    assert per_unit.learnable[0]["alpha"].shape == (2, 1, 3)
    assert not torch.allclose(per_unit.learnable[0]["alpha"], torch.full((2, 1, 3), 0.25))  # the slopes were learned
    assert prelu.b1 is None and maxout.w1.shape == (2, 2, 9) and maxout.features(circle.x_train).shape[-1] == 3
    for trained in (prelu, per_unit, rrelu, maxout):
        assert torch.isfinite(trained.final_loss).all() and (trained.final_loss < 0.69).all()
        summary = summarise(load_points("circle", points=200), trained)
        assert 0.0 <= summary["test_accuracy"] <= 1.0
    assert "learned_parameters" in summarise(load_points("circle", points=200), per_unit)


def test_snapshots_and_config_errors(circle):
    trained = train_rows([parse_row("tanh", 2)], circle.x_train, circle.y_train,
                         BoundaryConfig(hidden=2, steps=20, snapshots=5))[0]
    epochs = [e for e, _ in trained.snapshots]
    assert epochs[0] == 0 and epochs[-1] == 20 and epochs == sorted(epochs)
    torch.testing.assert_close(trained.snapshots[-1][1]["w1"], trained.w1)
    for bad in ({"steps": 0}, {"lr": -1.0}, {"seeds": 0}, {"hidden": 0}, {"restarts": 0}, {"weight_scale": 0.0},
                {"init": "hee"}):
        with pytest.raises(ActlabError):
            BoundaryConfig(**bad).validate()
    with pytest.raises(ActlabError, match="spiral|classification"):
        load_points("plane")
