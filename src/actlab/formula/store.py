"""Saved formulas: ``formulas.json`` in the user's config folder.

The folder is ``platformdirs.user_config_dir("actlab")``, or ``$ACTLAB_CONFIG_DIR``
when set.  The file is plain JSON data (never executed)::

    {"formulas": {"my_act": {"formula": "x*sigmoid(a*x)", "params": {"a": 1.702}}}}
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import platformdirs

from actlab.errors import ActlabError

__all__ = ["config_path", "save_formula", "read_saved"]

FILE_NAME = "formulas.json"


def config_path() -> Path:
    """Where saved formulas live (``$ACTLAB_CONFIG_DIR/formulas.json`` when the variable is set)."""
    folder = os.environ.get("ACTLAB_CONFIG_DIR") or platformdirs.user_config_dir("actlab")
    return Path(folder) / FILE_NAME


def read_saved(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The saved formulas (name -> {"formula", "params"}); raises ActlabError for a broken file."""
    path = path or config_path()
    try:
        if not path.exists():
            return {}
        if path.is_dir():
            raise ActlabError(f"cannot read saved formulas: {path} is a directory, not a file")
    except OSError as error:  # a name too long, a folder we may not enter (HOME of another user)
        raise ActlabError(
            f"cannot check the saved-formulas file {_short(path)}: {error.strerror or error}; "
            "set ACTLAB_CONFIG_DIR to a folder you can read and write"
        ) from None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ActlabError(f"cannot read saved formulas from {path}: {error}") from None
    formulas = data.get("formulas") if isinstance(data, dict) else None
    if not isinstance(formulas, dict):
        raise ActlabError(f"cannot read saved formulas from {path}: expected {{\"formulas\": {{...}}}}")
    return formulas


def _short(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 120 else text[:57] + "..." + text[-60:]


def save_formula(name: str, formula: str, params: dict[str, float]) -> Path:
    """Add (or replace) one saved formula; returns the file written."""
    path = config_path()
    try:
        formulas = read_saved(path)
    except ActlabError as error:
        # never overwrite the user's file: they may have saved formulas in it
        raise ActlabError(f"{error}; not saving {name!r} — fix or move that file first") from None
    formulas[name] = {"formula": formula, "params": dict(params)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps({"formulas": formulas}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        temporary.replace(path)
    except OSError as error:
        raise ActlabError(f"cannot save formula {name!r} to {path}: {error}") from None
    return path
