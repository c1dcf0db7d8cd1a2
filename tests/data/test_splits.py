from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldwise.data import check_leakage, group_kfold, train_test_split
from fieldwise.errors import UserError
from fieldwise.tasks import Example


def examples(n: int, dupes: int = 0) -> list[Example]:
    rows = [Example(f"r{i}", f"release number {i} about event {i * 7}", {}) for i in range(n)]
    rows += [Example(f"d{i}", f"Release  NUMBER {i} about event {i * 7}", {}) for i in range(dupes)]
    return rows


def test_train_test_split_keeps_text_groups_together() -> None:
    rows = examples(50, dupes=10)
    train, test = train_test_split(rows, 0.3, seed=1)
    assert len(train) + len(test) == 60
    assert check_leakage(train, test).clean
    assert abs(len(test) - 18) <= 2


def test_group_kfold_covers_every_row_once_without_leaks() -> None:
    rows = examples(40, dupes=8)
    folds = group_kfold(rows, 5, seed=3)
    seen = [ex.id for _, test in folds for ex in test]
    assert sorted(seen) == sorted(ex.id for ex in rows)
    for train, test in folds:
        assert check_leakage(train, test).clean
        assert len(train) + len(test) == len(rows)


def test_leakage_check_finds_exact_and_near_duplicates() -> None:
    base = "an afghan and coalition force detained two suspected insurgents in the village today"
    train = [Example("t1", base), Example("t2", "something else entirely about a weapons cache")]
    test = [
        Example("x1", base.upper()),
        Example("x2", base + " officials said"),
        Example("x3", "unrelated text"),
    ]
    report = check_leakage(train, test)
    assert report.exact == [("x1", "t1")]
    assert [(a, b) for a, b, _ in report.near] == [("x2", "t1")]


def test_bad_split_arguments() -> None:
    with pytest.raises(UserError):
        train_test_split(examples(5), 1.5)
    with pytest.raises(UserError):
        group_kfold(examples(3), 5)


def test_a_group_column_keeps_its_groups_on_one_side(tmp_path: Path) -> None:
    from fieldwise.data import load_examples
    from fieldwise.tasks import load_task

    isaf = load_task("isaf")
    sample = load_examples(isaf, "sample").examples[:30]
    path = tmp_path / "grouped.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": e.id, "text": e.text, "doc": f"g{i // 5}", **(e.gold or {})}) + "\n"
            for i, e in enumerate(sample)
        )
    )
    rows = load_examples(isaf, path, group_column="doc").examples
    assert [r.group for r in rows[:6]] == ["g0"] * 5 + ["g1"]
    train, test = train_test_split(rows, 0.3, seed=2)
    assert not {r.group for r in train} & {r.group for r in test}
    with pytest.raises(UserError, match="group column 'missing'"):
        load_examples(isaf, path, group_column="missing")
