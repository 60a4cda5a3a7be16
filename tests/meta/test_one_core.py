"""Two promises of the repository, checked over the whole tree: only ``actlab/train/`` trains (no backward pass or
optimiser step anywhere else in the package; cost timing and the conformance checker, which do not train, are the
exceptions), and no run file (store, checkpoint, lock) is tracked by git."""
from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "actlab"
# time forward + backward of one module (never update a weight) / check a spec's gradients
NOT_TRAINING = {"analysis/cost.py", "report/cost.py", "testing.py"}
OPTIMISERS = {"Adam", "AdamW", "SGD", "RMSprop", "LBFGS", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam"}


def training_calls(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for each ``.backward(`` call, ``torch.optim.X(`` construction and ``torch.autograd.backward``."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name = node.func.attr
        if name == "backward":
            found.append((node.lineno, ".backward()"))
        elif name in OPTIMISERS:
            found.append((node.lineno, f"optimiser {name}()"))
    return found


def test_the_scanner_sees_a_training_loop():
    loop = "opt = torch.optim.SGD(net.parameters(), lr=0.1)\nloss = net(x).sum()\nloss.backward()\nopt.step()\n"
    assert [what for _, what in training_calls(ast.parse(loop))] == ["optimiser SGD()", ".backward()"]


def test_only_the_train_package_trains():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("train/") or relative in NOT_TRAINING:
            continue
        for line, what in training_calls(ast.parse(path.read_text(encoding="utf-8"))):
            offenders.append(f"src/actlab/{relative}:{line}: {what}")
    assert not offenders, "training outside actlab/train/ (use the driver and an engine):\n" + "\n".join(offenders)


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_no_run_files_are_tracked():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    run_files = [name for name in tracked
                 if name.endswith((".sqlite", ".sqlite-wal", ".sqlite-shm", ".pt")) or Path(name).name == "lock"
                 or name.startswith("checkpoints/")]
    assert not run_files, f"run files tracked by git (remove them; .gitignore covers them): {run_files}"
