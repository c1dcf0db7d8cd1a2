"""``--filter confidence``: a teacher label whose required-grounding values are not in the
text is dropped (the trust signals of ``fieldwise.trust``); without that package the
filter is a one-line error before anything is paid for."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from fieldwise.distill._filters import LabelSet, apply_filters, get_filter
from fieldwise.errors import UserError
from tests.distill.teachers import TASK, isaf_split

HAS_TRUST = importlib.util.find_spec("fieldwise.trust") is not None


def _labels(n: int = 12) -> tuple[LabelSet, set[int]]:
    """Gold labels as the teacher's; every third row gets a province its text never
    mentions (the ISAF task declares province grounding ``required``)."""
    rows = [ex for ex in isaf_split()[0] if (ex.gold or {}).get("province")][:n]
    golds, raw, bad = [], [], set()
    for i, ex in enumerate(rows):
        gold = dict(ex.gold or {})
        if i % 3 == 0:
            absent = next(p for p in ("nimroz", "badghis", "bamyan") if p not in ex.text.lower())
            gold["province"] = [absent]
            bad.add(i)
        golds.append(gold)
        raw.append(json.dumps(gold))
    return LabelSet(TASK, rows, ["teacher"], [raw], [golds]), bad


@pytest.mark.skipif(not HAS_TRUST, reason="fieldwise.trust (grounding) is not in this build")
def test_confidence_drops_labels_whose_required_values_are_not_in_the_text() -> None:
    labels, bad = _labels()
    kept, dropped = apply_filters(labels, ["valid", "confidence"])
    assert set(np.flatnonzero(~kept)) >= bad
    assert dropped["confidence"] == int((~kept).sum()) and dropped["valid"] == 0
    # the gold provinces themselves are grounded in their texts on most rows
    assert kept.sum() >= len(labels.examples) - len(bad) - 2


@pytest.mark.skipif(HAS_TRUST, reason="this build has fieldwise.trust")
def test_confidence_without_trust_is_a_clear_error() -> None:
    labels, _ = _labels(3)
    with pytest.raises(UserError, match="fieldwise.trust"):
        get_filter("confidence").check(labels)
