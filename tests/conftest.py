"""Shared test setup: references importable, caches and configs in temp dirs, deterministic seeds."""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("MPLBACKEND", "Agg")
