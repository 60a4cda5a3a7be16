"""The user's own data: a CSV file (header row; feature columns plus a label
column named by ``target``) or an ``.npz`` file (arrays ``X`` and ``y``).

Every problem is an :class:`ActlabError` that names the file and, for CSV,
the line and column: missing target column (with the columns and a close
match), empty file, ragged row, non-numeric or empty cell, a quoted cell that
spans lines, NaN/inf or a value beyond float32's range (features and labels),
more than :data:`~actlab.data.limits.MAX_COLUMNS` columns, a single class, a
missing file, a file that is not a ``.npz`` archive.

Task: labels that are not numbers, or integer-valued numbers with at most
:data:`MAX_CLASSES` distinct values, make a classification set (labels are
remapped to 0..K-1 in sorted order; ``extra["classes"]`` keeps the original
values); other numeric labels make a regression set. ``task=`` overrides.
Split: seeded (stratified for classification), test 20 %, validation 20 %,
train the rest.
"""
from __future__ import annotations

import csv
import io
import math
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from actlab.data.base import Dataset
from actlab.data.limits import MAX_COLUMNS
from actlab.data.splits import (
    assemble,
    check_bool,
    check_choice,
    check_fraction,
    check_int,
    split_indices,
)
from actlab.errors import ActlabError, ParameterError, suggest

__all__ = ["FILE_SUFFIXES", "MAX_CLASSES", "looks_like_path", "load_file"]

FILE_SUFFIXES = (".csv", ".npz")
MAX_CLASSES = 20
FLOAT32_MAX = float(np.finfo(np.float32).max)  # features are float32: larger values would become inf
_TARGET_GUESSES = ("label", "target")  # used when target= is not given and exactly one is present


def looks_like_path(name: str) -> bool:
    """True when ``name`` should be read as a file rather than a dataset name."""
    text = str(name)
    return text.lower().endswith(FILE_SUFFIXES) or "/" in text or "\\" in text or Path(text).is_file()


def load_file(
    path: str | Path,
    *,
    target: str | None = None,
    task: str | None = None,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    standardize: bool = False,
    subset: int | None = None,
) -> Dataset:
    """Load a CSV or ``.npz`` file as a :class:`Dataset` (see the module docstring)."""
    path = Path(path).expanduser()
    task = check_choice("task", task, (None, "classification", "regression"))
    val_fraction = check_fraction("val_fraction", val_fraction)
    test_fraction = check_fraction("test_fraction", test_fraction)
    seed = check_int("seed", seed, minimum=0)
    standardize = check_bool("standardize", standardize)
    subset = check_int("subset", subset, minimum=1, allow_none=True)
    if val_fraction + test_fraction >= 1.0:
        raise ParameterError(f"val_fraction + test_fraction must be < 1, got {val_fraction} + {test_fraction}")
    if target is not None and not isinstance(target, str):
        raise ParameterError(f"option target must be a column name, got {target!r}")
    if not path.exists():
        raise ActlabError(f"no such file: {str(path)!r}")
    if path.is_dir():
        raise ActlabError(f"{str(path)!r} is a directory, not a data file; give a .csv or .npz file")
    if not path.is_file():
        raise ActlabError(f"{str(path)!r} is not a regular file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        x, labels, feature_names, target = _read_csv(path, target)
    elif suffix == ".npz":
        x, labels, feature_names, target = _read_npz(path, target)
    else:
        raise ActlabError(f"{path}: unsupported file type {suffix or '(none)'!r}; use .csv or .npz")

    y, task, classes = _labels(path, labels, task)
    n = len(y)
    n_test, n_val = round(n * test_fraction), round(n * val_fraction)
    if n - n_test - n_val < 1:
        raise ActlabError(f"{path}: {n} rows leave no training rows after the validation and test splits")
    test_idx, val_idx, train_idx = split_indices(
        n, (n_test, n_val), np.random.default_rng(seed), y if task == "classification" else None
    )
    extra: dict[str, Any] = {"kind": "table", "path": str(path), "target": target, "feature_names": feature_names}
    if classes is not None:
        extra["classes"] = classes
    what = f"{len(classes)} classes" if classes is not None else "regression"
    return assemble(
        path.stem,
        {"train": (x[train_idx], y[train_idx]), "val": (x[val_idx], y[val_idx]), "test": (x[test_idx], y[test_idx])},
        task=task,
        num_classes=len(classes) if classes is not None else 0,
        input_shape=tuple(x.shape[1:]),
        description=f"{path.name}: {n} rows, target {target!r} ({what})",
        extra=extra,
        standardize=standardize,
        subset=subset,
        seed=seed,
    )


# --- CSV ------------------------------------------------------------------------------------------

def _read_csv(path: Path, target: str | None) -> tuple[np.ndarray, list[Any], list[str], str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ActlabError(f"{path} is not a UTF-8 text file ({error.reason} at byte {error.start})") from error
    if not text.strip():
        raise ActlabError(f"{path} is empty")
    reader = csv.reader(io.StringIO(text, newline=""))  # a quoted line break stays in its cell (and is refused)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue  # blank line
            if header is None:
                if len(row) > MAX_COLUMNS:
                    raise ActlabError(f"{path}: the header has {len(row)} columns; at most {MAX_COLUMNS} are read "
                                      "(features plus the label)")
                header = [cell.strip() for cell in row]
                _one_line(path, reader.line_num, header)
                continue
            _one_line(path, reader.line_num, row)
            rows.append((reader.line_num, row))
    except csv.Error as error:
        raise ActlabError(f"{path}, line {reader.line_num}: {error}") from error
    assert header is not None
    if any(not name for name in header):
        raise ActlabError(f"{path}: the header has an empty column name (column {header.index('') + 1})")
    duplicates = sorted(name for name, count in Counter(header).items() if count > 1)
    if duplicates:
        raise ActlabError(f"{path}: duplicate column name(s) in the header: {_listing(duplicates)}")
    if not rows:
        raise ActlabError(f"{path} has a header but no data rows")
    target = _pick_target(path, header, target)
    if len(header) < 2:
        raise ActlabError(f"{path}: no feature columns besides the target {target!r}")
    for line, row in rows:
        if len(row) != len(header):
            raise ActlabError(f"{path}, line {line}: {len(row)} cells but the header has {len(header)} columns (ragged row)")
    target_index = header.index(target)
    feature_names = [name for i, name in enumerate(header) if i != target_index]
    x = np.empty((len(rows), len(feature_names)), dtype=np.float64)
    labels: list[Any] = []
    for r, (line, row) in enumerate(rows):
        c = 0
        for i, cell in enumerate(row):
            if i == target_index:
                labels.append(_label_cell(path, line, header[i], cell))
                continue
            x[r, c] = _number(path, line, header[i], cell)
            c += 1
    return x.astype(np.float32), labels, feature_names, target


def _one_line(path: Path, line: int, row: list[str]) -> None:
    """A quoted cell holding a line break (``"1\n2"``) is refused: it is no number, and no class name either."""
    for i, cell in enumerate(row):
        if "\n" in cell or "\r" in cell:
            breaks = sum(len(text.splitlines()) - 1 + text.endswith(("\n", "\r")) for text in row)
            start = line - breaks  # the line the row starts on (``line`` is the one it ends on)
            raise ActlabError(f"{path}, line {start}, column {i + 1}: the quoted cell {cell!r} spans lines; "
                              "a cell must be on one line")


def _listing(names: list[str], most: int = 20) -> str:
    """``names`` joined, the first ``most`` of a long list and how many there are."""
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:most])}, … ({len(names)} in all)"


