"""Reading and storing outputs made elsewhere (``fieldwise.store.imports``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldwise.data import Dataset, fingerprint_examples
from fieldwise.errors import UserError
from fieldwise.models._model import prediction_key
from fieldwise.store import Store
from fieldwise.store.imports import (
    import_identity,
    import_jsonl,
    import_prediction_dicts,
    read_predictions,
)
from fieldwise.tasks import Example

EXAMPLES = [Example(f"e{i}", f"text number {i}", {"killq": True}) for i in range(4)]
DATASET = Dataset(EXAMPLES, "gold.jsonl", fingerprint_examples(EXAMPLES))


def _write(path: Path, *lines: object) -> Path:
    path.write_text(
        "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines),
        encoding="utf-8",
    )
    return path


def test_a_line_without_output_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.jsonl", {"id": "e0", "output": "{}"}, {"id": "e1", "out": "{}"})
    with pytest.raises(UserError) as info:
        read_predictions(path)
    assert info.value.args[0] == f"{path}:2: no 'output' key (the line has 'id', 'out')"
    assert '"output"' in (info.value.hint or "")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"output": "{}"}', ":1: no 'id' key"),
        ('{"id": null, "output": "{}"}', ":1: 'id' must be a string or a number"),
        ('{"id": "", "output": "{}"}', ":1: empty 'id'"),
        ("[1, 2]", ":1: expected an object with 'id' and 'output'"),
        ('{"id": "e0", "output": ', ":1: invalid JSON"),
    ],
)
def test_malformed_lines(tmp_path: Path, line: str, message: str) -> None:
    path = _write(tmp_path / "p.jsonl", line)
    with pytest.raises(UserError, match=message):
        read_predictions(path)


def test_a_repeated_id_names_both_lines(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "p.jsonl", {"id": "e0", "output": "a"}, "", {"id": "e0", "output": "b"}
    )
    with pytest.raises(UserError, match=r"p.jsonl:3: id 'e0' repeats line 1"):
        read_predictions(path)


def test_bytes_that_are_not_utf8_name_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_bytes(b'{"id": "e0", "output": "ok"}\n{"id": "e1", "output": "\xff"}\n')
    with pytest.raises(UserError, match=r"p.jsonl:2:25: not UTF-8 \(byte 0xff\)"):
        read_predictions(path)


def test_values_numbers_and_line_separators(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "p.jsonl",
        {"id": 7, "output": {"killq": True}},  # a number id, an object output
        '{"id": "e1", "output": "a\u2028b"}',  # a raw U+2028 is not a line end
        {"id": "e2", "output": None, "extra": 1},
    )
    found = read_predictions(path)
    assert found.outputs == {"7": '{"killq": true}', "e1": "a\u2028b", "e2": None}
    assert found.lines == {"7": 1, "e1": 2, "e2": 3}


def test_import_is_a_run_with_keyed_predictions_and_rereading_adds_nothing(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path / "p.jsonl", {"id": "e1", "output": "{}"}, {"id": "e0", "output": "x"})
    with Store(tmp_path / "proj") as store:
        store.save_dataset("isaf", DATASET.fingerprint, DATASET.source, EXAMPLES)
        done = import_jsonl(store, "theirs", path, DATASET, "isaf")
        assert (done.stored, done.dataset_rows, done.without_prediction) == (2, 4, 2)
        (run,) = store.runs("theirs")
        assert (run["id"], run["spec"], run["status"]) == (done.run_id, "import/theirs", "finished")
        assert run["n_examples"] == 2 and run["dataset_fingerprint"] == DATASET.fingerprint
        key = prediction_key(import_identity("theirs"), EXAMPLES[1])
        assert store.predictions_by_key([key])[key].output == "{}"
        assert import_jsonl(store, "theirs", path, DATASET, "isaf").run_id == done.run_id
        assert len(store.runs("theirs")) == 1
        _write(path, {"id": "e1", "output": "changed"})
        again = import_jsonl(store, "theirs", path, DATASET, "isaf")
        assert again.run_id != done.run_id and len(store.runs("theirs")) == 2
        assert store.predictions_by_key([key])[key].output == "changed"


def test_an_id_outside_the_dataset_is_an_error_naming_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.jsonl", {"id": "e0", "output": "{}"}, {"id": "zz", "output": "{}"})
    with Store(tmp_path / "proj") as store, pytest.raises(UserError) as info:
        import_jsonl(store, "theirs", path, DATASET, "isaf")
    assert str(info.value) == f"{path}:2: id 'zz' is not in gold.jsonl"


def test_dicts_import_records_one_run_per_model(tmp_path: Path) -> None:
    records = [
        {"id": "e0", "predictions": {"a": "{}", "b": {"killq": False}}},
        {"text": "TEXT  number 1", "predictions": json.dumps({"a": "x"})},  # matched by text
        {"id": "nowhere", "predictions": {"a": "y"}},
    ]
    with Store(tmp_path / "proj") as store:
        done = import_prediction_dicts(store, records, DATASET, "isaf", source="pub.jsonl")
        assert {k: v.stored for k, v in done.items()} == {"a": 2, "b": 1}
        assert [r["label"] for r in store.runs()] == ["a", "b"]
        with pytest.raises(UserError, match="row 1: expected an object"):
            import_prediction_dicts(store, ["x"], DATASET, "isaf", source="pub.jsonl")  # type: ignore[list-item]
