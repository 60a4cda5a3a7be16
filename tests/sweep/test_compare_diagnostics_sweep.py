"""``actlab compare --diagnostics`` end to end: store, report section, TensorBoard tags, option and fingerprint."""
from __future__ import annotations

import pytest

from actlab.store import Store, to_tensorboard
from actlab.sweep import compare, config_fingerprint, identity_of, reproduce_command, resolve_config

SMALL = dict(dataset="moons", subset=200, acts=["relu", "sigmoid"], seeds=2, epochs=2, depth=3, width=8,
             batch_size=50, precision="fp32")


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("diag") / "run"
    outcome = compare({**SMALL, "diagnostics": True, "clip_value": 0.05, "out": str(out)})
    assert not outcome.interrupted
    return out


def test_the_store_holds_every_layer_of_every_epoch(sweep_dir):
    with Store(sweep_dir, create=False) as store:
        runs = store.runs()
        rows = store.layer_stats()
        clipping = store.clipping()
    assert len(runs) == 4 and all(r.status == "finished" for r in runs)
    assert {(row.run_id, row.epoch, row.layer) for row in rows} == {
        (r.run_id, e, layer) for r in runs for e in range(3) for layer in (1, 2, 3)}
    assert all(row.speed is not None and row.speed >= 0 and row.units == 8 for row in rows)
    assert all(row.histogram["num"] > 0 for row in rows)
    assert set(clipping) == {r.run_id for r in runs}
    assert all(0 <= clipped <= steps for steps, clipped in clipping.values())
    sigmoid = [row for row in rows if row.run_id.startswith("sigmoid") and row.epoch == 0]
    speeds = {(row.run_id, row.layer): row.speed for row in sigmoid}
    for run_id in {row.run_id for row in sigmoid}:  # deep sigmoid at init: the first layer learns slowest
        assert speeds[run_id, 1] < speeds[run_id, 3]


def test_the_report_shows_the_gradient_flow_section(sweep_dir):
    markdown = (sweep_dir / "report.md").read_text()
    html = (sweep_dir / "report.html").read_text()
    for text in (markdown, html):
        assert "Gradient flow per layer" in text and "speed at init" in text and "Gradient clipping" in text
    assert "figures/gradient_speed.png" in markdown
    assert (sweep_dir / "figures" / "gradient_speed.png").is_file()
    assert (sweep_dir / "figures" / "dead_fraction.png").is_file()


def test_no_section_without_diagnostics_or_clipping(tmp_path):
    from actlab.report.gradient_flow import gradient_flow_section

    out = tmp_path / "plain"
    compare({**SMALL, "acts": ["relu"], "seeds": 1, "epochs": 1, "out": str(out)})
    assert gradient_flow_section(out) is None
    assert "Gradient flow" not in (out / "report.md").read_text()


def test_tensorboard_export_has_layer_scalars_and_histograms(sweep_dir, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    to_tensorboard(sweep_dir, tmp_path / "tb")
    run_dir = next(p for p in (tmp_path / "tb").iterdir() if p.name.startswith("relu"))
    events = EventAccumulator(str(run_dir), size_guidance={"histograms": 0, "scalars": 0})
    events.Reload()
    scalars, histograms = events.Tags()["scalars"], events.Tags()["histograms"]
    for layer in (1, 2, 3):
        for tag in ("speed", "weight_grad_norm", "dead_fraction", "saturated_fraction"):
            assert f"layer{layer}/{tag}" in scalars
        assert f"activations/layer{layer}" in histograms
        assert [e.step for e in events.Histograms(f"activations/layer{layer}")] == [0, 1, 2]
    assert "clipped_fraction" in scalars and "val_loss" in scalars
    assert [e.step for e in events.Scalars("layer1/speed")] == [0, 1, 2]


def test_csv_export_has_the_layer_rows(sweep_dir, tmp_path):
    import csv

    from actlab.store import to_csv

    written = to_csv(sweep_dir, tmp_path / "csv")
    assert [p.name for p in written] == ["runs.csv", "epochs.csv", "points.csv", "layers.csv"]
    rows = list(csv.DictReader((tmp_path / "csv" / "layers.csv").open()))
    assert len(rows) == 4 * 3 * 3 and rows[0]["epoch"] == "0" and float(rows[0]["speed"]) >= 0


def test_diagnostics_is_a_flag_outside_the_fingerprint():
    plain, flagged = resolve_config({}), resolve_config({"diagnostics": True})
    assert plain["diagnostics"] is False and flagged["diagnostics"] is True
    assert config_fingerprint(identity_of(plain)) == config_fingerprint(identity_of(flagged))
    assert "--diagnostics" in reproduce_command(flagged) and "--diagnostics" not in reproduce_command(plain)
    from actlab.errors import ActlabError

    with pytest.raises(ActlabError, match="true or false"):
        resolve_config({"diagnostics": "yes"})
