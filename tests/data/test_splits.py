from __future__ import annotations

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
