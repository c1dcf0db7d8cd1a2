from __future__ import annotations

from fieldwise.scoring import audit_labels
from fieldwise.tasks import Example
from tests.scoring.helpers import ISAF, ISAF_GOLD


def _ex(i: int, **changes: object) -> Example:
    return Example(id=f"r{i}", text="", gold={**ISAF_GOLD, **changes})


def test_audit_finds_each_kind_of_quirk() -> None:
    examples = [
        _ex(0),
        _ex(1, province=["sar-e pul"]),
        _ex(2, province=["sar-e pul"]),
        _ex(3, province=["??"]),
        _ex(4, province=[""]),
        _ex(5, target_group=["aq;taliban"]),
        _ex(6, target_group=["criminal"]),
        _ex(7, target_group=[""]),  # legitimate: "" is a target_group label
        _ex(8, min_killed="3", killq=1, start_date="2013-02-30"),
        _ex(9, event_type="detention"),
        Example(id="unlabelled", text="", gold=None),
    ]
    issues = {(i.field, i.kind, i.value): i for i in audit_labels(ISAF, examples)}
    alias = issues[("province", "alias", "'sar-e pul'")]
    assert alias.count == 2 and alias.example_ids == ["r1", "r2"]
    assert alias.suggestion == "'sar_e_pul'"
    assert issues[("province", "not_in_labels", "'??'")].example_ids == ["r3"]
    assert ("province", "empty_string", "''") in issues
    joined = issues[("target_group", "joined_multi", "'aq;taliban'")]
    assert joined.suggestion == "split into ['aq', 'taliban']"
    assert issues[("target_group", "alias", "'criminal'")].suggestion == "'criminals'"
    assert ("min_killed", "wrong_type", "'3'") in issues
    assert ("killq", "wrong_type", "1") in issues
    assert ("start_date", "invalid_date", "'2013-02-30'") in issues
    assert ("event_type", "wrong_type", "'detention'") in issues
    assert not any(f == "target_group" and v == "''" for f, _, v in issues)
    assert len(issues) == 9


def test_audit_clean_data_and_plain_dicts() -> None:
    assert audit_labels(ISAF, [ISAF_GOLD, {**ISAF_GOLD, "id": "x"}]) == []
    issues = audit_labels("isaf", [{"id": "a", **ISAF_GOLD, "killq": None}])
    assert [(i.field, i.kind, i.example_ids) for i in issues] == [("killq", "missing", ["a"])]
    assert "killq: missing" in str(issues[0])
    assert issues[0].to_json()["count"] == 1


def test_audit_orders_fields_then_commonest_first() -> None:
    examples = [_ex(1, province=["??"]), _ex(2, province=["x"]), _ex(3, province=["x"])]
    issues = audit_labels(ISAF, examples)
    assert [i.value for i in issues] == ["'x'", "'??'"]
