"""Activation modules outside actlab: ``torch.export`` and ONNX, and the check that each record's declaration holds.

``round_trip(spec)`` exports ``actlab.nn.create(spec)`` (eval mode, float32, a dynamic batch dimension) with
``torch.export`` and runs the program; then writes ONNX (opset :data:`OPSET`, torch's ``torch.export``-based
exporter) and runs it in onnxruntime.  Both must match the module to :data:`TOLERANCE` on inputs that cover
the record's kinks (at them and just beside them), the origin and the tails, at a batch size other than the
exported one.

A record that does not export says why in ``export_limits`` (``{"onnx": "reason"}``, one line in the record);
:func:`check_export` fails in both directions: an undeclared failure, and a declared failure that no longer
fails (a stale declaration).  ONNX export needs ``pip install 'actlab[export]'`` (onnx, onnxscript,
onnxruntime).

>>> check_export("gelu")  # doctest: +SKIP
{'torch.export': None, 'onnx': None}
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

import torch
from torch import Tensor

from actlab.errors import ActlabError
from actlab.nn.factory import create
from actlab.resolve import get
from actlab.spec import EXPORTERS, ActivationSpec

__all__ = ["OPSET", "TOLERANCE", "sample_input", "export_program", "to_onnx", "run_onnx", "round_trip",
           "check_export"]

OPSET = 18  # the opset torch's exporter writes natively (no version conversion); ONNX Softmax on any axis since 13
TOLERANCE = 1e-5  # |exported − module| <= TOLERANCE·(1 + |module|), float32
# the origin, the flanks and the tails (float32 saturates, underflows and overflows out there)
POINTS = (-100.0, -30.0, -10.0, -3.3, -1.0, -0.37, -1e-3, 0.0, 1e-3, 0.37, 1.0, 2.5, 10.0, 30.0, 100.0)
EXPORTED_BATCH, CHECKED_BATCH = 2, 3  # the program is exported with one batch size and run with another


def _spec(activation: ActivationSpec | str) -> ActivationSpec:
    return activation if isinstance(activation, ActivationSpec) else get(activation)


def sample_input(activation: ActivationSpec | str, batch: int = CHECKED_BATCH) -> Tensor:
    """float32 inputs (batch, n): :data:`POINTS` plus each kink and kink ± 1e-3, inside the domain; row r is the
    points rolled by r (different groups for maxout, different rows for softmax); n is a multiple of maxout's k."""
    spec = _spec(activation)
    low, high = spec.domain
    values = set(POINTS)
    for kink in spec.kink_points():
        values.update((kink - 1e-3, kink, kink + 1e-3))
    points = sorted(v for v in values if low < v < high)
    if not points:
        raise ValueError(f"{spec.name}: none of the sample points lies inside its domain {spec.domain}")
    k = spec.width_divisor
    points += points[: (-len(points)) % k]  # whole groups of k for maxout
    row = torch.tensor(points, dtype=torch.float32)
    return torch.stack([row.roll(r) for r in range(batch)])


def export_program(module: torch.nn.Module, x: Tensor) -> torch.export.ExportedProgram:
    """``torch.export.export(module, (x,))`` with dimension 0 (the batch) dynamic."""
    batch = torch.export.Dim("batch", min=1)
    return torch.export.export(module, (x,), dynamic_shapes=({0: batch},))


def to_onnx(program: torch.export.ExportedProgram | torch.nn.Module, x: Tensor) -> bytes:
    """The serialised ONNX model (opset :data:`OPSET`) of an exported program (or a module, exported first)."""
    _require_onnx()
    if isinstance(program, torch.nn.Module):
        program = export_program(program, x)
    onnx_program = torch.onnx.export(program, (x,), dynamo=True, opset_version=OPSET, verbose=False)
    return onnx_program.model_proto.SerializeToString()


def run_onnx(model: bytes, x: Tensor) -> Tensor:
    """Run a serialised ONNX model on ``x`` in onnxruntime (CPU); the first output, as a tensor."""
    _require_onnx()
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    (output, *_) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    return torch.from_numpy(output)


