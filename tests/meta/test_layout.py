"""The package layout: no import cycles (lazy imports counted), no oversized modules, a light import."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "actlab"
MAX_LINES = 400
# the catalog's data files and the fast grid kernel may be longer (STYLE.md, issue 9)
LONG_ALLOWED = {"train/fast_mlp.py"}
LONG_ALLOWED_DIRS = {"catalog"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The innermost known module for a dotted import target."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph() -> dict[str, set[str]]:
    """Every ``import`` of an actlab module anywhere in a file (top level, functions, TYPE_CHECKING excluded)."""
    known = _modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        is_package = path.name == "__init__.py"
        type_only: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                for inner in ast.walk(node):
                    type_only.add(id(inner))
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name if is_package else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        base = base.rpartition(".")[0]
                    module = f"{base}.{node.module}" if node.module else base
                else:
                    module = node.module or ""
                targets = [f"{module}.{alias.name}" for alias in node.names]  # a submodule, else the module
            for target in targets:
                if not target.startswith("actlab"):
                    continue
                resolved = _resolve(target, known)
                # "from pkg import sub" imports the submodule; "from pkg import name" the package
                if resolved and resolved != name:
                    graph[name].add(resolved)
    # importing a.b.c runs a/__init__ and a/b/__init__ first: an edge to every parent package
    for name in list(graph):
        for target in list(graph[name]):
            parent = target.rpartition(".")[0]
            while parent and parent != "actlab":
                if parent in known and parent != name and not name.startswith(parent + "."):
                    graph[name].add(parent)
                parent = parent.rpartition(".")[0]
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_checker_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles_counting_lazy_imports():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def test_no_module_over_the_size_limit():
    long = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in LONG_ALLOWED or relative.split("/")[0] in LONG_ALLOWED_DIRS:
            continue
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            long.append(f"{relative}: {lines}")
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def _imported_after(code: str) -> set[str]:
    script = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    return {line.split(".")[0] for line in out.split()}


@pytest.mark.slow
def test_import_actlab_is_light():
    loaded = _imported_after("import actlab")
    assert not loaded & {"sympy", "scipy", "matplotlib"}, loaded & {"sympy", "scipy", "matplotlib"}


@pytest.mark.slow
def test_cli_help_imports_no_heavy_library():
    code = "import sys; sys.argv=['actlab','--help']\nfrom actlab.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    loaded = _imported_after(code)
    heavy = loaded & {"torch", "sympy", "scipy", "matplotlib", "numpy"}
    assert not heavy, heavy
