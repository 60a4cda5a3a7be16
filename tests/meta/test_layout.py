"""The package layout: imports follow the layer table, no cycles, no oversized modules, a light import.

Every import counts: top level, inside functions (lazy) and under ``if TYPE_CHECKING:``; a bare
``import actlab`` counts as an import of each ``actlab.<name>`` the file then uses, and a module name
in a lazy re-export table (``{"name": "actlab.x.y"}``) or in ``import_module("actlab.x.y")`` as an
import of that module.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from actlab import layers

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
PACKAGE = SRC / "actlab"
MAX_LINES = 400
# the catalog's data files and the fast grid kernel may be longer (STYLE.md)
LONG_ALLOWED = {"train/fast_mlp.py"}
LONG_ALLOWED_DIRS = {"catalog"}

# Known offenders that are being fixed in the files that own them, as (importer, imported) edges.
# Each entry must still occur (a stale one fails the test), so this list only shrinks; keep it empty.
PENDING: dict[tuple[str, str], str] = {}  # known offenders being fixed elsewhere: none


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported actlab module
    line: int
    how: str  # "top", "lazy" (inside a function or class body) or "type-only" (under TYPE_CHECKING)

    def __str__(self) -> str:
        where = f"{self.source.replace('.', '/')}.py:{self.line}"
        return f"{self.source} → {self.target}  ({where}, {self.how})"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(package: Path = PACKAGE) -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(package.rglob("*.py"))}


def _exports() -> dict[str, str]:
    """``actlab.__init__``'s lazy re-exports: public name → defining module."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_EXPORTS" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("actlab/__init__.py defines no _EXPORTS")


def _innermost(name: str, known: dict[str, Path]) -> str | None:
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def _how(node: ast.AST, parents: dict[int, ast.AST]) -> str:
    how = "top"
    current = parents.get(id(node))
    while current is not None:
        if isinstance(current, ast.If) and "TYPE_CHECKING" in ast.unparse(current.test):
            return "type-only"
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            how = "lazy"
        current = parents.get(id(current))
    return how


def imports_of(name: str, path: Path, known: dict[str, Path], exports: dict[str, str]) -> list[Import]:
    """Every actlab module ``name`` imports, wherever the import statement stands."""
    tree = ast.parse(path.read_text(), str(path))
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def add(target: str, node: ast.AST) -> None:
        resolved = _innermost(target, known)
        if resolved == "actlab":  # a name of the facade: the module that defines it
            attribute = target.removeprefix("actlab.").split(".")[0]
            resolved = exports.get(attribute) or _innermost(f"actlab.{attribute}", known)
            if resolved == "actlab":
                resolved = None
        if resolved and resolved != name:
            found.append(Import(name, resolved, node.lineno, _how(node, parents)))

    binds_root = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in known:
            parent = parents.get(id(node))  # a lazy re-export table's value, or import_module("actlab.x")
            called = isinstance(parent, ast.Call) and ast.unparse(parent.func).endswith("import_module")
            if isinstance(parent, ast.Dict) and node in parent.values or called:
                add(node.value, node)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "actlab" or alias.name.startswith("actlab."):
                    if alias.asname is None:
                        binds_root = True  # "import actlab.x" binds the name actlab too
                    if alias.name != "actlab":
                        add(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name if is_package else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if module == "actlab" or module.startswith("actlab."):
                for alias in node.names:  # "from pkg import sub" imports the submodule, else the package
                    add(f"{module}.{alias.name}", node)
    if binds_root:  # actlab.get(...), actlab.nn.create(...): what the facade hands out
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "actlab"):
                chain = [node.attr]
                parent = parents.get(id(node))
                while isinstance(parent, ast.Attribute):
                    chain.append(parent.attr)
                    parent = parents.get(id(parent))
                add("actlab." + ".".join(chain), node)
    return found


def all_imports() -> list[Import]:
    """Every actlab → actlab import in the package, with the package ``__init__``s each one runs."""
    known = _modules()
    exports = _exports()
    result: list[Import] = []
    for name, path in known.items():
        if name == "actlab":  # the facade: it re-exports from every layer, lazily (resolved where used)
            continue
        for item in imports_of(name, path, known, exports):
            result.append(item)
            # importing a.b.c runs a/__init__ and a/b/__init__ first
            parent = item.target.rpartition(".")[0]
            while parent and parent != "actlab":
                if parent in known and parent != name and not name.startswith(parent + "."):
                    result.append(Import(name, parent, item.line, item.how))
                parent = parent.rpartition(".")[0]
    return result


