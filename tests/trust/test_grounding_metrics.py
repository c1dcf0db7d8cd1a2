"""Grounding metrics and the ``require_grounding`` profile option, on hand-built rows."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fieldwise.errors import UserError
from fieldwise.scoring import get_profile, prepare_golds, score_outputs
from fieldwise.tasks import Example, load_task
from fieldwise.trust.grounding import char_iou, grounding_scores
from tests.nested_task import INVOICE, invoice, item

ISAF = load_task("isaf")


def _gold(province: list[str], killed: int = 0) -> dict[str, object]:
    return {
        "name": "x", "start_date": "2011-03-02", "event_type": ["detention"],
        "province": province, "target_group": [""], "min_killed": killed, "min_captured": 0,
        "killq": False, "captureq": True, "killcaptureraid": False, "airstrike": False,
        "noshotsfired": False, "min_leaders_killed": 0, "min_leaders_captured": 0,
    }  # fmt: skip


# "Forces detained a man in Kandahar." : "Kandahar" at 25-33
ROWS = [
    Example("r1", "Forces detained a man in Kandahar.", _gold(["kandahar"])),
    Example("r2", "Forces detained a man in Kabul.", _gold(["kabul"])),
    Example("r3", "Forces detained a man in Kabul.", _gold(["kabul"])),
    Example("r4", "Forces detained a man in the east.", _gold(["paktya"])),
]
ANSWERS = [
    {"province": ["kandahar"], "min_killed": 0},  # grounded, right
    {"province": ["helmand"], "min_killed": 0},  # not in the text, wrong: hallucinated
    {"province": ["kabul", "zabul"], "min_killed": 0},  # one grounded right, one hallucinated
    {"province": ["paktya"], "min_killed": 0},  # not in the text, but right (inferred)
]


def test_rates_per_field_and_pooled_over_required_fields() -> None:
    g = grounding_scores(ISAF, ROWS, ANSWERS, get_profile("strict"))
    province = g.fields["province"]
    assert (province.values, province.grounded, province.ungrounded_wrong) == (5, 2, 2)
    assert province.grounded_rate == pytest.approx(2 / 5)
    assert province.hallucination_rate == pytest.approx(2 / 5)
    # min_killed (optional) is 0 everywhere and right: never written, never a hallucination
    killed = g.fields["min_killed"]
    assert (killed.values, killed.grounded, killed.ungrounded_wrong) == (4, 0, 0)
    # the model-level rates pool the required fields only (province)
    assert g.grounded_rate == pytest.approx(2 / 5) and g.hallucination_rate == pytest.approx(2 / 5)
    assert math.isnan(province.grounded_correct_rate)  # no gold spans in these rows
    assert set(g.fields) == {
        "start_date", "province", "target_group", "min_killed", "min_captured",
        "min_leaders_killed", "min_leaders_captured",
    }  # fmt: skip
    assert g.evidence[0]["province[0]"].start == 25


def test_correctness_follows_the_profile() -> None:
    rows = [Example("a", "Seen in Sar-e Pul.", _gold(["sar_e_pul"]))]
    answers = [{"province": ["Sar-e Pul"]}]  # grounded; right only once labels normalise
    reference = grounding_scores(ISAF, rows, answers, get_profile("reference")).fields["province"]
    strict = grounding_scores(ISAF, rows, answers, get_profile("strict")).fields["province"]
    assert reference.grounded == strict.grounded == 1
    rows2 = [Example("a", "Seen in the north.", _gold(["sar_e_pul"]))]
    ref2 = grounding_scores(ISAF, rows2, answers, get_profile("reference")).fields["province"]
    strict2 = grounding_scores(ISAF, rows2, answers, get_profile("strict")).fields["province"]
    assert ref2.ungrounded_wrong == 1 and strict2.ungrounded_wrong == 0


def test_grounded_correct_needs_an_iou_of_a_half_with_a_gold_span() -> None:
    assert char_iou((25, 33), [25, 33]) == 1.0
    assert char_iou((25, 33), [21, 33]) == pytest.approx(8 / 12)
    assert char_iou((25, 33), [0, 24]) == 0.0
    text = "Kandahar police said forces detained a man in Kandahar."
    #       0-8 "Kandahar" ... the second "Kandahar" at 46-54
    rows = [
        Example("a", text, _gold(["kandahar"]), spans={"province": [[46, 54]]}),
        Example("b", text, _gold(["kandahar"]), spans={"province": [[0, 8]]}),
        Example("c", text, _gold(["helmand"]), spans={"province": [[0, 8]]}),
    ]
    answers = [{"province": ["kandahar"]}] * 3
    f = grounding_scores(ISAF, rows, answers, get_profile("strict")).fields["province"]
    # the first occurrence (0-8) is the evidence: row a's gold span is the other mention,
    # row b's is this one; row c's value is wrong
    assert (f.span_values, f.grounded_correct) == (3, 1)
    assert f.grounded_correct_rate == pytest.approx(1 / 3)


def _raw(answers: list[dict[str, object]]) -> list[str | None]:
    return [json.dumps({**_gold([]), **a}) for a in answers]


def test_require_grounding_scores_ungrounded_values_as_abstentions() -> None:
    golds = [ex.gold or {} for ex in ROWS]
    table = prepare_golds(ISAF, golds, [ex.text for ex in ROWS])
    scores = score_outputs(ISAF, table, _raw(ANSWERS), ("strict", "strict+grounding"), n_boot=0)
    j = scores["strict"].field_names.index("province")
    plain = scores["strict"].per_row[:, j]
    grounded = scores["strict+grounding"].per_row[:, j]
    assert plain.tolist() == pytest.approx([1.0, 0.0, 2 / 3, 1.0])
    # r2 and r4 abstain (their one label is not in the text); r3 keeps only "kabul"
    assert np.isnan(grounded[1]) and np.isnan(grounded[3])
    assert grounded[[0, 2]].tolist() == [1.0, 1.0]
    assert scores["strict+grounding"].coverage["province"] == pytest.approx(0.5)
    # optional and none fields are untouched
    k = scores["strict"].field_names.index("min_killed")
    assert (
        scores["strict"].per_row[:, k].tolist() == scores["strict+grounding"].per_row[:, k].tolist()
    )
    # the reference profile has no abstention of its own: the option still abstains
    ref = score_outputs(ISAF, table, _raw(ANSWERS), ("reference+grounding",), n_boot=0)
    assert np.isnan(ref["reference+grounding"].per_row[1, j])


def test_inside_a_record_an_ungrounded_leaf_becomes_null() -> None:
    text = "Invoice INV-1001 from Acme Widgets GmbH, 2024-03-05, EUR.\n"
    text += "A-1 steel bolts, 10 mm: 100 x 0.25"
    gold = invoice(line_items=[item("A-1", "steel bolts, 10 mm", 100, 0.25)])
    made_up = invoice(line_items=[item("A-1", "steel bolts, 10 mm", 100, 0.25, total=99.0)])
    table = prepare_golds(INVOICE, [gold], [text])
    scores = score_outputs(
        INVOICE, table, [json.dumps(made_up)], ("strict", "strict+grounding"), n_boot=0
    )
    # total 99.0 (gold 25.0) is not in the text: null, still wrong, and nothing abstains
    for name in ("strict", "strict+grounding"):
        assert scores[name].paths["line_items[].total"] == 0.0
        assert scores[name].coverage["line_items"] == 1.0
    # vendor.vat_id "DE123456789" is not in this text: strict+grounding reads it as null
    assert scores["strict"].paths["vendor.vat_id"] == 1.0
    assert scores["strict+grounding"].paths["vendor.vat_id"] == 0.0


def test_a_grounding_profile_needs_texts_and_a_known_base() -> None:
    golds = [ex.gold or {} for ex in ROWS]
    with pytest.raises(UserError, match="needs each row's text"):
        score_outputs(ISAF, golds, _raw(ANSWERS), ("strict+grounding",), n_boot=0)
    with pytest.raises(UserError, match="unknown scoring profile 'lenient\\+grounding'"):
        get_profile("lenient+grounding")
    assert get_profile("strict+grounding").require_grounding
    assert not get_profile("strict").require_grounding
