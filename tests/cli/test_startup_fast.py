"""Start-up: --help and list import no torch; --version prints the version; shell completion is offered."""
from __future__ import annotations

import subprocess
import sys

import actlab
from actlab.cli import main

CODE = ("import sys; from actlab.cli import main; code = main(sys.argv[1:]); "
        "heavy = [m for m in ('torch', 'numpy', 'sympy', 'scipy', 'matplotlib') if m in sys.modules]; "
        "print('HEAVY', heavy); sys.exit(code)")


def _heavy(*argv: str) -> str:
    done = subprocess.run([sys.executable, "-c", CODE, *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_list_imports_no_torch() -> None:
    assert _heavy("list") == "HEAVY []"
    assert _heavy("list", "--json") == "HEAVY []"


def test_version(capsys) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip().startswith("actlab ")
    assert actlab.__version__


def test_completion_offered(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--install-completion" in out and "--version" in out
