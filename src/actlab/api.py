"""``actlab.compare``: the comparison from Python (a notebook), through the same sweep, store and report as the CLI.

>>> result = actlab.compare(build, (x, y), acts=["relu", "gelu"], seeds=3, epochs=5)   # doctest: +SKIP
>>> result            # in a notebook: the decision's headline and the table
>>> print(result.table()); result.recommend(); result.report("report-dir"); result.plot()

``model``: a function that builds an ``nn.Module`` (it may take ``act_layer``, ``input_shape``, ``n_outputs``:
:mod:`actlab.models.user`), a reference ``"FILE.py:FUNCTION"`` / ``"package.module:FUNCTION"``, or a built-in
model name (``"mlp"``, ``"cnn"``, ``"snn"``).  ``data``: a dataset name, a CSV/npz file or an image folder (as
``--dataset``), a tuple ``(x, y)`` of tensors or arrays, or any ``torch.utils.data.Dataset`` of ``(x, y)``
pairs.  In-memory data is written once into the output folder as ``data-<hash>.npz`` (the hash of its bytes,
so the sweep's fingerprint follows the data) and split like any npz file (stratified 60/20/20).  Every other
keyword is a ``compare`` option (``epochs=``, ``optimizer=``, ``report_at=``, ``diagnostics=``, …: the keys of
:data:`actlab.sweep.options.DEFAULTS`).  ``out``: the run folder (None: a new temporary folder); running the same
call into the same folder resumes.
"""
from __future__ import annotations

import hashlib
import html
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actlab.errors import ActlabError

__all__ = ["compare", "CompareResult", "Recommendation"]


def _model_reference(model: Any) -> str:
    if isinstance(model, str):
        return model
    from actlab.models.user import register_callable

    return register_callable(model)


def _arrays(data: Any) -> tuple[Any, Any]:
    """(x, y) as NumPy arrays from a tuple of tensors/arrays or a torch Dataset of (x, y) pairs."""
    import numpy as np
    import torch

    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
    elif isinstance(data, torch.utils.data.Dataset):
        try:
            size = len(data)  # type: ignore[arg-type]
        except TypeError:
            raise ActlabError("the torch Dataset has no len(); give a map-style Dataset or (x, y) tensors") from None
        if size == 0:
            raise ActlabError("the torch Dataset is empty")
        pairs = [data[i] for i in range(size)]
        if not all(isinstance(p, (tuple, list)) and len(p) >= 2 for p in pairs[:1]):
            raise ActlabError("each item of the torch Dataset must be an (x, y) pair")
        x = torch.stack([torch.as_tensor(p[0]) for p in pairs])
        y = torch.stack([torch.as_tensor(p[1]) for p in pairs])
    else:
        raise ActlabError(f"data must be a dataset name or path, (x, y) tensors or a torch Dataset, got "
                          f"{type(data).__name__}")
    x = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x)
    y = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y)
    if len(x) != len(y):
        raise ActlabError(f"x has {len(x)} examples but y has {len(y)} labels")
    if x.dtype.kind not in "biuf":
        raise ActlabError(f"x must be numeric, got dtype {x.dtype}")
    return x.astype(np.float32), y