def _pick_target(path: Path, columns: list[str], target: str | None) -> str:
    if target is None:
        found = [name for name in columns if name.lower() in _TARGET_GUESSES]
        if len(found) == 1:
            return found[0]
        raise ActlabError(
            f"{path}: say which column holds the labels (--target / target=); columns: {_listing(columns)}"
        )
    if target in columns:
        return target
    matches = suggest(target, columns)
    hint = f"; did you mean {' or '.join(repr(m) for m in matches)}?" if matches else ""
    raise ActlabError(f"{path}: no column {target!r}; columns: {_listing(columns)}{hint}")


def _number(path: Path, line: int, column: str, cell: str) -> float:
    text = cell.strip()
    if not text:
        raise ActlabError(f"{path}, line {line}, column {column!r}: empty cell (missing value)")
    try:
        value = float(text)
    except ValueError:
        raise ActlabError(f"{path}, line {line}, column {column!r}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ActlabError(f"{path}, line {line}, column {column!r}: {text!r} is not finite (NaN/inf are not allowed)")
    if abs(value) > FLOAT32_MAX:
        raise ActlabError(
            f"{path}, line {line}, column {column!r}: {text!r} is beyond float32's range (|value| <= {FLOAT32_MAX:.4g}); "
            "rescale the column"
        )
    return value


def _label_cell(path: Path, line: int, column: str, cell: str) -> Any:
    text = cell.strip()
    if not text:
        raise ActlabError(f"{path}, line {line}, column {column!r}: empty label")
    try:
        value = float(text)
    except ValueError:
        return text  # a class name
    if not math.isfinite(value):
        raise ActlabError(f"{path}, line {line}, column {column!r}: label {text!r} is not finite (NaN/inf are not allowed)")
    if abs(value) > FLOAT32_MAX:  # a regression target would become inf in float32
        raise ActlabError(
            f"{path}, line {line}, column {column!r}: label {text!r} is beyond float32's range "
            f"(|value| <= {FLOAT32_MAX:.4g}); rescale the column"
        )
    return value


# --- npz ------------------------------------------------------------------------------------------

def _read_npz(path: Path, target: str | None) -> tuple[np.ndarray, list[Any], list[str], str]:
    target = target or "y"
    if not zipfile.is_zipfile(path):  # np.load would try it as .npy, then as a pickle (and hint at allow_pickle)
        raise ActlabError(f"{path} is not a valid .npz archive (not a zip file); save one with "
                          "np.savez(path, X=X, y=y)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            if not keys:
                raise ActlabError(f"{path} is empty (no arrays)")
            feature_key = next((k for k in ("X", "x") if k in keys), None)
            if feature_key is None:
                raise ActlabError(f"{path}: no array 'X'; arrays: {', '.join(keys)}")
            if target not in keys:
                matches = suggest(target, keys)
                hint = f"; did you mean {' or '.join(repr(m) for m in matches)}?" if matches else ""
                raise ActlabError(f"{path}: no label array {target!r}; arrays: {', '.join(keys)}{hint}")
            x = _array(path, archive, feature_key)
            y = _array(path, archive, target)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        if isinstance(error, ActlabError):
            raise
        if "allow_pickle" in str(error):  # numpy's hint would tell the user to enable pickles: never
            raise ActlabError(f"{path} is not a valid .npz archive (it holds pickled data, which actlab does not "
                              "load); save plain arrays with np.savez(path, X=X, y=y)") from None
        raise ActlabError(f"cannot read {path} as .npz ({error})") from error
    if x.dtype.kind not in "biuf":
        raise ActlabError(f"{path}: X must be numeric, got dtype {x.dtype}")
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if len(x) == 0:
        raise ActlabError(f"{path} is empty (X has no rows)")
    if x.ndim < 2 or int(np.prod(x.shape[1:])) == 0:
        raise ActlabError(f"{path}: X has no feature columns (shape {tuple(x.shape)}); it needs at least one")
    if x.size and np.abs(x.astype(np.float64)).max(initial=0.0) > FLOAT32_MAX:
        raise ActlabError(f"{path}: X has values beyond float32's range (|value| <= {FLOAT32_MAX:.4g}); rescale it")
    y = np.squeeze(y, axis=1) if y.ndim == 2 and y.shape[1] == 1 else y
    if y.ndim != 1 or len(y) != len(x):
        raise ActlabError(f"{path}: {target} must hold one label per row of X ({len(x)}), got shape {y.shape}")
    bad = np.argwhere(~np.isfinite(x.astype(np.float64)))
    if len(bad):
        where = ", ".join(str(int(i)) for i in bad[0][1:])
        raise ActlabError(f"{path}: X[row {int(bad[0][0])}, feature {where}] is {x[tuple(bad[0])]} (NaN/inf are not allowed)")
    if y.dtype.kind in "biuf":
        as_float = y.astype(np.float64)
        bad_y = np.flatnonzero(~np.isfinite(as_float))
        if len(bad_y):
            raise ActlabError(f"{path}: {target}[{int(bad_y[0])}] is {y[bad_y[0]]} (NaN/inf are not allowed)")
        huge = np.flatnonzero(np.abs(as_float) > FLOAT32_MAX)
        if len(huge):  # a regression target would become inf in float32
            raise ActlabError(f"{path}: {target}[{int(huge[0])}] is {y[huge[0]]}, beyond float32's range "
                              f"(|value| <= {FLOAT32_MAX:.4g}); rescale it")
        labels: list[Any] = [float(v) for v in y]
    elif y.dtype.kind in "US":
        labels = [str(v) for v in y]
    else:
        raise ActlabError(f"{path}: {target} must be numbers or strings, got dtype {y.dtype}")
    names = [f"x{i}" for i in range(int(np.prod(x.shape[1:])))]
    return x.astype(np.float32), labels, names, target


def _array(path: Path, archive: Any, key: str) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as error:
        if "allow_pickle" in str(error):  # numpy's own hint would tell the user to enable pickles: never
            raise ActlabError(
                f"{path}: array {key!r} holds Python objects (a pickle), which actlab does not load; "
                "save plain numeric arrays (e.g. np.savez(path, X=X.astype(float), y=y))"
            ) from None
        raise


# --- labels and task ------------------------------------------------------------------------------

def _labels(path: Path, labels: list[Any], task: str | None) -> tuple[np.ndarray, str, list[Any] | None]:
    numeric = all(isinstance(v, float) for v in labels)
    if task is None:
        if not numeric:
            task = "classification"
        else:
            values = np.asarray(labels)
            integral = bool(np.all(values == np.round(values)))
            task = "classification" if integral and len(np.unique(values)) <= MAX_CLASSES else "regression"
    if task == "regression":
        if not numeric:
            bad = next(v for v in labels if not isinstance(v, float))
            raise ActlabError(f"{path}: regression needs numeric labels, found {bad!r}")
        return np.asarray(labels, dtype=np.float32).reshape(-1, 1), task, None
    if numeric:
        classes: list[Any] = sorted(set(labels))
        classes = [int(v) if float(v).is_integer() else v for v in classes]
        index = {float(v): i for i, v in enumerate(classes)}
        y = np.array([index[v] for v in labels], dtype=np.int64)
    else:
        classes = sorted({str(v) if not isinstance(v, float) else _format(v) for v in labels})
        index = {v: i for i, v in enumerate(classes)}
        y = np.array([index[v if not isinstance(v, float) else _format(v)] for v in labels], dtype=np.int64)
    if len(classes) < 2:
        raise ActlabError(
            f"{path}: all labels are {classes[0]!r} — a single class; classification needs at least two "
            "(or pass task='regression')"
        )
    return y, task, classes


def _format(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)
