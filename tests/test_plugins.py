"""Extending fieldwise from another package: one file per extension, one entry point each.

The plugin distribution (``tests/plugin_dist.py``) is only put on ``sys.path``; fieldwise
finds each extension through its ``fieldwise.<kind>`` entry point and uses it end to end.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from fieldwise import registry
from fieldwise.data.export import export_examples, read_export
from fieldwise.finetune.hosted import run_hosted_finetune
from fieldwise.finetune.providers import available_providers
from fieldwise.models import available_backends, create_model, key_variables
from fieldwise.models._errors import redact
from fieldwise.tasks import Example, load_task
from tests.cli.helpers import cli
from tests.plugin_dist import plugin_fixture  # noqa: F401 - provides `plugin`
from tests.scoring.helpers import ISAF_GOLD


def _examples() -> list[Example]:
    text = "ISAF forces killed an insurgent leader in Ghazni on 24 January 2013."
    return [Example(f"r{i}", text, dict(ISAF_GOLD)) for i in range(3)]


def test_each_kind_is_discovered_with_no_change_to_fieldwise(plugin: Path) -> None:
    assert "fwconst" in available_backends()
    assert "fwhost" in available_providers()
    assert "fw-pairs" in registry.export_formats.names()
    # declared key variables and key formats come from the classes themselves
    assert "FWPLUG_API_KEY" in key_variables() and "FWHOST_KEY" in key_variables()
    assert redact("echoed fwk-abcdefghijklmnop back") == "echoed [REDACTED] back"


def test_the_plugin_backend_runs(plugin: Path) -> None:
    model = create_model("fwconst/any", load_task("isaf"), {"answer": '{"killq": true}'})
    out = asyncio.run(model.generate(_examples()[:2]))
    assert [g.output for g in out] == ['{"killq": true}'] * 2


def test_the_plugin_provider_fine_tunes_into_a_runnable_plugin_model(
    plugin: Path, tmp_path: Path
) -> None:
    train = tmp_path / "train.jsonl"
    export_examples(load_task("isaf"), _examples(), "openai-chat", train)
    result = run_hosted_finetune(
        {"provider": "fwhost", "base_model": "base", "suffix": "s1", "training_file": str(train)},
        progress=False,
    )
    assert (result.spec, result.trained_tokens) == ("fwconst/ft-base-s1", 42)
    model = create_model(result.spec, load_task("isaf"))
    assert asyncio.run(model.generate(_examples()[:1]))[0].output == "{}"


def test_the_plugin_export_format_round_trips_from_the_cli(
    plugin: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": e.id, "text": e.text, **(e.gold or {})}) + "\n" for e in _examples()
        )
    )
    out = tmp_path / "pairs.jsonl"
    code, _, err = cli(
        capsys, "data", "export", "--data", str(data), "--format", "fw-pairs", "--out", str(out)
    )
    assert code == 0, err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3 and set(rows[0]) == {"q", "a"}
    assert json.loads(rows[0]["a"])["start_date"] == "2013-01-24"
    assert read_export(out, "fw-pairs")[0].target == rows[0]["a"]


def test_without_the_plugin_its_names_are_unknown() -> None:
    assert "fwconst" not in available_backends()
    code_names = registry.export_formats.names()
    assert "fw-pairs" not in code_names
