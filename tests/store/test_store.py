"""The SQLite store: migrations, predictions, runs, datasets and registered models."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from fieldwise.errors import UserError
from fieldwise.store import STORE_FILENAME, PredictionRow, RunRecord, Store
from fieldwise.store._migrations import MIGRATIONS, migrate
from fieldwise.tasks import Example


def test_migrations_run_once_and_are_idempotent(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        migrate(store.db)
        migrate(store.db)
        names = [r[0] for r in store.db.execute("SELECT name FROM _migrations")]
        assert names == [name for name, _ in MIGRATIONS]
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        store.save_predictions(None, "m", [PredictionRow("k", "e1", "{}")])
    with Store(tmp_path) as again:  # reopening migrates nothing and keeps the data
        assert len(list(again.db.execute("SELECT name FROM _migrations"))) == len(MIGRATIONS)
        assert set(again.finished(["k"])) == {"k"}


def test_finished_excludes_errors_and_saving_replaces(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.save_predictions(
            1,
            "m",
            [
                PredictionRow("a", "e1", '{"x": 1}', None, 0.5, 10, 2, 0.001, "stop"),
                PredictionRow("b", "e2", None, "HTTP 400: too long"),
                PredictionRow("c", "e3", None),  # no output and no error: a model's empty answer
            ],
        )
        done = store.finished(["a", "b", "c", "zzz"])
        assert set(done) == {"a", "c"}
        assert done["a"] == PredictionRow("a", "e1", '{"x": 1}', None, 0.5, 10, 2, 0.001, "stop")
        assert set(store.predictions_by_key(["a", "b"])) == {"a", "b"}
        store.save_predictions(2, "m", [PredictionRow("b", "e2", "fixed")])
        assert store.finished(["b"])["b"].output == "fixed"
        count = store.db.execute("SELECT count(*) FROM predictions WHERE key = 'b'").fetchone()[0]
        assert count == 1
        assert store.labels() == ["m"]
        assert [r["example_id"] for r in store.predictions_for_label("m")] == ["e1", "e2", "e3"]


def test_finished_handles_many_keys(tmp_path: Path) -> None:
    keys = [f"k{i}" for i in range(1234)]
    with Store(tmp_path) as store:
        store.save_predictions(None, "m", [PredictionRow(k, k, "out") for k in keys[::2]])
        assert set(store.finished(keys)) == set(keys[::2])


def test_datasets_round_trip(tmp_path: Path) -> None:
    examples = [
        Example("a", "Kabul — 3 détenus", {"province": ["kabul"], "min_captured": 3}),
        Example("b", "no label here", None),
    ]
    with Store(tmp_path) as store:
        store.save_dataset("isaf", "fp1", "file.jsonl", examples)
        store.save_dataset("isaf", "fp1", "file.jsonl", examples)  # idempotent
        assert store.load_dataset("fp1") == examples
        rows = store.db.execute("SELECT count(*) FROM examples").fetchone()[0]
        assert rows == 2
        with pytest.raises(UserError):
            store.load_dataset("nope")


def test_a_dataset_with_a_lone_surrogate_is_stored_scrubbed_and_whole(tmp_path: Path) -> None:
    examples = [Example(f"r{i}", f"text {i}", None) for i in range(50)]
    examples.insert(30, Example("bad\ud800", "a \udfff b", {"x": "\ud801"}))
    with Store(tmp_path) as store:
        store.save_dataset("isaf", "fp1", "file.jsonl", examples)
        stored = store.load_dataset("fp1")
        rows = store.db.execute("SELECT count(*) FROM datasets").fetchone()[0]
    assert rows == 1 and len(stored) == 51
    assert (stored[30].id, stored[30].text, stored[30].gold) == (
        "bad\ufffd",
        "a \ufffd b",
        {"x": "\ud801"},
    )
    assert stored[:30] + stored[31:] == examples[:30] + examples[31:]


def test_a_new_store_has_16k_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    with Store(tmp_path / "new") as store:
        assert store.db.execute("PRAGMA page_size").fetchone()[0] == 16384
    old = tmp_path / "old"
    old.mkdir()
    db = sqlite3.connect(old / "fieldwise.sqlite")
    db.execute("PRAGMA page_size=4096")
    db.execute("CREATE TABLE keep (x)")
    db.execute("INSERT INTO keep VALUES (1)")
    db.commit()
    db.close()
    with Store(old) as store:
        assert store.db.execute("PRAGMA page_size").fetchone()[0] == 4096
        store.save_dataset("isaf", "fp", None, [Example("a", "t", None)])
        assert [tuple(r) for r in store.db.execute("SELECT x FROM keep")] == [(1,)]
        assert len(store.load_dataset("fp")) == 1


def test_runs_and_models(tmp_path: Path) -> None:
    record = RunRecord(
        "m",
        "openai/x",
        "api",
        "isaf",
        {"name": "x"},
        {"temperature": 0},
        "h",
        "fp",
        "src",
        3,
        "0.1.0",
        None,
        {"concurrency": 4},
    )
    with Store(tmp_path) as store:
        run_id = store.start_run(record)
        store.finish_run(run_id)
        (run,) = store.runs("m")
        assert run["status"] == "finished" and run["finished_at"] and run["n_examples"] == 3
        assert store.runs("other") == []
        store.register_model("m", "openai/x", "api", {"output_mode": "tools"}, note="n")
        (model,) = store.models()
        assert model["options"] == {"output_mode": "tools"} and model["note"] == "n"


def test_a_corrupt_store_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / STORE_FILENAME).write_bytes(b"this is not a database" * 100)
    with pytest.raises(UserError, match="cannot open store"):
        Store(tmp_path)
