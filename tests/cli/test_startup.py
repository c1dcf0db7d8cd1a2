"""Start-up stays cheap: the CLI imports heavy libraries only for the commands that need
them (docs/benchmarks.md, "Start-up"). Each check runs in a fresh interpreter, since this
test process has imported everything already."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.openai_server import FakeServer
from tests.runner.helpers import docs

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "numpy",
    "scipy",
    "sklearn",
    "matplotlib",
    "pyarrow",
    "datasets",
    "torch",
    "transformers",
    "openai",
    "fieldwise.scoring",
    "fieldwise.report",
)
"""Modules that cost tenths of a second to seconds of CPU to import."""

_PROBE = """
import json, sys
{body}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _run_main(args: list[str]) -> str:
    """Code running ``fieldwise ARGS`` in-process, asserting it exits 0."""
    return (
        "from fieldwise.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit as done:\n    assert done.code == 0\n"
    )


def _imported(body: str, env: dict[str, str] | None = None) -> list[str]:
    """The heavy modules loaded after running ``body`` in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE.format(body=body, heavy=HEAVY)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", **(env or {})},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    loaded: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return loaded


def test_the_cli_and_every_command_module_import_nothing_heavy() -> None:
    assert _imported("import fieldwise.cli, fieldwise.cli._app") == []


def test_version_imports_neither_typer_nor_rich() -> None:
    body = _run_main(["--version"]) + (
        "assert not {'typer', 'rich', 'pydantic'} & set(sys.modules), sorted(sys.modules)"
    )
    assert _imported(body) == []


def test_a_one_row_predict_imports_nothing_heavy(tmp_path: Path) -> None:
    """The lean HTTP transport needs neither the openai SDK nor scoring."""
    data = tmp_path / "one.jsonl"
    data.write_text(json.dumps({"id": "a", "text": docs(1)[0].text}) + "\n")
    server = FakeServer().start()
    try:
        args = ["predict", "--model", "openai/m", "--data", str(data), "--quiet"]
        args += ["--out", str(tmp_path / "p.jsonl"), "--project", str(tmp_path / "proj")]
        body = _run_main(args)
        env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test"}
        loaded = _imported(body, env)
    finally:
        server.stop()
    assert json.loads((tmp_path / "p.jsonl").read_text())["output"]
    assert loaded == []


_EVERY_HELP = """
import contextlib, io
import typer
from fieldwise.cli import main
from fieldwise.cli._app import app

def paths(command, prefix):
    yield prefix
    for name, sub in getattr(command, "commands", {}).items():
        yield from paths(sub, [*prefix, name])

seen = list(paths(typer.main.get_command(app), []))
assert len(seen) > 10, seen
for path in seen:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            main([*path, "--help"])
        except SystemExit as done:
            assert done.code == 0, (path, done.code)
    assert "Usage" in out.getvalue(), path
"""


def test_help_of_every_command_imports_nothing_heavy() -> None:
    """``fieldwise --help`` and ``fieldwise CMD --help`` for every command and
    subcommand: a new command must keep its heavy imports inside its function."""
    assert _imported(_EVERY_HELP) == []
