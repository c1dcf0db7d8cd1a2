"""Confidence signals are stored with their prediction: through the runner (and kept when
a run resumes), through imports (``confidence`` and ``logprobs`` columns), and never
read by the resume path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldwise._hashing import prediction_key
from fieldwise.data import Dataset
from fieldwise.errors import UserError
from fieldwise.models import Generation, Model
from fieldwise.runner import run_model
from fieldwise.store import Store
from fieldwise.store.imports import import_identity, import_jsonl
from fieldwise.tasks import Example, load_task

ISAF = load_task("isaf")
ROWS = [Example(f"e{i}", f"text number {i}") for i in range(4)]


class _Sure(Model):
    """Answers ``{"a": i}`` with its own probability, counting its calls."""

    provider = "sure-test"
    calls = 0

    async def generate(self, batch: list[Example]) -> list[Generation]:
        _Sure.calls += len(batch)
        out = []
        for ex in batch:
            text = json.dumps({"a": ex.id})
            ends = list(range(1, len(text) + 1))
            signals = {"tokens": {"end": ends, "logprob": [-0.1] * len(text)}, "prob": {"a": 0.7}}
            out.append(Generation(text, signals=signals))
        return out


def test_runner_stores_signals_and_a_resumed_run_keeps_them(tmp_path: Path) -> None:
    _Sure.calls = 0
    with Store(tmp_path) as store:
        first = run_model(_Sure("m", ISAF), ROWS, store, label="m", run_id=None)
        keys = [r.key for r in first.rows]
        stored = store.signals_by_key(keys)
        assert set(stored) == set(keys)
        assert all(s["prob"] == {"a": 0.7} for s in stored.values())
        assert all(r.signals is None for r in store.predictions_by_key(keys).values())
        again = run_model(_Sure("m", ISAF), ROWS, store, label="m", run_id=None)
        assert again.computed == 0 and _Sure.calls == len(ROWS)
        assert store.signals_by_key(keys) == stored


def test_a_backends_malformed_signals_are_dropped_not_stored(tmp_path: Path) -> None:
    class _Bad(_Sure):
        provider = "bad-test"

        async def generate(self, batch: list[Example]) -> list[Generation]:
            return [
                Generation("{}", signals={"tokens": {"end": [9], "logprob": [-1]}}) for _ in batch
            ]

    with Store(tmp_path) as store:
        rows = run_model(_Bad("m", ISAF), ROWS, store, label="m", run_id=None).rows
        assert store.signals_by_key(r.key for r in rows) == {}
        assert all(r.output == "{}" for r in rows)


def _import(tmp_path: Path, lines: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    path = tmp_path / "preds.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    with Store(tmp_path / "p") as store:
        import_jsonl(store, "them", path, Dataset(ROWS, "rows", "f" * 16), "isaf")
        keys = {ex.id: prediction_key(import_identity("them"), ex) for ex in ROWS}
        found = store.signals_by_key(keys.values())
        return {i: found[k] for i, k in keys.items() if k in found}


def test_imports_keep_their_confidence_and_logprobs(tmp_path: Path) -> None:
    output = '{"province": ["kabul"]}'
    logprobs = [{"token": c, "logprob": -0.2, "bytes": list(c.encode())} for c in output]
    got = _import(
        tmp_path,
        [
            {"id": "e0", "output": output, "confidence": {"province": 0.8}},
            {"id": "e1", "output": output, "logprobs": {"content": logprobs}},
            {"id": "e2", "output": output},
        ],
    )
    assert got["e0"] == {"prob": {"province": 0.8}}
    assert got["e1"]["tokens"]["end"][-1] == len(output) and "e2" not in got


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"confidence": {"province": 1.3}}, "from 0 to 1"),
        ({"confidence": 0.9}, "an object"),
        ({"logprobs": [{"token": "x", "logprob": -1}]}, "spell the output"),
    ],
)
def test_a_bad_signal_in_an_import_names_the_line(
    tmp_path: Path, extra: dict[str, object], needle: str
) -> None:
    with pytest.raises(UserError, match=needle) as info:
        _import(tmp_path, [{"id": "e0", "output": "{}"}, {"id": "e1", "output": "{}", **extra}])
    assert "preds.jsonl:2" in str(info.value)
