"""Each layer imports only `core` and the layers listed before it in DESIGN.md."""

from __future__ import annotations

import ast
from pathlib import Path

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
    "pipeline",
    "serving",
    "cli",
]
SRC = Path(__file__).resolve().parents[1] / "src" / "edgecraft"


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        )
        found |= {n.split(".")[1] for n in names if n.startswith("edgecraft.") and n.count(".")}
    return found


def test_layers_import_only_layers_above_them():
    bad = []
    for layer_dir in sorted(p for p in SRC.iterdir() if p.is_dir() and p.name != "__pycache__"):
        assert layer_dir.name in ORDER, f"{layer_dir.name} is not a layer of DESIGN.md"
        rank = ORDER.index(layer_dir.name)
        for path in layer_dir.rglob("*.py"):
            for target in _imports(path):
                if target != layer_dir.name and ORDER.index(target) > rank:
                    bad.append(f"{path.relative_to(SRC)} imports {target}")
    assert not bad, bad


def test_cli_calls_only_pipeline_and_the_serving_shell():
    allowed = {"core", "pipeline", "serving"}  # serving: `serve` starts the app
    for path in (SRC / "cli").rglob("*.py"):
        assert _imports(path) <= allowed, (path, _imports(path))
