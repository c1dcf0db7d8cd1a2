"""Whatever a model answers, the aligner returns evidence and never raises."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldwise.tasks import load_task
from fieldwise.trust import align_row, align_value
from tests.nested_task import INVOICE

ISAF = load_task("isaf")
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
texts = st.text(max_size=200) | st.sampled_from(
    ["Forces detained 2 men in Kandahar on Jan. 25, 2013.", "Invoice INV-1 1,200.50 EUR"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, answer=st.dictionaries(st.sampled_from(
    ["province", "min_killed", "start_date", "target_group", "number", "issued", "vendor",
     "line_items", "currency", "killq"]), json_values, max_size=6))  # fmt: skip
def test_any_answer_aligns_without_raising(text: str, answer: dict[str, object]) -> None:
    for task in (ISAF, INVOICE):
        evidence = align_row(task, text, answer)
        for path, ev in evidence.items():
            assert ev.status in ("exact", "normalised", "fuzzy", "none")
            if ev.start is not None and ev.end is not None:
                assert 0 <= ev.start <= ev.end <= len(text), (path, ev)
        json.dumps({p: e.to_json() for p, e in evidence.items()})


def test_huge_and_odd_numbers() -> None:
    big = 10**40
    assert align_value(f"id {big} here", big).status == "exact"
    assert align_value("nothing", 10**5000).status == "none"
    assert align_value("inf and nan", float("inf")).status == "none"
    assert align_value("-5 degrees", -5).status == "exact"
