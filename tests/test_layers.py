"""Data flows one way: no module imports a stage that comes after its own.

task → data → models → runner/store → scoring → report, with the ground floor (errors,
the registry, hashing, text helpers) under everything and the commands on top. An
import only for type checking (``if TYPE_CHECKING:``) does not count: it never runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "fieldwise"

LAYERS: dict[str, int] = {
    "(root)": 0,
    "errors": 0,
    "_text": 0,
    "_legacy": 0,
    "_hashing": 0,
    "_lexicon": 0,
    "_gc": 0,
    "_json": 0,
    "registry": 0,
    "config": 0,
    "pricing": 0,
    "tasks": 1,
    "metrics": 2,
    "data": 3,
    "models": 4,
    "store": 5,
    "runner": 6,
    "scoring": 7,
    "trust": 7,  # grounding is scoring: a +grounding profile aligns, the report shows it
    "report": 8,
    "deploy": 8,
    "compare": 9,
    "review": 9,  # review queues and trust of stored runs: reads runs as compare does
    "finetune": 9,
    "serve": 9,
    "loadtest": 9,
    "plan": 9,
    "optimize": 9,
    "pipeline": 10,
    "_probes": 10,  # the run's out-of-domain probes, a part of the pipeline
    "imported": 9,  # a run's imported models, loaded beside the pipeline
    "distill": 10,  # distill and migrate run whole pipelines (teacher, student)
    "cli": 11,
}


def _runtime_imports(tree: ast.AST) -> list[str]:
    """Every ``fieldwise...`` module imported outside ``if TYPE_CHECKING:`` blocks."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fieldwise"):
            if node.module == "fieldwise":
                found.extend(f"fieldwise.{a.name}" for a in node.names)
            else:
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(a.name for a in node.names if a.name.startswith("fieldwise"))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(root)"


def test_no_import_runs_back_up_the_stack() -> None:
    upward = []
    for path in sorted(SRC.rglob("*.py")):
        own = _stage(".".join(("fieldwise", *path.relative_to(SRC).with_suffix("").parts)))
        own = "(root)" if own in ("__init__", "__main__") else own
        for target in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            stage = _stage(target)
            if stage == "__version__":
                continue
            assert stage in LAYERS and own in LAYERS, f"give {stage} or {own} a layer here"
            if stage != own and LAYERS[stage] > LAYERS[own]:
                upward.append(f"{path.relative_to(SRC)} imports {target}")
    assert not upward, "imports that run back up the stack:\n" + "\n".join(upward)