def _data_file(data: Any, out: Path) -> str:
    import numpy as np

    x, y = _arrays(data)
    digest = hashlib.sha256()
    for array in (x, y):
        digest.update(f"{array.dtype.str}|{array.shape}|".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    path = out / f"data-{digest.hexdigest()[:16]}.npz"
    if not path.is_file():
        out.mkdir(parents=True, exist_ok=True)
        np.savez(path, X=x, y=y)
    return str(path)


class _Progress:
    """Epochs done over all runs, as a tqdm.auto bar (a widget in notebooks) or a rich bar; notes printed above."""

    def __init__(self, total: int, notes: list[str]) -> None:
        self.notes = notes
        try:
            from tqdm.auto import tqdm

            self.bar: Any = tqdm(total=total, desc="compare", unit="epoch")
            self.write = self.bar.write
            self.rich = None
        except ImportError:
            from rich.console import Console
            from rich.progress import Progress

            console = Console(stderr=True)  # rich draws with Jupyter's display in a notebook
            self.rich = Progress(console=console)
            self.task = self.rich.add_task("compare", total=total)
            self.rich.start()
            self.write = console.print
        for note in notes:
            self.write(note)

    def __call__(self, event: Any) -> None:
        name = type(event).__name__
        if name == "EpochEnd":
            self.advance(1)
        elif name == "EngineNote":
            self.notes.append(f"{event.run_id.split('/')[0]}: {event.engine} engine ({event.reason})")
            self.write(self.notes[-1])

    def advance(self, count: int) -> None:
        if self.rich is not None:
            self.rich.advance(self.task, count)
        else:
            self.bar.update(count)

    def close(self) -> None:
        if self.rich is not None:
            self.rich.stop()
        else:
            self.bar.close()


def compare(model: Any, data: Any, *, acts: Sequence[str] | str | None = None, seeds: int = 3,
            out: str | Path | None = None, progress: bool = True,
            should_stop: Callable[[], bool] | None = None, **options: Any) -> CompareResult:
    """Train ``model`` with each of ``acts`` over ``seeds`` seeds on ``data``; store, report, return the result.

    See the module docstring for what ``model`` and ``data`` may be.  Raises :class:`ActlabError` naming the
    problem for bad input (a model function that raises, an output shape that does not match the classes, …).
    """
    from actlab.sweep.plan import plan_from_options
    from actlab.sweep.run import run_sweep

    folder = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="actlab-compare-"))
    if isinstance(data, (str, Path)):
        dataset = str(data)
    else:
        dataset = _data_file(data, folder)
    merged: dict[str, Any] = {**options, "model": _model_reference(model), "dataset": dataset, "seeds": seeds,
                              "out": str(folder)}
    if acts is not None:
        merged["acts"] = acts
    plan = plan_from_options(merged)
    notes = [plan.config["model_note"]] if plan.config.get("model_note") else []
    display = _Progress(len(plan.runs) * plan.eval_points, notes) if progress else None
    try:
        outcome = run_sweep(plan, command=_command(merged), on_event=display, should_stop=should_stop)
    finally:
        if display is not None:
            display.close()
    result = CompareResult(plan.out, notes=display.notes if display is not None else notes,
                           interrupted=outcome.interrupted)
    if not outcome.interrupted:
        result.report()
    return result


def _command(options: dict[str, Any]) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in options.items() if k not in ("model", "dataset", "out"))
    return f"actlab.compare({options['model']!r}, {options['dataset']!r}, {shown})"


@dataclass(frozen=True)
class Recommendation:
    """The report's decision: the activation to use, the one-line pick and the headline behind it."""

    activation: str | None
    pick: str
    headline: str
    indistinguishable: tuple[str, ...]
    worse: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.pick} {self.headline}".strip()


