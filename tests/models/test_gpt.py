"""The gpt: causal, built through the one builder, sized and parameter-matched (Shazeer's 8/3·d)."""
from __future__ import annotations

import pytest
import torch

from actlab.errors import ActlabError
from actlab.models import ModelConfig, build
from actlab.models.size import count_parameters, describe_size, flops_per_example, hidden_width

TINY = ModelConfig(kind="gpt", depth=2, width=16, heads=2)


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_causal_and_seeded() -> None:
    model = build(TINY, "swiglu", (12,), 30, seed=3).eval()
    x = torch.randint(0, 30, (2, 12), generator=torch.Generator().manual_seed(0))
    changed = x.clone()
    changed[:, 7:] = (changed[:, 7:] + 1) % 30
    with torch.no_grad():
        out, out_changed = model(x), model(changed)
    assert out.shape == (2, 12, 30)
    torch.testing.assert_close(out[:, :7], out_changed[:, :7])  # no position sees a later token
    assert not torch.allclose(out[:, 7:], out_changed[:, 7:])
    again = build(TINY, "swiglu", (12,), 30, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


def test_parameter_count_by_hand() -> None:
    d, v, t, h, layers = 16, 30, 12, 64, 2
    per_block = 2 * 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * h + h) + (h * d + d)
    expected = v * d + t * d + layers * per_block + 2 * d  # the head is tied to the token embedding
    model = build(TINY, "gelu", (t,), v, seed=0)
    assert _count(model) == expected == describe_size(TINY, "gelu", (t,), v)["n_parameters"]
    flops, unit = flops_per_example(TINY, "gelu", (t,), v)
    assert unit == "token" and flops == 2 * (expected - t * d) + 4 * layers * t * d


def test_match_params_gives_gated_ffns_eight_thirds_d() -> None:
    config = ModelConfig(kind="gpt", depth=4, width=128, match_to="gelu")
    assert hidden_width(config, "gelu", (64,), 66) == 512
    assert hidden_width(config, "swiglu", (64,), 66) == 341  # round(8/3 · 128)
    reference = count_parameters(config, "gelu", (64,), 66)
    for name in ("swiglu", "geglu", "relu"):
        assert abs(count_parameters(config, name, (64,), 66) - reference) / reference < 0.01
    mlp = ModelConfig(kind="mlp", depth=2, width=64, match_to="relu")
    counts = [_count(build(mlp, name, (20,), 3, seed=0)) for name in ("relu", "glu", "maxout")]  # the real nets
    assert all(abs(c - counts[0]) / counts[0] < 0.01 for c in counts)


def test_bad_configs_are_named() -> None:
    with pytest.raises(ActlabError, match="multiple of its heads"):
        build(ModelConfig(kind="gpt", width=10, heads=4), "gelu", (8,), 5, seed=0)
    with pytest.raises(ActlabError, match="token windows"):
        build(TINY, "gelu", (3, 4), 5, seed=0)
