"""The non-ISAF example project in ``examples/recalls``: schema inference, overrides,
its data file and its project config."""

from __future__ import annotations

import json
from pathlib import Path

from fieldwise.config import load_config
from fieldwise.data.loading import load_examples
from fieldwise.data.splits import group_key, train_test_split
from fieldwise.tasks import load_task
from tests.tasks.examples import load_generator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "recalls"


def test_fields_are_inferred_and_overridden() -> None:
    task = load_task(f"{EXAMPLE / 'task.py'}:RECALLS")
    kinds = {f.name: (f.kind, f.metric.name) for f in task.fields}
    assert kinds == {
        "product": ("text", "ignore"),
        "company": ("text", "exact"),
        "hazard": ("label_set", "set_equal"),
        "units_recalled": ("int", "int_equal"),
        "injuries_reported": ("bool", "equal"),
        "announced_date": ("date", "exact"),
        "country": ("label", "equal"),
        "remedy": ("label", "equal"),
    }
    assert task.field("country").aliases["united states"] == "us"
    assert "fire" in task.field("hazard").labels
    assert len(task.scored_fields) == 7 and task.instructions


def test_data_loads_and_validates() -> None:
    task = load_task(f"{EXAMPLE / 'task.py'}:RECALLS")
    ds = load_examples(task, EXAMPLE / "data.jsonl")
    assert 50 <= len(ds) <= 80 and ds.labelled
    for ex in ds.examples:
        assert ex.gold is not None
        task.output_model.model_validate(ex.gold)
    assert load_examples(task, "sample").fingerprint == ds.fingerprint
    train, test = train_test_split(ds.examples, 0.2, seed=0)
    assert not {group_key(e) for e in train} & {group_key(e) for e in test}


def test_labels_agree_with_text() -> None:
    for line in (EXAMPLE / "data.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        assert row["company"] in row["text"]
        if row["units_recalled"] == 0:
            assert "Units:" not in row["text"]
        if not row["injuries_reported"]:
            assert "no injuries" in row["text"].lower()


def test_config_resolves_relative_to_its_file(tmp_path: Path) -> None:
    cfg = load_config(EXAMPLE / "fieldwise.yaml")
    task_spec = cfg.resolve_task()
    assert Path(task_spec.split(":")[0]) == EXAMPLE / "task.py"
    assert load_task(task_spec).name == "recalls"
    assert Path(cfg.resolve(cfg.data.train) or "") == EXAMPLE / "data.jsonl"
    assert cfg.data.test is None and cfg.data.test_size == 0.2
    assert [m.spec for m in cfg.models] == ["baseline/auto"]


def test_generator_reproduces_the_data_file() -> None:
    built = "".join(json.dumps(r) + "\n" for r in load_generator("recalls").build())
    assert built == (EXAMPLE / "data.jsonl").read_text(encoding="utf-8")
