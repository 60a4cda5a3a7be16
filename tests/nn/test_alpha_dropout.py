"""AlphaDropout with derived constants: against torch.nn.AlphaDropout for SELU, Monte Carlo for others;
the engines and the snn model use it."""
from __future__ import annotations

import math

import pytest
import torch

import actlab
from actlab.nn.alpha_dropout import SELU_ALPHA_PRIME, AlphaDropout, affine, alpha_prime, drop_terms

TORCH_SELU_ALPHA = 1.7580993408473766  # torch.nn.functional.alpha_dropout's constant (−α′)


def test_selu_alpha_prime_is_derived_from_the_catalog_constants_and_matches_torch():
    assert SELU_ALPHA_PRIME == -TORCH_SELU_ALPHA
    assert alpha_prime("selu") == SELU_ALPHA_PRIME  # the limit of f itself
    assert alpha_prime("tanh") == -1.0 and alpha_prime("relu") == 0.0 and alpha_prime("sigmoid") == 0.0
    assert alpha_prime("elu", alpha=0.5) == -0.5


@pytest.mark.parametrize("p", [0.05, 0.1, 0.3])
def test_affine_matches_torch_alpha_dropout(p):
    """torch.nn.AlphaDropout's output takes two kinds of values: a·x + c (kept) and one constant (dropped)."""
    torch.manual_seed(0)
    x = torch.randn(200_000, dtype=torch.float64)
    y = torch.nn.AlphaDropout(p).train()(x)
    a, b = affine(p, SELU_ALPHA_PRIME)
    kept_ours = a * x + b
    dropped_ours = a * SELU_ALPHA_PRIME + b
    kept = torch.isclose(y, kept_ours, rtol=0, atol=1e-12)
    dropped = torch.isclose(y, torch.full_like(y, dropped_ours), rtol=0, atol=1e-12)
    assert bool((kept | dropped).all())
    assert abs(float(dropped.double().mean()) - p) < 5 * math.sqrt(p * (1 - p) / len(x))
    # the textbook form, Klambauer et al. eq. (11)
    q = 1 - p
    assert a == pytest.approx((q + SELU_ALPHA_PRIME ** 2 * q * (1 - q)) ** -0.5, rel=1e-15)
    assert b == pytest.approx(-a * (1 - q) * SELU_ALPHA_PRIME, rel=1e-15)


def _check_preserved(x, layer):
    y = layer.train()(x)
    n = len(x)
    se_mean = float(y.std()) / math.sqrt(n)
    se_var = float(((y - y.mean()) ** 2).std()) / math.sqrt(n)
    return y, se_mean, se_var


@pytest.mark.parametrize("activation,params", [("selu", {}), ("lam*tanh(x)", {"lam": 1.5925374197228315}),
                                                 ("lam*(relu(x) - c)", {"c": 0.3989422804014327,
                                                                         "lam": 1.7128585504496627})])
def test_alpha_dropout_preserves_mean_and_variance(activation, params):
    """Inputs f(Z) with mean 0 and variance 1 (self-normalising f): the same after dropout, within MC error."""
    spec = actlab.get(activation, **params)
    generator = torch.Generator().manual_seed(3)
    z = torch.randn(1_000_000, generator=generator, dtype=torch.float64)
    x = torch.cat([spec(part) for part in z.split(50_000)])
    assert abs(float(x.mean())) < 0.006 and abs(float(x.var()) - 1) < 0.008
    torch.manual_seed(4)
    layer = AlphaDropout(0.2, spec)
    y, se_mean, se_var = _check_preserved(x, layer)
    # the input's own sampling error plus the dropout's
    assert abs(float(y.mean()) - float(x.mean())) < 5 * se_mean
    assert abs(float(y.var()) - float(x.var())) < 5 * se_var
    # plain dropout does not keep the variance (it grows by 1/(1-p))
    plain = torch.nn.Dropout(0.2).train()(x)
    assert float(plain.var()) > float(x.var()) + 10 * se_var