def _require_onnx() -> None:
    missing = [name for name in ("onnx", "onnxscript", "onnxruntime") if not _importable(name)]
    if missing:
        raise ActlabError(f"ONNX export needs {', '.join(missing)}: pip install 'actlab[export]'")


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def mismatch(got: Tensor, expected: Tensor) -> str | None:
    """None when ``got`` matches ``expected`` to :data:`TOLERANCE` (same shape, NaN and ±inf in the same places),
    else where and by how much it misses."""
    if got.shape != expected.shape:
        return f"shape {tuple(got.shape)} instead of {tuple(expected.shape)}"
    got, expected = got.double(), expected.double()
    same_special = (got.isnan() & expected.isnan()) | (got.isinf() & (got == expected))
    error = ((got - expected).abs() / (1 + expected.abs())).where(~same_special, 0.0).nan_to_num(nan=math.inf)
    worst = int(error.argmax())
    if error.reshape(-1)[worst] <= TOLERANCE:
        return None
    at = expected.reshape(-1)[worst]
    return (f"{got.reshape(-1)[worst].item():.9g} instead of {at.item():.9g} (relative error "
            f"{error.reshape(-1)[worst].item():.2g} > {TOLERANCE:g}) at input {_input_at(worst, got.shape)}")


def _input_at(flat: int, shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(i) for i in _unravel(flat, shape)) + "]"


def _unravel(flat: int, shape: Sequence[int]) -> list[int]:
    index = []
    for size in reversed(shape):
        index.append(flat % size)
        flat //= size
    return index[::-1]


def round_trip(activation: ActivationSpec | str, exporters: Sequence[str] = EXPORTERS) -> dict[str, str | None]:
    """Exporter -> None where the module round-trips, else what went wrong (measured, whatever is declared);
    only the ``exporters`` named (``("torch.export",)`` skips the slower ONNX step).

    The exporters raise many exception types for one outcome, "this does not export"; each becomes the
    message returned here, and :func:`check_export` turns an undeclared one into a failure."""
    spec = _spec(activation)
    module = create(spec).eval()
    exported_x, x = sample_input(spec, EXPORTED_BATCH), sample_input(spec, CHECKED_BATCH)
    with torch.no_grad():
        expected = module(x)
    unknown = set(exporters) - set(EXPORTERS)
    if unknown:
        raise ValueError(f"exporters must be among {EXPORTERS}, got {sorted(unknown)}")
    status: dict[str, str | None] = dict.fromkeys(exporters)
    try:
        program = export_program(module, exported_x)
        with torch.no_grad():
            status["torch.export"] = mismatch(program.module()(x), expected)
    except Exception as error:  # reported as this exporter's outcome, not swallowed
        status["torch.export"] = _failure(error)
        if "onnx" in status:
            status["onnx"] = f"the ONNX exporter starts from torch.export, which fails: {status['torch.export']}"
        return status
    if "onnx" not in status:
        return status
    try:
        model = to_onnx(program, exported_x)
    except ActlabError:
        raise
    except Exception as error:  # reported as this exporter's outcome, not swallowed
        status["onnx"] = _failure(error)
        return status
    status["onnx"] = mismatch(run_onnx(model, x), expected)
    return status


def _failure(error: BaseException) -> str:
    """The root cause's first line (the exporters wrap it: "step 3/3 failed" → "no ONNX function for hypot")."""
    while error.__cause__ is not None:
        error = error.__cause__
    lines = [line.strip() for line in re.sub(r"\x1b\[[0-9;]*m", "", str(error)).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:300]


def check_export(activation: ActivationSpec | str, exporters: Sequence[str] = EXPORTERS) -> dict[str, str | None]:
    """Assert that ``activation`` exports wherever its record does not declare otherwise, and that every declared
    limit still holds (for the ``exporters`` named); returns the measured :func:`round_trip` status."""
    spec = _spec(activation)
    measured = round_trip(spec, exporters)
    declared = spec.export_status()
    problems: list[str] = []
    for exporter in measured:
        if measured[exporter] and not declared[exporter]:
            problems.append(f"{exporter} fails ({measured[exporter]}); fix the module, or declare why in the record: "
                            f"export_limits={{{exporter!r}: '...'}}")
        elif declared[exporter] and not measured[exporter]:
            problems.append(f"{exporter} round-trips, but the record declares it does not ({declared[exporter]}): "
                            "remove the stale export_limits entry")
    if problems:
        raise AssertionError(f"{spec.name}: " + "; ".join(problems))
    return measured

