"""Exporting a sweep's runs and epochs: CSV, Parquet, TensorBoard scalars and HParams (and, with diagnostics,
per-layer scalars and activation histograms)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from actlab.store.atomic import replacing, staged_directory
from actlab.store.db import Store, make_dir

AGAIN = "run the export again"  # what to do after a full disk or a file-size limit: nothing half-written is left

# ----------------------------------------------------------------- export
_RUN_COLUMNS = (
    "run_id", "activation", "label", "params", "seed", "lr", "status", "diverged_epoch", "diverged_step",
    "reason", "wall_seconds", "started", "finished", "best_epoch", "test_loss", "test_accuracy",
    "val_loss", "val_accuracy", "seconds_per_epoch", "n_parameters",
)
_EPOCH_COLUMNS = ("run_id", "epoch", "step", "train_loss", "val_loss", "val_accuracy", "seconds")


def _tables(run_dir: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from actlab.store.sizes import read_sizes

    with Store(run_dir, readonly=True) as store:
        runs = []
        sizes = read_sizes(store)
        for row in store.runs():
            data = row.to_dict()
            data["params"] = json.dumps(data["params"], sort_keys=True)
            size = sizes.get(data["label"])
            data["n_parameters"] = None if size is None else size.n_parameters
            runs.append({key: data[key] for key in _RUN_COLUMNS})
        epochs = [row.to_dict() for row in store.epochs()]
    return runs, epochs


STEP_COLUMNS = ("run_id", "step", "train_loss")
POINT_COLUMNS = ("run_id", "criterion", "epoch", "step", "test_loss", "test_accuracy", "val_loss", "val_accuracy")
STEP_SCORE_COLUMNS = ("run_id", "label", "seed", "lr", "steps", "last_steps", "mean_train_loss")


def step_scores(run_dir: str | Path, last: int) -> list[dict[str, Any]]:
    """Per run with stored step losses (``log_every_step``): the mean training loss of its last ``last`` steps
    (fewer when it took fewer; NaN/inf losses make it None) — MNIST-1D's score."""
    import math

    with Store(run_dir, readonly=True) as store:
        runs = store.runs()
        by_run: dict[str, list[float | None]] = {}
        for row in store.steps():
            by_run.setdefault(row.run_id, []).append(row.train_loss)
    scores = []
    for run in runs:
        losses = by_run.get(run.run_id)
        if not losses:
            continue
        tail = losses[-int(last):]
        finite = all(v is not None and math.isfinite(v) for v in tail)
        scores.append({"run_id": run.run_id, "label": run.label, "seed": run.seed, "lr": run.lr,
                       "steps": len(losses), "last_steps": len(tail),
                       "mean_train_loss": sum(tail) / len(tail) if finite else None})  # type: ignore[arg-type]
    return scores


_LAYER_CSV_COLUMNS = ("run_id", "epoch", "layer", "step", "loss", "speed", "weight_grad_norm", "mean", "std",
                      "saturated_fraction", "zero_fraction", "dead_fraction", "units")


def to_csv(run_dir: str | Path, out_dir: str | Path, last_steps: int | None = None) -> list[Path]:
    """``runs.csv`` (one row per run, the reported point's metrics included), ``epochs.csv`` (one row per
    evaluation point) and ``points.csv`` (every reportable point: best-val-loss, best-val-acc, final); with
    ``log_every_step`` also ``steps.csv`` (run_id, step, train_loss) and, given ``last_steps``,
    ``step_scores.csv`` (:func:`step_scores`); with diagnostics ``layers.csv`` (one row per run, epoch and
    hidden layer; no histograms)."""
    import csv

    runs, epochs = _tables(run_dir)
    with Store(run_dir, readonly=True) as store:
        layers = [{k: row.to_dict()[k] for k in _LAYER_CSV_COLUMNS} for row in store.layer_stats()]
        steps = [row.to_dict() for row in store.steps()]
        points = [row.to_dict() for row in store.points()]
    out = Path(out_dir)
    make_dir(out)
    written = []
    tables = [("runs.csv", _RUN_COLUMNS, runs), ("epochs.csv", _EPOCH_COLUMNS, epochs)]
    tables += [("points.csv", POINT_COLUMNS, points)] if points else []
    tables += [("steps.csv", STEP_COLUMNS, steps)] if steps else []
    if steps and last_steps is not None:
        tables.append(("step_scores.csv", STEP_SCORE_COLUMNS, step_scores(run_dir, last_steps)))
    tables += [("layers.csv", _LAYER_CSV_COLUMNS, layers)] if layers else []
    for name, columns, rows in tables:
        path = out / name
        with replacing(path, again=AGAIN) as temporary, temporary.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(columns))
            writer.writeheader()
            writer.writerows(rows)
        written.append(path)
    return written