def test_alpha_dropout_at_another_mean_and_variance():
    torch.manual_seed(5)
    x = 0.3 + math.sqrt(2.0) * torch.randn(2_000_000, dtype=torch.float64)
    layer = AlphaDropout(0.1, alpha_prime=-1.0, mean=0.3, variance=2.0)
    y, se_mean, se_var = _check_preserved(x, layer)
    assert abs(float(y.mean()) - 0.3) < 5 * se_mean + 5 * float(x.std()) / math.sqrt(len(x))
    assert abs(float(y.var()) - 2.0) < 5 * se_var + 5 * math.sqrt(2 * 4.0 / len(x))


def test_eval_mode_is_identity_and_bad_input_is_clear():
    x = torch.randn(10)
    assert torch.equal(AlphaDropout(0.5).eval()(x), x)
    with pytest.raises(actlab.ActlabError, match="no finite limit"):
        AlphaDropout(0.1, "leaky_relu")
    with pytest.raises(actlab.ActlabError, match=r"\[0, 1\)"):
        AlphaDropout(1.0)


def test_drop_terms_are_what_the_engines_apply():
    """One implementation for the module and both training engines: dropped units → a·α′ + b, kept → a·x + b."""
    keep = torch.tensor([1.0, 0.0, 1.0, 0.0])
    multiplier, addend = drop_terms(keep, 0.1, SELU_ALPHA_PRIME)
    a, b = affine(0.1, SELU_ALPHA_PRIME)
    x = torch.tensor([0.5, 0.5, -2.0, 7.0])
    y = x * multiplier + addend
    expected = torch.tensor([a * 0.5 + b, a * SELU_ALPHA_PRIME + b, -2 * a + b, a * SELU_ALPHA_PRIME + b])
    assert torch.allclose(y, expected, atol=1e-7)


def test_grid_engine_dropout_uses_the_derived_constants():
    from actlab.data import load
    from actlab.train import RunSpec, TrainConfig
    from actlab.train.grid import GridTrainer
    from actlab.train.prepared import prepare

    config = TrainConfig(model="snn", depth=2, width=8, epochs=1, batch_size=16, dropout=0.25, precision="fp32")
    trainer = GridTrainer(prepare(load("moons", n=60), config.model), config, [RunSpec("selu"), RunSpec("tanh")])
    assert [g.alpha_dropout for g in trainer.groups] == [True, True]
    for group, prime in zip(trainer.groups, (SELU_ALPHA_PRIME, -1.0)):
        x = torch.zeros(4000)
        y = trainer._dropout(x, 0.25, True, group.spec)
        a, b = affine(0.25, prime)
        values = torch.unique(y).tolist()
        assert len(values) == 2
        assert sorted(values) == pytest.approx(sorted([b, a * prime + b]), abs=1e-6)


def test_snn_model_builds_lecun_selu_alpha_dropout():
    from actlab.models import build_model, initial_weights
    from actlab.train import TrainConfig

    config = TrainConfig(model="snn", depth=5, width=64, dropout=0.1)
    net = build_model("selu", (20,), 3, config, seed=0)
    drops = [m for m in net if isinstance(m, AlphaDropout)]
    assert len(drops) == 5 and all(d.alpha_prime == SELU_ALPHA_PRIME for d in drops)
    weights = initial_weights(actlab.get("relu"), (20,), 3, config, seed=0)  # lecun even for relu in snn
    assert float(weights[1][0].std()) == pytest.approx(math.sqrt(1 / 64), rel=0.05)
    with pytest.raises(actlab.ActlabError, match="snn model uses AlphaDropout"):
        build_model("leaky_relu", (20,), 3, config, seed=0)


def test_compare_snn_end_to_end(tmp_path, capsys):
    import json

    from actlab.cli import main

    code = main(["compare", "--model", "snn", "--dataset", "moons", "--depth", "6", "--width", "16", "--epochs", "1",
                 "--seeds", "1", "--dropout", "0.1", "--out", str(tmp_path / "run"), "--json"])
    out, err = capsys.readouterr()
    assert code in (0, 3), err  # 3: one epoch of a deep SNN may learn nothing
    data = json.loads(out)
    assert [row["activation"] for row in data["ranking"]] == ["selu"]  # snn's default activation
    code = main(["compare", "--model", "snn", "--dataset", "moons", "--acts", "selu,leaky_relu", "--epochs", "1",
                 "--out", str(tmp_path / "bad")])
    _, err = capsys.readouterr()
    assert code == 2 and "leaky_relu has no finite limit" in err
