"""The verdict claims only what survives the pairwise tests; the matrix shows the same."""

from __future__ import annotations

import numpy as np

from fieldwise.report._compare import comparison_table, matrix
from fieldwise.report._summary import ranking, why
from fieldwise.scoring._types import ModelResult
from fieldwise.scoring.stats import Resamples
from tests.report.helpers import FIELDS, make_score

N = 400


def _result(label: str, per_row: np.ndarray) -> ModelResult:
    return ModelResult(label, f"fake/{label}", "api", [None] * N, [None] * N,
                       {"reference": make_score(per_row)})  # fmt: skip


def _pair(drop: int, field: int = 0, seed: int = 0) -> list[ModelResult]:
    rng = np.random.default_rng(seed)
    a = (rng.random((N, len(FIELDS))) < 0.8).astype(float)
    b = a.copy()
    wrong = np.flatnonzero(a[:, field] == 1)[:drop]
    b[wrong, field] = 0.0  # b misses ``drop`` rows that a gets, on one field only
    return [_result("a", a), _result("b", b)]


def _verdict(results: list[ModelResult]) -> dict[str, object]:
    order = ranking(results, "reference")
    table = comparison_table(results, "reference", FIELDS, Resamples(N, 500))
    return why(results, order, "reference", FIELDS, table)


def test_a_real_lead_is_claimed_with_the_field_it_comes_from() -> None:
    out = _verdict(_pair(drop=60, field=1))
    assert out["winner"] == "a" and out["runner_up"] == "b"
    assert out["significant"] is True and out["below_mde"] is False
    assert [f for f, _ in out["gains"]] == [FIELDS[1]]  # type: ignore[attr-defined]
    assert out["losses"] == []
    assert "differences under" in str(out["resolution"])


def test_a_small_lead_is_not_claimed_and_warns_below_the_detectable_size() -> None:
    out = _verdict(_pair(drop=3, field=2))
    assert out["winner"] == "a"
    assert out["significant"] is False and out["below_mde"] is True
    assert out["gains"] == []  # 3 rows on one field do not survive Holm


def test_matrix_is_antisymmetric_and_marks_significant_cells() -> None:
    results = _pair(drop=60, field=1)
    table = comparison_table(results, "reference", FIELDS, Resamples(N, 300))
    rows = dict(matrix(table, ["a", "b"]))
    assert rows["a"][0].css == "self"
    assert rows["a"][1].css == "win" and rows["b"][0].css == "loss"
    assert rows["a"][1].text.startswith("▲+") and rows["b"][0].text.startswith("▼-")
