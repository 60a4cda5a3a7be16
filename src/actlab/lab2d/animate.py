"""Both panels over training as an animation: GIF (matplotlib's PillowWriter) or MP4 (FFMpegWriter, if ffmpeg exists)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from actlab.errors import ActlabError
from actlab.lab2d.figures import boundary_figure, draw_all
from actlab.lab2d.train import TrainedRow

__all__ = ["FORMATS", "animate", "check_output"]

FORMATS = (".gif", ".mp4")


def check_output(path: Path) -> str:
    """The writer for ``path`` ("pillow" or "ffmpeg"); a clear error for other suffixes or a missing ffmpeg."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ActlabError(f"--animate: write a .gif or .mp4 file, got {suffix or '(no extension)'!r} in {str(path)!r}")
    if suffix == ".mp4":
        if shutil.which("ffmpeg") is None:
            raise ActlabError("--animate: .mp4 needs ffmpeg on the PATH (not found); write a .gif instead")
        return "ffmpeg"
    return "pillow"


def _at(dataset, trained: TrainedRow, summary: dict[str, Any], weights: dict[str, Any]) -> dict[str, Any]:
    """The row's summary with the shown seed's accuracies at this snapshot (for the frame's title)."""
    k = summary["shown_index"]
    frame = dict(summary, seeds=[summary["shown_seed"]])
    far = dataset.extra.get("extrapolation")
    splits = (("train_accuracy", dataset.x_train, dataset.y_train), ("test_accuracy", dataset.x_test, dataset.y_test),
              ("extrapolation_accuracy", *(far if far is not None else (None, None))))
    for key, x, y in splits:
        if x is None:
            continue
        predicted = (trained.logits(x, weights)[k] > 0).long()
        frame[key], frame[key + "_std"] = float((predicted == y).float().mean()), None
    return frame


def animate(path: Path, dataset, trained: list[TrainedRow], summaries: list[dict[str, Any]], *, fps: int = 6,
            dpi: int = 72) -> int:
    """Write one frame per stored snapshot (``BoundaryConfig.snapshots``); returns the frame count."""
    from matplotlib.animation import FFMpegWriter, PillowWriter
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    kind = check_output(path)
    frames = min(len(t.snapshots) for t in trained)
    if frames == 0:
        raise ActlabError("--animate: no snapshots were kept (train with snapshots > 0)")
    steps = trained[0].config.steps
    figure = boundary_figure(dataset, trained, summaries)
    FigureCanvasAgg(figure)
    writer = PillowWriter(fps=fps) if kind == "pillow" else FFMpegWriter(fps=fps)
    try:
        with writer.saving(figure, str(path), dpi):
            for i in range(frames):
                epoch = trained[0].snapshots[i][0]
                weights = [t.snapshots[i][1] for t in trained]
                frame = [_at(dataset, t, s, w) for t, s, w in zip(trained, summaries, weights)]
                draw_all(figure, dataset, trained, frame, weights=weights, subtitle=f"step {epoch} of {steps}")
                writer.grab_frame()
    except OSError as error:
        raise ActlabError(f"cannot write {path}: {error}") from None
    return frames
