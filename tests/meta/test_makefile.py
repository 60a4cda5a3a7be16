"""The Makefile: `make demo` installs the package alone (no test tools, Ray or docs); no recipe echoes a comment."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _dry(target: str) -> list[str]:
    make = shutil.which("make")
    if make is None:
        pytest.fail("make is not installed (the README's two commands need it)")
    done = subprocess.run([make, "-n", "-B", "-C", str(ROOT), target], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if not line.startswith("make")]


def test_make_demo_installs_only_the_package():
    lines = _dry("demo")
    installs = [line for line in lines if "pip install" in line]
    assert installs and not any("[" in line or "ray" in line or "pytest" in line for line in installs)
    assert lines[-1].endswith("actlab demo")


def test_make_test_adds_the_extras_and_no_recipe_echoes_a_comment():
    lines = _dry("test")
    assert any(".[test,ray,docs]" in line for line in lines)
    for target in ("demo", "test", "docs"):
        assert not [line for line in _dry(target) if line.lstrip().startswith("#")], target
