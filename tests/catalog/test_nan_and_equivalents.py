"""NaN propagates through every elementwise catalog forward (as torch does); the equivalents table is sound."""
from __future__ import annotations

import math

import pytest
import torch

import actlab
from actlab.catalog import BUILTIN
from actlab.catalog.equivalents import EQUIVALENTS, equivalents_for


@pytest.mark.parametrize("name", [s.name for s in BUILTIN if s.kind == "elementwise"])
def test_nan_propagates(name: str) -> None:
    spec = actlab.get(name)
    y = spec(torch.tensor([math.nan, 1.0]))
    assert torch.isnan(y[0]), f"{name}(NaN) = {y[0].item()}"


@pytest.mark.parametrize("name", ["hardshrink", "softshrink", "binary_step"])
def test_nan_propagates_through_the_module(name: str) -> None:
    y = actlab.nn.create(name, impl="reference")(torch.tensor([math.nan, 2.0]))
    assert torch.isnan(y[0]) and not torch.isnan(y[1])


def test_equivalents_name_catalog_entries_and_issue_findings() -> None:
    names = {s.name for s in BUILTIN}
    assert set(EQUIVALENTS) <= names
    text = str(equivalents_for("leaky_relu"))
    assert "0.3" in text and "0.2" in text
    assert "tanh approximation" in str(equivalents_for("gelu"))
    assert "starts at 0" in str(equivalents_for("prelu"))
    assert "-0.5" in str(equivalents_for("hard_swish"))
    assert "no beta and no threshold" in str(equivalents_for("softplus"))
    for name in names:  # every native op's torch row says it is measured
        spec = actlab.get(name)
        torch_rows = [r for r in equivalents_for(name) if r["framework"] == "torch"]
        if spec.native is not None and spec.torch_module is not None:
            assert torch_rows and torch_rows[0]["checked"] == "measured", name


def test_light_index_matches_the_records() -> None:
    from pathlib import Path

    import actlab.catalog.index as index
    from actlab.catalog._index_gen import render

    assert Path(index.__file__).read_text(encoding="utf-8") == render(), (
        "actlab/catalog/index.py is stale: run python -m actlab.catalog._index_gen"
    )
