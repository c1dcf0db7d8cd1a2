"""A nested task end to end through the fake OpenAI/Anthropic server: project config,
runner, store, scoring and report, in ``json_schema`` and ``tools`` modes.

The server answers either with a random instance of the JSON schema the request carried
(what a provider enforcing that schema may return: each must validate against the task's
Pydantic model) or with the gold answer (which must score 100 on every path)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from fieldwise.config import ModelConfig, ProjectConfig
from fieldwise.data import load_examples
from fieldwise.pipeline import run_project
from fieldwise.tasks import load_task
from tests.fakes.openai_server import FakeServer, fake_openai  # noqa: F401 - fixture
from tests.fakes.schema_instances import instance

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "invoices"
TASK = load_task(f"{EXAMPLE / 'task.py'}:INVOICES")


def _sent_schema(body: dict[str, Any]) -> dict[str, Any]:
    if "response_format" in body:
        return dict(body["response_format"]["json_schema"]["schema"])
    tool = body["tools"][0]
    return dict(tool["function"]["parameters"] if "function" in tool else tool["input_schema"])


def _project(tmp_path: Path, server: FakeServer, models: list[tuple[str, str]]) -> ProjectConfig:
    lines = (EXAMPLE / "data.jsonl").read_text(encoding="utf-8").splitlines()[:12]
    (tmp_path / "test.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    configs = []
    for provider, mode in models:
        base = server.url if provider == "openai" else server.url.removesuffix("/v1")
        configs.append(
            ModelConfig(
                spec=f"{provider}/fake-{mode}",
                name=f"{provider}-{mode}",
                options={"base_url": base, "output_mode": mode},
                max_retries=0,
            )
        )
    return ProjectConfig(
        task=f"{EXAMPLE / 'task.py'}:INVOICES",
        data={"train": None, "test": str(tmp_path / "test.jsonl")},
        models=configs,
        bootstrap=0,
        output=str(tmp_path / "out"),
        base_dir=tmp_path,
    )


MODES = [("openai", "json_schema"), ("openai", "tools"), ("anthropic", "tools")]


def test_whatever_the_sent_schema_allows_validates_and_scores(
    tmp_path: Path,
    fake_openai: FakeServer,  # noqa: F811 - the fixture
) -> None:
    pytest.importorskip("anthropic")
    rng = random.Random(5)
    fake_openai.behaviour.respond = lambda body: json.dumps(instance(_sent_schema(body), rng))
    result = run_project(_project(tmp_path, fake_openai, MODES), quiet=True)
    assert len(result.results) == len(MODES)
    for res in result.results:
        assert all(err is None for err in res.errors), res.errors
        for output in res.outputs:
            TASK.output_model.model_validate_json(output or "")
        score = res.scores["reference"]
        assert 0 <= score.aggregate < 100
        assert "line_items[].unit_price" in score.paths
    bodies = [r.body for r in fake_openai.snapshot() if r.body]
    strict = [b for b in bodies if "response_format" in b]
    assert strict and all(b["response_format"]["json_schema"]["strict"] for b in strict)
    assert all("$defs" in _sent_schema(b) for b in bodies)  # the nested schema was sent
    assert result.report_path.is_file()


def test_gold_answers_score_100_on_every_path(
    tmp_path: Path,
    fake_openai: FakeServer,  # noqa: F811 - the fixture
) -> None:
    cfg = _project(tmp_path, fake_openai, MODES[:2])
    test = load_examples(TASK, tmp_path / "test.jsonl").examples
    by_text = {ex.text: json.dumps(ex.gold) for ex in test}
    fake_openai.behaviour.reply = lambda text: by_text[text]
    result = run_project(cfg, quiet=True)
    for res in result.results:
        score = res.scores["reference"]
        assert score.aggregate == 100
        assert set(score.paths.values()) == {1.0}
        assert {s.path for s in TASK.leaves()} <= set(score.paths)
