"""The TensorBoard export fills the HParams plugin: one session per run with its hparams and metrics."""
from __future__ import annotations

import pytest

from actlab.store import to_tensorboard


def test_hparams_plugin_data(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2
    from test_store import _filled

    source = _filled(tmp_path)
    to_tensorboard(source, tmp_path / "tb")
    sessions = 0
    for run_dir in sorted((tmp_path / "tb").iterdir()):
        accumulator = EventAccumulator(str(run_dir))
        accumulator.Reload()
        content = accumulator.PluginTagToContent("hparams")
        assert "_hparams_/experiment" in content and "_hparams_/session_start_info" in content
        start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
        values = start.session_start_info.hparams
        assert {"activation", "lr", "seed", "width", "depth"} <= set(values)
        experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
        tags = {m.name.tag for m in experiment.experiment.metric_infos}
        assert {"hparams/best_val_accuracy", "hparams/test_accuracy", "hparams/final_val_loss"} <= tags
        sessions += 1
        if start.session_start_info.hparams["seed"].number_value >= 0 and "hparams/test_accuracy" in accumulator.Tags()["scalars"]:
            assert accumulator.Scalars("hparams/test_accuracy")
    assert sessions == 4
