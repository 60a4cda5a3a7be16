"""``actlab.nn.create``: the one factory from a name, alias, formula or spec to a torch module."""
from __future__ import annotations

import pickle

import pytest
import torch

import actlab
from actlab.errors import ActlabError, UnknownNameError
from actlab.nn import ActivationModule, create


def test_a_name_an_alias_and_a_spec_give_the_same_module() -> None:
    x = torch.linspace(-4, 4, 41, dtype=torch.float64)
    by_name, by_alias, by_spec = create("silu"), create("swish"), create(actlab.get("silu"))
    assert isinstance(by_name, ActivationModule) and by_name.spec is by_alias.spec is by_spec.spec
    assert torch.allclose(by_name(x), x * torch.sigmoid(x))


def test_a_formula_builds_its_module() -> None:
    x = torch.linspace(-3, 3, 13, dtype=torch.float64)
    module = create("x*sigmoid(1.702*x)")
    assert torch.allclose(module(x), x * torch.sigmoid(1.702 * x))


def test_parameters_and_impl_reach_the_module() -> None:
    module = create("elu", impl="reference", alpha=0.5)
    assert module.impl == "reference" and module.fixed["alpha"] == 0.5
    x = torch.tensor([-1.0, 2.0], dtype=torch.float64)
    assert torch.allclose(module(x), torch.nn.functional.elu(x, alpha=0.5))
    assert create("prelu", num_parameters=4).weight.shape == (4,)


def test_bad_input_is_named() -> None:
    with pytest.raises(UnknownNameError, match="gelu"):
        create("gleu")
    with pytest.raises(ActlabError, match="got int"):
        create(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="impl must be one of"):
        create("relu", impl="fast")


def test_a_spec_pickles_by_name_through_the_registry() -> None:
    spec = actlab.get("leaky_relu", alpha=0.3)
    back = pickle.loads(pickle.dumps(spec))
    assert back.name == "leaky_relu" and back.defaults()["alpha"] == 0.3
    assert pickle.loads(pickle.dumps(actlab.get("relu"))) is actlab.get("relu")
