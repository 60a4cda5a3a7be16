"""actlab.compare from Python: tensors or a torch Dataset in, the same store and report as the CLI out."""
from __future__ import annotations

import importlib.util
import sqlite3

import pytest
import torch
from torch import nn

import actlab
from actlab.errors import ActlabError


def build(act_layer, n_outputs):
    return nn.Sequential(nn.Linear(2, 16), act_layer(), nn.Linear(16, n_outputs))


def _data(n=240, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=generator)
    return x, (x @ torch.tensor([[1.0, 0.0, -1.0], [0.0, 1.0, -1.0]])).argmax(1)  # three linear classes


@pytest.mark.slow
def test_compare_on_tensors_gives_a_result_read_from_the_store(tmp_path):
    result = actlab.compare(build, _data(), acts=["relu", "tanh"], seeds=2, epochs=3, batch_size=32, lr=0.01,
                            out=tmp_path / "run", progress=False)
    rows = result.rows()
    assert {row["activation"] for row in rows} == {"relu", "tanh"}
    assert all(row["finished"] == 2 and 0.0 <= row["mean"] <= 1.0 for row in rows)
    conn = sqlite3.connect(tmp_path / "run" / "results.sqlite")
    stored = conn.execute("SELECT activation, AVG(test_accuracy) FROM runs JOIN results USING (run_id) "
                          "GROUP BY activation").fetchall()
    conn.close()
    assert {a: pytest.approx(m) for a, m in stored} == {row["activation"]: row["mean"] for row in rows}
    text = result.table()
    assert text.splitlines()[0].split() == ["activation", "test", "accuracy", "runs", "verdict"]
    recommendation = result.recommend()
    assert recommendation.activation in ("relu", "tanh") and recommendation.pick in result._repr_html_()
    assert "<table>" in result._repr_html_() and "relu" in result._repr_html_()
    paths = result.report(tmp_path / "copy")
    assert paths["html"].is_file() and paths["markdown"].read_text().startswith("# actlab compare")
    assert result.plot().axes[0].get_ylabel() == "test accuracy (%)"
    if importlib.util.find_spec("pandas") is None:
        with pytest.raises(ActlabError, match="pip install pandas"):
            result.to_pandas()
    else:
        assert list(result.to_pandas()["activation"]) == [row["activation"] for row in rows]
    with pytest.raises(ActlabError, match="different config"):  # other data, same folder: refused, not mixed
        actlab.compare(build, _data(seed=1), acts=["relu", "tanh"], seeds=2, epochs=3, batch_size=32, lr=0.01,
                       out=tmp_path / "run", progress=False)


def test_a_torch_dataset_and_a_bad_model_are_named(tmp_path):
    x, y = _data(120)
    dataset = torch.utils.data.TensorDataset(x, y)

    def wrong(act_layer):
        return nn.Sequential(nn.Linear(2, 4), act_layer(), nn.Linear(4, 7))

    with pytest.raises(ActlabError, match=r"output shape \(2, 7\) does not match the dataset \(3 classes"):
        actlab.compare(wrong, dataset, acts=["relu"], seeds=1, epochs=1, out=tmp_path / "bad", progress=False)
    with pytest.raises(ActlabError, match="data must be"):
        actlab.compare(build, 42, acts=["relu"], out=tmp_path / "worse", progress=False)
