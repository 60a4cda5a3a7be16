"""Shared test setup: references importable, user config in a temp dir, Agg plots."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "catalog"))  # references.py
os.environ.setdefault("MPLBACKEND", "Agg")
# a developer's saved formulas must not leak into the suite (set before actlab is imported)
os.environ["ACTLAB_CONFIG_DIR"] = tempfile.mkdtemp(prefix="actlab-test-config-")
