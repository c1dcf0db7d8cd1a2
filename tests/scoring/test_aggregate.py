"""Aggregation, validity counts, bootstrap CIs, input errors and the profile registry."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import numpy as np
import pytest

from fieldwise.errors import UserError
from fieldwise.scoring import (
    PROFILES,
    Profile,
    parse_output,
    prepare_golds,
    register_profile,
    score_outputs,
    score_parsed,
)
from fieldwise.tasks import FieldSpec
from tests.scoring.helpers import ISAF, ISAF_GOLD, isaf_pred


def noisy_outputs(n: int, seed: int, p_wrong: float = 0.3) -> list[str | None]:
    rng = random.Random(seed)
    outs: list[str | None] = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.05:
            outs.append("garbage")
        elif roll < p_wrong:
            outs.append(isaf_pred(min_killed=7, killq=False, event_type=["airstrike"]))
        else:
            outs.append(isaf_pred())
    return outs


def test_aggregate_is_mean_of_field_means_times_100() -> None:
    outputs = [isaf_pred(), isaf_pred(killq=False, min_killed=0), "nope", None]
    score = score_outputs(ISAF, [ISAF_GOLD] * 4, outputs, n_boot=0)["reference"]
    assert score.fields["killq"] == 0.25
    assert score.fields["province"] == 0.5
    expected = np.mean([score.fields[f] for f in score.field_names]) * 100
    assert score.aggregate == pytest.approx(expected)
    assert score.aggregate == pytest.approx((2 * 13 - 2) / (4 * 13) * 100)
    assert score.validity == {
        "ok": 2,
        "fenced": 0,
        "missing": 1,
        "invalid_json": 1,
        "not_object": 0,
    }


def test_both_profiles_by_default_and_to_json_is_strict_json() -> None:
    scores = score_outputs(ISAF, [ISAF_GOLD], [isaf_pred()], n_boot=0)
    assert list(scores) == ["reference", "strict"]
    payload = scores["reference"].to_json()
    text = json.dumps(payload, allow_nan=False)  # NaN CIs become null
    assert json.loads(text)["aggregate_ci"] == [None, None]
    assert {"rows", "aggregate", "fields"} <= set(payload)
    assert payload["rows"] == 1 and payload["aggregate"] == 100.0


def test_score_parsed_matches_score_outputs() -> None:
    outputs = noisy_outputs(50, seed=1)
    golds = [ISAF_GOLD] * 50
    a = score_outputs(ISAF, golds, outputs, n_boot=100)
    b = score_parsed(ISAF, golds, [parse_output(o) for o in outputs], n_boot=100)
    for name in a:
        np.testing.assert_array_equal(a[name].per_row, b[name].per_row)
        assert a[name].to_json() == b[name].to_json()


def test_gold_table_is_reusable_across_models() -> None:
    golds = [ISAF_GOLD] * 30
    table = prepare_golds(ISAF, golds)
    for seed in range(3):
        outs = noisy_outputs(30, seed)
        assert (
            score_outputs(ISAF, table, outs)["strict"].to_json()
            == score_outputs(ISAF, golds, outs)["strict"].to_json()
        )


def test_bootstrap_ci_contains_point_estimate_and_narrows_with_more_rows() -> None:
    widths = []
    for n in (40, 640):
        score = score_outputs(ISAF, [ISAF_GOLD] * n, noisy_outputs(n, seed=n))["reference"]
        lo, hi = score.aggregate_ci
        assert lo <= score.aggregate <= hi
        for field, (flo, fhi) in score.field_ci.items():
            assert flo <= score.fields[field] <= fhi
        widths.append(hi - lo)
    assert widths[1] < widths[0] / 2  # ~sqrt(16) = 4x narrower in theory


def test_bootstrap_is_reproducible_and_seeded() -> None:
    outs = noisy_outputs(60, seed=3)
    golds = [ISAF_GOLD] * 60
    a = score_outputs(ISAF, golds, outs, seed=5)["reference"].aggregate_ci
    b = score_outputs(ISAF, golds, outs, seed=5)["reference"].aggregate_ci
    c = score_outputs(ISAF, golds, outs, seed=6)["reference"].aggregate_ci
    assert a == b
    assert a != c


def test_bootstrap_with_abstentions_ignores_nan() -> None:
    outs = [isaf_pred(killq=None)] * 5 + [isaf_pred()] * 5 + [isaf_pred(killq=False)] * 10
    score = score_outputs(ISAF, [ISAF_GOLD] * 20, outs, n_boot=500)["strict"]
    lo, hi = score.field_ci["killq"]
    assert score.fields["killq"] == pytest.approx(1 / 3)
    assert 0.0 <= lo <= 1 / 3 <= hi <= 1.0
    assert not math.isnan(score.aggregate_ci[0])


def test_missing_gold_field_is_unscored() -> None:
    gold = {k: v for k, v in ISAF_GOLD.items() if k != "noshotsfired"}
    score = score_outputs(ISAF, [gold, ISAF_GOLD], [isaf_pred(), isaf_pred()], n_boot=0)
    ref = score["reference"]
    j = ref.field_names.index("noshotsfired")
    assert math.isnan(ref.per_row[0, j]) and ref.per_row[1, j] == 1.0
    assert ref.fields["noshotsfired"] == 1.0
    assert ref.coverage["noshotsfired"] == 1.0


@pytest.mark.parametrize(
    ("golds", "outputs", "message"),
    [
        ([ISAF_GOLD], [], "0 predictions for 1 gold rows"),
        ([], [], "no gold rows"),
        (["not a dict"], ["{}"], "gold row 0 is not a JSON object"),
    ],
)
def test_bad_input_is_a_user_error(golds: Any, outputs: Any, message: str) -> None:
    with pytest.raises(UserError, match=message):
        score_outputs(ISAF, golds, outputs)


def test_unknown_profile_is_a_user_error() -> None:
    with pytest.raises(UserError, match="unknown scoring profile 'nope'"):
        score_outputs(ISAF, [ISAF_GOLD], ["{}"], profiles=("nope",))


def test_task_by_name_and_single_profile_string() -> None:
    score = score_outputs("isaf", [ISAF_GOLD], [isaf_pred()], profiles="strict", n_boot=0)
    assert list(score) == ["strict"]


def test_register_a_custom_profile() -> None:
    class Lenient(Profile):
        name = "test-anything-goes"

        def score(self, spec: FieldSpec, preds: Any, gold: Any) -> np.ndarray:
            return np.ones(len(preds))

    try:
        register_profile(Lenient)
        score = score_outputs(ISAF, [ISAF_GOLD], ["junk"], profiles=(Lenient.name,), n_boot=0)
        assert score[Lenient.name].aggregate == 100.0
    finally:
        PROFILES.pop(Lenient.name, None)


@pytest.mark.parametrize("rows", [1, 2, 7, 1000])
def test_fast_percentiles_match_numpy(rows: int) -> None:
    from fieldwise.scoring._resampling import _percentiles

    values = np.random.default_rng(rows).random((rows, 3))
    q = [2.5, 50.0, 97.5]
    np.testing.assert_allclose(_percentiles(values, q), np.percentile(values, q, axis=0))


def test_inlined_parse_agrees_with_parse_output_and_gc_is_restored() -> None:
    import gc

    raws: list[Any] = [None, "", " \n", "{", "1", "[]", '\n{"killq": true}', b"{}", "[" * 5000]
    raws += ['```json\n{"killq": true}\n```', "```\n[]\n```"]
    expected = dict.fromkeys(["ok", "fenced", "missing", "invalid_json", "not_object"], 0)
    for raw in raws:
        expected[parse_output(raw).status] += 1
    assert gc.isenabled()
    score = score_outputs(ISAF, [ISAF_GOLD] * len(raws), raws, n_boot=0)["reference"]
    assert score.validity == expected
    assert gc.isenabled()


def test_fenced_outputs_are_their_own_class_and_read_only_when_asked() -> None:
    from fieldwise.scoring import PROFILES

    good = isaf_pred()
    outputs = [good, f"```json\n{good}\n```", "```json\n{not json\n```"]
    plain = score_outputs(ISAF, [ISAF_GOLD] * 3, outputs, n_boot=0)
    lenient = score_outputs(ISAF, [ISAF_GOLD] * 3, outputs, n_boot=0, strip_fences=True)
    for scores in (plain, lenient):
        assert scores["reference"].validity["fenced"] == 1
        assert scores["reference"].validity["invalid_json"] == 1
    np.testing.assert_array_equal(plain["reference"].per_row, lenient["reference"].per_row)
    assert plain["reference"].per_row[1].sum() == 0  # reference never reads inside a fence
    assert plain["strict"].per_row[1].sum() == 0
    np.testing.assert_array_equal(lenient["strict"].per_row[1], lenient["strict"].per_row[0])
    assert not PROFILES["reference"].accepts_fenced and PROFILES["strict"].accepts_fenced
    parsed = [parse_output(o) for o in outputs]
    again = score_parsed(ISAF, [ISAF_GOLD] * 3, parsed, n_boot=0, strip_fences=True)
    np.testing.assert_array_equal(again["strict"].per_row, lenient["strict"].per_row)
    np.testing.assert_array_equal(again["reference"].per_row, plain["reference"].per_row)
