"""Each layer imports only `core` and the layers listed before it in DESIGN.md, and no two files
import each other, directly or round a longer loop (imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ORDER = [
    "core",
    "data",
    "features",
    "labels",
    "validation",
    "models",
    "signals",
    "risk",
    "metrics",
    "monitoring",
    "engine",
    "backtest",
    "research",
    "operations",
    "live",
    "serving",
    "cli",
]
SRC = Path(__file__).resolve().parents[1] / "src" / "edgecraft"


def _imported_modules(path: Path) -> set[str]:
    """Every `edgecraft.…` module a file imports (`from a.b import c` also names `a.b.c`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {n for n in found if n.startswith("edgecraft.")}


def _layers(path: Path) -> set[str]:
    return {n.split(".")[1] for n in _imported_modules(path) if n.count(".")}


def _module_of(path: Path, src: Path) -> str:
    parts = ("edgecraft", *path.relative_to(src).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(src: Path) -> dict[str, set[str]]:
    """File-level import graph: module -> the project's modules (files) it imports."""
    files = {_module_of(p, src): p for p in src.rglob("*.py")}
    return {
        module: {n for n in _imported_modules(path) if n in files and n != module}
        for module, path in files.items()
    }


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one file (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def upward_imports(src: Path) -> list[str]:
    bad = []
    for layer_dir in sorted(p for p in src.iterdir() if p.is_dir() and p.name != "__pycache__"):
        assert layer_dir.name in ORDER, f"{layer_dir.name} is not a layer of DESIGN.md"
        rank = ORDER.index(layer_dir.name)
        for path in layer_dir.rglob("*.py"):
            for target in _layers(path):
                if target not in ORDER:
                    bad.append(f"{path.relative_to(src)} imports unknown layer {target}")
                elif target != layer_dir.name and ORDER.index(target) > rank:
                    bad.append(f"{path.relative_to(src)} imports {target}")
    return bad


def test_layers_import_only_layers_above_them():
    assert not upward_imports(SRC)


def test_no_import_cycle_between_files():
    assert not find_cycles(import_graph(SRC))


def test_every_layer_says_what_it_is_for():
    for layer_dir in (p for p in SRC.iterdir() if p.is_dir() and p.name != "__pycache__"):
        init = layer_dir / "__init__.py"
        assert init.exists() and ast.get_docstring(ast.parse(init.read_text())), layer_dir.name


def test_cli_calls_only_the_layers_that_wire_and_the_serving_shell():
    allowed = {"core", "data", "features", "research", "operations", "live", "serving", "cli"}
    for path in (SRC / "cli").rglob("*.py"):
        assert _layers(path) <= allowed, (path, _layers(path))


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "edgecraft" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "edgecraft"


def test_the_checks_fail_on_an_upward_import_and_on_a_cycle(tmp_path):
    src = _tree(
        tmp_path,
        {
            "core/__init__.py": '"""records"""\n',
            "core/a.py": "from edgecraft.core.b import x\n",
            # a cycle inside one layer, the second edge inside a function
            "core/b.py": "x = 1\n\ndef f():\n    from edgecraft.core import a\n",
            "data/__init__.py": '"""data"""\n',
            "data/load.py": "import edgecraft.research.run\n",  # data must not see research
            "research/__init__.py": '"""research"""\n',
            "research/run.py": "from edgecraft.data import load\n",
        },
    )
    assert upward_imports(src) == ["data/load.py imports research"]
    cycles = find_cycles(import_graph(src))
    assert ["edgecraft.core.a", "edgecraft.core.b"] in cycles
    assert ["edgecraft.data.load", "edgecraft.research.run"] in cycles
    with pytest.raises(AssertionError):
        assert not find_cycles(import_graph(src))
