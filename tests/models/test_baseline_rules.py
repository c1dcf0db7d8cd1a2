"""The baseline's hand-written rules: dates relative to a header, counts, places."""

from __future__ import annotations

from fieldwise.models.baseline._dates import date_candidates, learn_calendar
from fieldwise.models.baseline._isaf import IsafRules, count_candidates
from fieldwise.tasks.isaf import ISAF

HEAD = "KABUL, Afghanistan (Jan. 25, 2013)\n"  # a Friday


def test_relative_dates_resolve_against_the_header() -> None:
    cands, feats = date_candidates(HEAD + "A force detained a man in Logar yesterday.")
    assert cands["header"] == "2013-01-25"
    assert cands["anchor"] == "2013-01-24"
    assert feats["date:first_cue_yesterday"] == 1.0
    cands, _ = date_candidates(HEAD + "A force detained a man in Logar Tuesday.")
    assert cands["anchor"] == cands["weekday"] == "2013-01-22"
    cands, _ = date_candidates(HEAD + "The force confirmed the capture on Jan. 20.")
    assert cands["body"] == "2013-01-20"


def test_header_without_year_uses_learned_year() -> None:
    text = "KABUL, Afghanistan (Feb. 15)\nA force detained a man today."
    assert date_candidates(text)[0] == {}
    assert date_candidates(text, {2: 2012})[0]["header"] == "2012-02-15"


def test_vague_quantities_follow_the_annotation_rules() -> None:
    def captured(sentence: str) -> int:
        return count_candidates(sentence, "capture")["people_first"]

    assert captured("The force detained several suspected insurgents.") == 3
    assert captured("The force detained numerous suspected insurgents.") == 4
    assert captured("The force detained a large number of insurgents.") == 5
    assert captured("The force detained suspected insurgents.") == 2
    assert captured("The force detained a Taliban leader and two suspected insurgents.") == 3


def test_leaders_targets_and_facilitators() -> None:
    text = "A force captured a Taliban leader and a facilitator in Khost."
    counts = count_candidates(text, "capture")
    assert counts["people_first"] == 2 and counts["leaders_first"] == 1
    aimed = "A force detained two men during an operation to arrest a Haqqani leader."
    assert count_candidates(aimed, "capture")["people_first"] == 2
    assert count_candidates(aimed, "capture")["leaders_first"] == 0
    mixed = "The patrol killed several insurgents and detained one suspected insurgent."
    assert count_candidates(mixed, "kill")["people_first"] == 3
    assert count_candidates(mixed, "capture")["people_first"] == 1


def test_counts_follow_english_grammar() -> None:
    def count(text: str, kind: str = "capture", key: str = "people_first") -> int:
        return count_candidates(text, kind)[key]

    # partitives, compounds and negated coordinations
    assert count("The force detained a leader and several of his associates.") == 4
    assert count("The force detained an insurgent leader.") == 1
    assert count("No women or children were injured or detained during the operation.") == 0
    assert count("They detained two individuals suspected of insurgent activity.") == 2
    # a nearer non-lethal verb takes its object; "enemy position" names nobody
    assert count("The force engaged the enemy position, killing two insurgents.", "kill") == 2
    assert count("The patrol killed two insurgents and wounded two others.", "kill") == 2
    assert count("The force engaged the insurgents, killing several of them.", "kill") == 3
    # "including" names a subset; the lead sentence outranks a headline
    text = "The force killed two insurgents, including a Taliban leader."
    assert count(text, "kill") == 2 and count(text, "kill", "leaders_first") == 1
    text = "Several Insurgents Detained in Khost\nThe force detained two suspected insurgents."
    assert count(text) == 2


def test_gazetteer_finds_provinces_from_districts() -> None:
    rules = IsafRules()
    hints = rules.label_hints(ISAF.field("province"))
    assert any(p.search("in Zharay district") for p in hints["kandahar"])
    strong = rules.label_patterns(ISAF.field("province"))
    assert any(p.search("in Paktia province") for p in strong["paktya"])
    assert "kabul" not in rules.mention_text("KABUL, Afghanistan (May 1)").lower()


def test_specific_cues_win_and_reports_are_not_events() -> None:
    cands, _ = date_candidates(HEAD + "A force detained a man during an overnight raid Tuesday.")
    assert cands["anchor"] == "2013-01-22"
    cands, _ = date_candidates(HEAD + "ISAF confirmed today that a leader was killed Wednesday.")
    assert cands["anchor"] == "2013-01-23"
    cands, _ = date_candidates(HEAD + "Aircraft struck a cell planning Saturday's attack.")
    assert cands["anchor"] == "2013-01-25"
    text = (
        "ISAF Joint Command Morning Operational Update April 15, 2011\n"
        "KABUL, Afghanistan (April 15, 2011) A force detained a facilitator April 13."
    )
    assert date_candidates(text)[0]["anchor"] == "2011-04-13"


def test_release_without_a_date_is_placed_by_its_number() -> None:
    dated = [
        "2011-07-S-010\nKABUL, Afghanistan (July 4, 2011)\nA force detained a man today.",
        "2011-07-S-030\nKABUL, Afghanistan (July 10, 2011)\nA force detained a man today.",
    ]
    known = learn_calendar(dated)
    assert known == {"2011-07-S": [[10, 4], [30, 10]]}
    text = "2011-07-S-020\nFor Immediate Release\nA force detained two men yesterday."
    assert date_candidates(text)[0] == {}
    assert date_candidates(text, None, known)[0]["anchor"] == "2011-07-06"
