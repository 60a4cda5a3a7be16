"""The sink between engine and store: events in, rows out."""
from __future__ import annotations

from typing import Any

from actlab.store import Store

__all__ = ["StoreSink"]


class StoreSink:
    """Writes engine events into the store: an epoch row per ``EpochEnd``, step rows per ``StepLosses``,
    a run's end (and its reportable points) or divergence,
    per-layer rows per ``LayerDiagnostics`` and the clipped-step count per ``ClipCount``.

    Idempotent (the store's writes are), so the engine's final results may be replayed.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self, event: Any) -> None:
        from actlab.train import EpochEnd, RunDiverged, RunEnd
        from actlab.train.events import ClipCount, LayerDiagnostics, StepLosses

        store = self.store
        if isinstance(event, EpochEnd):
            store.record_epoch(
                event.run_id, event.epoch, event.step, event.train_loss,
                event.val_loss, event.val_accuracy, event.seconds,
            )
        elif isinstance(event, StepLosses):
            store.record_steps(event.run_id, event.first_step, event.losses)
        elif isinstance(event, LayerDiagnostics):
            store.record_layer_stats(event.run_id, event.epoch, event.step, event.loss, event.layers,
                                     event.histograms)
        elif isinstance(event, ClipCount):
            store.record_clipping(event.run_id, event.epoch, event.steps, event.clipped_steps)
        elif isinstance(event, RunDiverged):
            store.record_diverged(event.run_id, event.epoch, event.step, event.reason)
        elif isinstance(event, RunEnd):
            store.record_end(
                event.run_id,
                best_epoch=event.best_epoch,
                test_loss=event.test_loss,
                test_accuracy=event.test_accuracy,
                val_loss=event.val_loss,
                val_accuracy=event.val_accuracy,
                seconds_per_epoch=event.seconds_per_epoch,
            )
            if event.points:
                store.record_points(event.run_id, event.points)
