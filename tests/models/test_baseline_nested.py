"""The embedded baseline on a nested task: object leaves are predicted like top-level
fields, a records field it cannot model is null (said once by ``train``), no crash."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from fieldwise.data import load_examples
from fieldwise.models import create_model
from fieldwise.tasks import load_task
from tests.cli.helpers import cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "invoices"
TASK = f"{EXAMPLE / 'task.py'}:INVOICES"


@pytest.mark.slow
def test_train_says_once_and_predicts_nested_objects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (EXAMPLE / "data.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "train.jsonl").write_text("\n".join(lines[:40]) + "\n", encoding="utf-8")
    (tmp_path / "test.jsonl").write_text("\n".join(lines[150:170]) + "\n", encoding="utf-8")
    code, out, err = cli(
        capsys, "train", "baseline", "--task", TASK, "--data", str(tmp_path / "train.jsonl"),
        "--out", str(tmp_path / "model"), "--option", "calibration_folds=0",
        "--option", "max_features=1500",
    )  # fmt: skip
    assert code == 0, err
    assert err.count("cannot model the list field 'line_items'") == 1
    assert "abstention" in " ".join(err.split())
    task = load_task(TASK)
    test = load_examples(task, tmp_path / "test.jsonl").examples
    model = create_model(f"baseline/{out.strip()}", task, {})
    names = numbers = 0
    for ex, gen in zip(test, asyncio.run(model.generate(test)), strict=True):
        value, gold = json.loads(gen.output or ""), ex.gold or {}
        assert list(value) == list(task.output_model.model_fields)
        assert set(value["vendor"]) == {"name", "country", "vat_id"}
        assert value["line_items"] is None
        task.output_model.model_validate({**value, "line_items": []})
        names += value["vendor"]["name"] == gold["vendor"]["name"]
        numbers += value["invoice_number"] == gold["invoice_number"]
    assert names >= len(test) // 2  # vendor names are learnt: the leaf was really fitted
    assert numbers >= len(test) // 2  # a new number per row: copied from the text


def test_span_head_copies_a_token_or_declines() -> None:
    from fieldwise.models.baseline._span import SpanHead

    texts = [f"Invoice No. {1000 + 7 * i} for {i} items, ref {i}" for i in range(30)]
    golds = [str(1000 + 7 * i) for i in range(30)]
    head = SpanHead.fit(texts, golds, 4.0)
    assert head is not None
    ((value, conf),) = head.predict(["Invoice No. 5555 for 3 items, ref 3"])
    assert value == "5555" and conf > 0.5
    assert SpanHead.fit(texts, [f"#{g}" for g in golds], 4.0) is None  # never a token