def to_parquet(run_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """``runs.parquet`` and ``epochs.parquet`` (same columns as the CSV files)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    runs, epochs = _tables(run_dir)
    out = Path(out_dir)
    make_dir(out)
    types = {
        "seed": pa.int64(), "diverged_epoch": pa.int64(), "diverged_step": pa.int64(), "best_epoch": pa.int64(),
        "epoch": pa.int64(), "step": pa.int64(),
    }
    written = []
    for name, columns, rows in (("runs.parquet", _RUN_COLUMNS, runs), ("epochs.parquet", _EPOCH_COLUMNS, epochs)):
        fields = []
        for column in columns:
            if column in types:
                kind = types[column]
            elif column in ("run_id", "activation", "label", "params", "status", "reason", "started", "finished"):
                kind = pa.string()
            else:
                kind = pa.float64()
            fields.append(pa.field(column, kind))
        schema = pa.schema(fields)
        table = pa.Table.from_pylist(rows, schema=schema) if rows else schema.empty_table()
        path = out / name
        with replacing(path, again=AGAIN) as temporary:
            pq.write_table(table, temporary)
        written.append(path)
    return written


def _safe_dirname(run_id: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_.=" else "_" for c in run_id)
    return keep.strip("._") or "run"


_LAYER_TAGS = ("speed", "weight_grad_norm", "dead_fraction", "saturated_fraction", "zero_fraction", "mean", "std")


def _write_layer_stats(writer: Any, rows: list[Any]) -> None:
    """``layer{l}/speed`` etc. per epoch (0 = init) and ``activations/layer{l}`` histograms."""
    for row in rows:
        for tag in _LAYER_TAGS:
            value = getattr(row, tag)
            if value is not None:
                writer.add_scalar(f"layer{row.layer}/{tag}", value, global_step=row.epoch)
        hist = row.histogram
        if hist and hist.get("num"):
            counts = hist["counts"]
            low, high = hist["min"], hist["max"]
            width = (high - low) / len(counts)
            limits = [low + width * (k + 1) for k in range(len(counts))] if high > low else [high]
            writer.add_histogram_raw(f"activations/layer{row.layer}", min=low, max=high, num=hist["num"],
                                     sum=hist["sum"], sum_squares=hist["sum_squares"], bucket_limits=limits,
                                     bucket_counts=counts, global_step=row.epoch)


HPARAM_METRICS = ("hparams/final_val_loss", "hparams/final_val_accuracy", "hparams/best_val_loss",
                  "hparams/best_val_accuracy", "hparams/test_loss", "hparams/test_accuracy")


def _write_hparams(writer: Any, run: Any, epochs: list[Any], config: dict[str, Any]) -> None:
    """The HParams plugin's session for one run (activation, lr, seed, width, depth → final/best/test metrics),
    in the run's own directory; each metric is also a scalar under its tag, which is where the plugin reads it."""
    from torch.utils.tensorboard.summary import hparams

    hparam_values: dict[str, Any] = {
        "activation": run.label or run.activation,
        "lr": float(run.lr if run.lr is not None else config.get("lr") or 1e-3),
        "seed": int(run.seed),
        "width": int(config.get("width") or 0),
        "depth": int(config.get("depth") or 0),
        "status": run.status,
    }
    last = epochs[-1] if epochs else None
    metrics = {
        "hparams/final_val_loss": last.val_loss if last else None,
        "hparams/final_val_accuracy": last.val_accuracy if last else None,
        "hparams/best_val_loss": run.val_loss,
        "hparams/best_val_accuracy": run.val_accuracy,
        "hparams/test_loss": run.test_loss,
        "hparams/test_accuracy": run.test_accuracy,
    }
    # the plugin lists every metric of the experiment; a missing value is NaN (shown blank), never dropped
    metric_values = {k: float("nan") if v is None else float(v) for k, v in metrics.items()}
    experiment, session_start, session_end = hparams(hparam_values, metric_values)
    for summary in (experiment, session_start, session_end):
        writer.file_writer.add_summary(summary)
    step = last.epoch if last else 0
    for tag, value in metrics.items():
        if value is not None:
            writer.add_scalar(tag, value, global_step=step)


def to_tensorboard(run_dir: str | Path, log_dir: str | Path) -> list[Path]:
    """TensorBoard event files: one subdirectory per run, scalars train_loss / val_loss / val_accuracy per epoch,
    and the HParams plugin's data (activation, lr, seed, width, depth; final/best validation and test metrics,
    tags ``hparams/…``) so the HParams table and parallel-coordinates views work; with diagnostics
    ``layer{l}/speed`` … per epoch and ``activations/layer{l}`` histograms; ``clipped_fraction``."""
    from torch.utils.tensorboard import SummaryWriter

    with Store(run_dir, readonly=True) as store:
        runs = store.runs()
        epochs = {run.run_id: store.epochs(run.run_id) for run in runs}
        layer_stats = {run.run_id: store.layer_stats(run.run_id) for run in runs}
        clipping = store.clipping()
        config = (store.sweep() or {}).get("config", {})
    out = Path(log_dir)
    make_dir(out)
    written = []
    used: set[str] = set()
    for run in runs:
        name = _safe_dirname(run.run_id)
        while name in used:
            name += "_"
        used.add(name)
        # a re-export replaces, never doubles, the curves; a failed one leaves the previous ones in place
        with staged_directory(out / name, "events.out.tfevents.*", again=AGAIN) as staging:
            writer = SummaryWriter(log_dir=str(staging))
            try:
                for row in epochs[run.run_id]:
                    for tag in ("train_loss", "val_loss", "val_accuracy"):
                        value = getattr(row, tag)
                        if value is not None:
                            writer.add_scalar(tag, value, global_step=row.epoch)
                _write_layer_stats(writer, layer_stats[run.run_id])
                if run.run_id in clipping:
                    steps, clipped = clipping[run.run_id]
                    writer.add_scalar("clipped_fraction", clipped / steps if steps else 0.0, global_step=steps)
                _write_hparams(writer, run, epochs[run.run_id], config)
                if run.status == "diverged":
                    writer.add_text("status", f"diverged at epoch {run.diverged_epoch}, step {run.diverged_step}: {run.reason}")
            finally:
                writer.close()
        written.extend(sorted((out / name).glob("events.out.tfevents.*")))
    return written