class CompareResult:
    """A finished (or interrupted) comparison, read from its store in ``out``."""

    def __init__(self, out: str | Path, *, notes: Sequence[str] = (), interrupted: bool = False) -> None:
        self.out = Path(out)
        self.notes = list(notes)
        self.interrupted = interrupted
        self._cache: tuple[Any, Any] | None = None

    def _decided(self) -> tuple[Any, Any]:
        if self._cache is None:
            from actlab.report import decide, summarize

            data = summarize(self.out)
            self._cache = (data, decide(data))
        return self._cache

    def rows(self) -> list[dict[str, Any]]:
        """One dict per activation, best first: mean and std of the test metric, runs, the verdict."""
        data, decision = self._decided()
        group = {s.label for s in decision.group}
        rows = []
        for s in data.summaries:
            if decision.recommended is not None and s.label == decision.recommended.label:
                verdict = "recommended"
            elif decision.best is not None and s.label == decision.best.label:
                verdict = "best mean"
            elif s.label in group:
                verdict = "indistinguishable from the best"
            elif s.mean is None:
                verdict = "no finished run"
            else:
                verdict = "worse than the best"
            rows.append({"activation": s.label, "metric": "test_accuracy" if data.classification else "test_loss",
                         "mean": s.mean, "std": s.std, "finished": len(s.finished), "runs": len(s.runs),
                         "diverged": len(s.diverged), "verdict": verdict})
        return rows

    def _cells(self) -> list[tuple[str, str, str, str]]:
        data, _ = self._decided()
        cells = []
        for row in self.rows():
            if row["mean"] is None:
                value = "—"
            elif data.classification:
                value = f"{100 * row['mean']:.2f} ± {100 * (row['std'] or 0):.2f} %"
            else:
                value = f"{row['mean']:.4g} ± {row['std'] or 0:.2g}"
            cells.append((row["activation"], value, f"{row['finished']}/{row['runs']}", row["verdict"]))
        return cells

    def _header(self) -> tuple[str, str, str, str]:
        data, _ = self._decided()
        return ("activation", "test accuracy" if data.classification else "test loss", "runs", "verdict")

    def table(self) -> str:
        """The ranking as a plain-text table (no pandas needed)."""
        lines = [self._header(), *self._cells()]
        widths = [max(len(line[i]) for line in lines) for i in range(4)]
        text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines]
        text.insert(1, "  ".join("-" * width for width in widths))
        return "\n".join(text)

    def to_pandas(self) -> Any:
        """The rows as a ``pandas.DataFrame`` (pandas must be installed)."""
        try:
            import pandas
        except ImportError:
            raise ActlabError("to_pandas needs pandas (pip install pandas); table() and rows() do not") from None
        return pandas.DataFrame(self.rows())

    def recommend(self) -> Recommendation:
        """The decision the report states (which activation, and how sure)."""
        from actlab.report.render import pick_line

        data, decision = self._decided()
        return Recommendation(None if decision.recommended is None else decision.recommended.label,
                              pick_line(data, decision), decision.headline,
                              tuple(s.label for s in decision.group), tuple(s.label for s in decision.worse))

    def report(self, path: str | Path | None = None) -> dict[str, Path]:
        """Write report.html and report.md into ``path`` (default: the run folder); their paths."""
        from actlab.report import write_report

        return write_report(self.out, out_dir=path)

    def plot(self, ax: Any = None) -> Any:
        """Mean test metric per activation with ±1 std bars (matplotlib); the figure."""
        import matplotlib.pyplot as plt

        from actlab.palette import color_for

        data, _ = self._decided()
        rows = [row for row in self.rows() if row["mean"] is not None]
        if ax is None:
            figure, ax = plt.subplots(figsize=(1.2 + 0.8 * max(len(rows), 1), 3.2))
        else:
            figure = ax.figure
        scale = 100.0 if data.classification else 1.0
        ax.bar([r["activation"] for r in rows], [scale * r["mean"] for r in rows],
               yerr=[scale * (r["std"] or 0.0) for r in rows], capsize=3,
               color=[color_for(r["activation"]) for r in rows])
        ax.set_ylabel("test accuracy (%)" if data.classification else "test loss")
        if data.classification and rows:
            low = min(scale * (r["mean"] - (r["std"] or 0.0)) for r in rows)
            ax.set_ylim(max(0.0, low - 5.0), min(100.0, max(scale * r["mean"] for r in rows) + 3.0))
        ax.set_title("mean ± std over seeds")
        figure.tight_layout()
        return figure

    def _repr_html_(self) -> str:
        recommendation = self.recommend()

        def row(cells: Sequence[str], tag: str) -> str:
            return "<tr>" + "".join(f"<{tag}>{html.escape(cell)}</{tag}>" for cell in cells) + "</tr>"

        body = "".join(row(cells, "td") for cells in self._cells())
        return (f"<div><p><b>{html.escape(recommendation.pick)}</b> {html.escape(recommendation.headline)}</p>"
                f"<table><thead>{row(self._header(), 'th')}</thead><tbody>{body}</tbody></table>"
                f"<p><small>{html.escape(str(self.out))}</small></p></div>")

    def __repr__(self) -> str:
        return f"{self.recommend()}\n{self.table()}"