def import_graph(unit=lambda module: module) -> dict[str, set[str]]:
    """``unit`` → the units it imports (modules by default; ``layers.member_of`` for table members)."""
    graph: dict[str, set[str]] = {}
    for name in _modules():
        if name != "actlab":
            graph.setdefault(unit(name) or name, set())
    for item in all_imports():
        source, target = unit(item.source) or item.source, unit(item.target) or item.target
        if source != target and (item.source, item.target) not in PENDING:
            graph[source].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def shortest_cycle(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """The shortest cycle through ``component``'s first node, as a path that ends where it starts."""
    start, members = component[0], set(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & members):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if nxt not in previous:
                    previous[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"{component} is not a cycle")


def _describe(component: list[str], graph: dict[str, set[str]]) -> str:
    path = " → ".join(shortest_cycle(component, graph))
    return f"{path}  ({len(component)} in the cycle: {', '.join(component)})"


def _where(module: str) -> str:
    number = layers.layer_of(module)
    return f"{number} {layers.LAYERS[number - 1].name}" if number else "unplaced"


# ------------------------------------------------------------------ the checker itself


def test_the_checker_finds_planted_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": {"d"}, "f": set()}
    assert cycles(graph) == [["a", "b", "c"], ["d", "e"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert shortest_cycle(["a", "b", "c"], {"a": {"b", "c"}, "b": {"c"}, "c": {"a"}}) == ["a", "c", "a"]


def test_the_checker_sees_lazy_type_only_and_facade_imports(tmp_path):
    package = tmp_path / "actlab"
    (package / "low").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "low" / "__init__.py").write_text("")
    (package / "top.py").write_text("")
    source = package / "low" / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import actlab\n"
        "if TYPE_CHECKING:\n"
        "    from actlab.top import Thing\n"
        "def f():\n"
        "    from .. import top\n"
        "    return actlab.get('relu')\n"
        "LAZY = {'thing': 'actlab.top'}\n"
    )
    known = {"actlab": package / "__init__.py", "actlab.low": package / "low" / "__init__.py",
             "actlab.low.mod": source, "actlab.top": package / "top.py", "actlab.resolve": package / "top.py"}
    found = {(i.target, i.line, i.how) for i in imports_of("actlab.low.mod", source, known, {"get": "actlab.resolve"})}
    assert found == {("actlab.top", 4, "type-only"), ("actlab.top", 6, "lazy"), ("actlab.resolve", 7, "lazy"),
                     ("actlab.top", 8, "top")}


def test_the_layer_table_places_members_by_longest_prefix():
    assert layers.member_of("actlab.nn.per_neuron") == "nn"
    assert layers.layer_of("actlab.errors") == 1
    assert layers.layer_of("actlab.cli.app") == len(layers.LAYERS)
    assert layers.layer_of("actlab.nowhere") is None
    members = [m for layer in layers.LAYERS for m in layer.members]
    assert len(members) == len(set(members)), "a member is listed twice"


# ------------------------------------------------------------------ the rules


def test_every_module_is_placed_in_the_layer_table():
    unplaced = sorted(name for name in _modules() if name != "actlab" and layers.layer_of(name) is None)
    assert not unplaced, "modules missing from actlab/layers.py's LAYERS: " + ", ".join(unplaced)


def test_no_import_climbs_up_a_layer():
    upward = []
    for item in all_imports():
        if (item.source, item.target) in PENDING:
            continue
        source, target = layers.layer_of(item.source), layers.layer_of(item.target)
        if source is not None and target is not None and target > source:
            upward.append(f"  {item}: layer {_where(item.source)} imports layer {_where(item.target)}")
    assert not upward, "imports that point up the layer table (actlab/layers.py):\n" + "\n".join(sorted(set(upward)))


def test_no_import_cycles_between_modules():
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles between modules:\n" + "\n".join("  " + _describe(c, graph) for c in found)


def test_no_import_cycles_between_packages():
    graph = import_graph(layers.member_of)
    found = cycles(graph)
    assert not found, "import cycles between packages:\n" + "\n".join("  " + _describe(c, graph) for c in found)


def test_pending_offenders_still_exist():
    edges = {(item.source, item.target) for item in all_imports()}
    stale = sorted(f"{a} → {b}" for a, b in PENDING if (a, b) not in edges)
    assert not stale, "PENDING entries that no longer occur (remove them): " + ", ".join(stale)


def test_readme_layout_shows_the_layer_table():
    readme = (ROOT / "README.md").read_text()
    start, end = readme.find(layers.START), readme.find(layers.END)
    assert 0 <= start < end, (
        f"README.md has no {layers.START} … {layers.END} block; add one and run python -m actlab.layers README.md"
    )
    shown = readme[start + len(layers.START):end].strip("\n")
    assert shown == layers.markdown().strip("\n"), (
        "README.md's layer table differs from actlab/layers.py: run python -m actlab.layers README.md"
    )


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
def test_building_a_catalog_module_is_light():
    loaded = _imported_after("import actlab.nn\nactlab.nn.create('gelu')\nactlab.nn.create(actlab.get('elu'), impl='reference')")
    assert not loaded & {"sympy", "scipy", "matplotlib"}, loaded & {"sympy", "scipy", "matplotlib"}


@pytest.mark.slow
def test_cli_help_imports_no_heavy_library():
    code = "import sys; sys.argv=['actlab','--help']\nfrom actlab.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    loaded = _imported_after(code)
    heavy = loaded & {"torch", "sympy", "scipy", "matplotlib", "numpy"}
    assert not heavy, heavy


def test_the_readme_block_is_rewritten_between_its_markers_only():
    readme = f"# actlab\n\n## Layout\n\n{layers.START}\nold table\n{layers.END}\n\nmore text\n"
    rewritten = layers.with_table(readme)
    assert rewritten == f"# actlab\n\n## Layout\n\n{layers.START}\n{layers.markdown()}{layers.END}\n\nmore text\n"
    assert layers.with_table(rewritten) == rewritten
    with pytest.raises(ValueError, match="layers:start"):
        layers.with_table("# actlab without the block\n")
