"""The classic experiments expressed exactly: the MNIST CNN's layer list and parameter count, dropout per place,
init per activation, RMSprop (grid = torch.optim per run), SGD with momentum."""
from __future__ import annotations

import pytest
from torch import nn

from actlab.errors import ActlabError
from actlab.models import build_model, canonical_scheme, init_scheme, parse_init
from actlab.resolve import get
from actlab.sweep.options import coerce, train_options
from actlab.train import RunSpec, TrainConfig, train_runs

CLASSIC = TrainConfig(model="cnn", dropout=0.25, dropout_dense=0.5, init="glorot,selu=auto", clip_value=0.5)


def test_classic_mnist_cnn_layer_list_and_parameter_count():
    model = build_model("relu", (1, 28, 28), 10, CLASSIC, seed=0)
    layers = ["act" if i in (1, 3, 8) else type(m).__name__ for i, m in enumerate(model)]
    assert layers == ["Conv2d", "act", "Conv2d", "act", "MaxPool2d", "Dropout", "Flatten", "Linear", "act",
                      "Dropout", "Linear"]
    assert all(type(model[i]) is type(model[1]) for i in (1, 3, 8))
    convs = [m for m in model if isinstance(m, nn.Conv2d)]
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [(c.out_channels, c.kernel_size) for c in convs] == [(32, (3, 3)), (64, (3, 3))]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(9216, 128), (128, 10)]
    assert [m.p for m in model if isinstance(m, nn.Dropout)] == [0.25, 0.5]
    assert sum(p.numel() for p in model.parameters()) == 1_199_882


def test_selu_keeps_lecun_and_alpha_dropout_in_the_classic_recipe():
    model = build_model("selu", (1, 28, 28), 10, CLASSIC, seed=0)
    assert [m.p for m in model if isinstance(m, nn.AlphaDropout)] == [0.25, 0.5]
    assert init_scheme(get("selu"), CLASSIC.init) == "lecun_normal"
    assert init_scheme(get("relu"), CLASSIC.init) == "glorot_normal"
    assert init_scheme(get("relu"), "auto") == canonical_scheme(get("relu").init.scheme)
    assert parse_init("he,selu=lecun,gelu=auto") == ("he_normal", {"selu": "lecun_normal", "gelu": "auto"})
    with pytest.raises(ActlabError, match="unknown init scheme"):
        TrainConfig(init="glorot,selu=xavier").validate()


def test_dropout_option_takes_one_or_two_places():
    assert coerce("dropout", "0.25,0.5") == [0.25, 0.5]
    assert coerce("dropout", 0.3) == 0.3
    assert coerce("dropout", {"pool": 0.25, "dense": 0.5}) == [0.25, 0.5]
    options = train_options({"dropout": [0.25, 0.5], "model": "cnn"})
    assert (options["dropout"], options["dropout_dense"]) == (0.25, 0.5)
    with pytest.raises(ActlabError, match="for the cnn"):
        TrainConfig(model="mlp", dropout=0.2, dropout_dense=0.5).validate()
    with pytest.raises(ActlabError, match="one rate"):
        coerce("dropout", "0.1,0.2,0.3")


def _toy():
    from actlab import data

    return data.load("moons", n=300)


@pytest.mark.parametrize("optimizer,extra", [("rmsprop", {}), ("sgd", {"momentum": 0.9})])
def test_grid_optimizer_equals_torch_optim(optimizer, extra):
    dataset = _toy()
    config = TrainConfig(depth=2, width=16, epochs=2, batch_size=32, lr=3e-3, optimizer=optimizer,
                         precision="fp32", weight_decay=1e-4, **extra)
    runs = [RunSpec("relu", 0), RunSpec("tanh", 1)]
    grid = train_runs(dataset, config, runs, engine="grid")
    alone = train_runs(dataset, config, runs, engine="sequential")
    for run in runs:
        assert grid[run.run_id].test_loss == pytest.approx(alone[run.run_id].test_loss, rel=1e-4, abs=1e-6)


def test_cnn_two_dropouts_grid_matches_sequential():
    from actlab import data

    dataset = data.load("digits", flatten=False)
    config = TrainConfig(model="cnn", epochs=1, batch_size=64, lr=1e-3, precision="fp32", dropout=0.25,
                         dropout_dense=0.5)
    grid = train_runs(dataset, config, [RunSpec("relu", 0), RunSpec("selu", 0)], engine="grid")
    alone = train_runs(dataset, config, [RunSpec("relu", 0), RunSpec("selu", 0)], engine="sequential")
    for run_id, end in grid.items():  # same masks are not drawn by both engines: close, not equal
        assert end.test_accuracy > 0.5 and alone[run_id].test_accuracy > 0.5
