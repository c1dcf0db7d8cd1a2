"""Extending fieldwise from another package: one file per extension, one entry point each.

The plugin distribution (``tests/plugin_dist.py``) is only put on ``sys.path``; fieldwise
finds each extension through its ``fieldwise.<kind>`` entry point and uses it end to end.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import numpy as np
import pytest

from fieldwise import registry
from fieldwise.data.export import export_examples, read_export
from fieldwise.errors import UserError
from fieldwise.finetune.hosted import run_hosted_finetune
from fieldwise.finetune.providers import available_providers
from fieldwise.models import available_backends, create_model, key_variables
from fieldwise.models._errors import redact
from fieldwise.scoring import score_outputs
from fieldwise.tasks import Example, Metric, Task, load_task
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
    assert "fwcloud" in available_backends() and "fw-counted" in registry.executors.names()
    # declared key variables and key formats come from the classes themselves
    assert {"FWPLUG_API_KEY", "FWHOST_KEY", "FWCLOUD_API_KEY"} <= key_variables()
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
        state_dir=tmp_path / "jobs",  # the job record, not in the cwd
    )
    assert (result.spec, result.trained_tokens) == ("fwconst/ft-base-s1", 42)
    model = create_model(result.spec, load_task("isaf"))
    assert asyncio.run(model.generate(_examples()[:1]))[0].output == "{}"


def test_the_plugin_host_and_executor_run_a_project(
    plugin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldwise.config import ProjectConfig
    from fieldwise.pipeline import run_project

    monkeypatch.setenv("FWCLOUD_API_KEY", "fwc-test-key-0123456789")
    hosted = create_model("fwcloud/m1", load_task("isaf"))
    assert (hosted.spec, hosted.base_url) == ("fwcloud/m1", "https://llm.fwcloud.example/v1")  # type: ignore[attr-defined]
    cfg = ProjectConfig(
        data={"train": "sample", "limit": 20},  # type: ignore[arg-type]
        models=[{"spec": "baseline/auto", "name": "b", "executor": "fw-counted"}],  # type: ignore[list-item]
        bootstrap=0,
        output=str(tmp_path / "project"),
        base_dir=tmp_path,
    )
    result = run_project(cfg, quiet=True)
    counted = registry.executors.get("fw-counted")
    assert counted.jobs == [("b", len(result.test.examples), 1)]


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


def test_the_plugin_metric_scores_a_nested_field_under_both_profiles(plugin: Path) -> None:
    task = load_task("fw-routes")  # the plugin's own task, by its entry-point name
    arrives = task.spec_at("stops[].arrives")
    assert (arrives.kind, arrives.metric.name, arrives.metric.options.days) == (
        "date",
        "fw_within_days",
        2,
    )
    gold = {
        "departs": "2024-04-30",
        "stops": [
            {"city": "Lyon", "arrives": "2024-05-01"},
            {"city": "Nice", "arrives": "2024-05-03"},
        ],
    }
    preds = [
        {  # both stops found; Lyon's date 2 days off (right), Nice's 6 days off (wrong)
            "departs": "2024-05-01",
            "stops": [
                {"city": "lyon", "arrives": "2024-05-03"},
                {"city": "Nice", "arrives": "2024-05-09"},
            ],
        },
        {"departs": None, "stops": [{"city": "Lyon", "arrives": "soon"}]},  # garbage: 0, no crash
    ]
    scores = score_outputs(task, [gold, gold], [json.dumps(p) for p in preds], n_boot=0)
    ref, strict = scores["reference"], scores["strict"]
    # reference: "lyon" != "Lyon", so the Lyon pair is (0 + 1) / 2 and Nice (1 + 0) / 2
    assert ref.path_rows["stops[].arrives"].tolist() == [0.5, 0.0]
    assert ref.path_rows["stops[].city"].tolist() == [0.5, 0.5]
    assert ref.path_rows["departs"].tolist() == [1.0, 0.0]
    # strict: cities normalised (both match); the plugin metric scores the same way
    assert strict.path_rows["stops[].arrives"].tolist() == [0.5, 0.0]
    assert strict.path_rows["stops[].city"].tolist() == [1.0, 0.5]
    assert strict.path_rows["departs"][0] == 1.0 and np.isnan(strict.path_rows["departs"][1])
    assert ref.records["stops"]["f1"] == pytest.approx((2 * 1.0 / 4 + 2 * 0.5 / 3) / 2)
    assert strict.records["stops"]["f1"] == pytest.approx((2 * 1.5 / 4 + 2 * 0.5 / 3) / 2)


def test_a_plugin_metric_on_the_wrong_kind_is_an_error_at_task_load(plugin: Path) -> None:
    from pydantic import BaseModel

    class Out(BaseModel):
        count: Annotated[int, Metric("fw_within_days")]

    with pytest.raises(
        UserError, match="field 'count': metric 'fw_within_days' needs a date or text field"
    ):
        Task.from_model("t", Out)
    with pytest.raises(UserError, match="metric 'fw_within_days' has no parameter 'weeks'"):
        Task.from_model("t", Out, metrics={"count": Metric("fw_within_days", weeks=1)})


def test_without_the_plugin_its_names_are_unknown() -> None:
    assert "fwconst" not in available_backends() and "fwcloud" not in available_backends()
    assert "fw-counted" not in registry.executors.names()
    assert "fw-pairs" not in registry.export_formats.names()
    with pytest.raises(UserError, match="unknown task 'fw-routes'"):
        load_task("fw-routes")
    with pytest.raises(UserError, match="field 'd': unknown metric 'fw_within_days'"):
        Task.from_model("t", _dated(Metric("fw_within_days")))


def _dated(metric: Metric) -> type:
    from pydantic import create_model

    return create_model("Dated", d=(Annotated[str, metric], ...))
