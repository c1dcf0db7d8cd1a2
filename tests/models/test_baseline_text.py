"""The baseline's pattern screen and ISAF wording cues."""

from __future__ import annotations

import re

from fieldwise.models.baseline._cues import cue_features, lead_sentence
from fieldwise.models.baseline._rules import label_regex
from fieldwise.models.baseline._text import _IGNORECASE_ASCII, PatternSet, fold


def _brute(patterns: dict[str, list[re.Pattern[str]]], text: str) -> dict[str, list[int]]:
    out = {}
    for label, pats in patterns.items():
        hits = sorted(m.start() for p in pats for m in p.finditer(text))
        if hits:
            out[label] = hits
    return out


def test_screened_offsets_equal_running_every_pattern() -> None:
    patterns = {
        "nad_ali": [label_regex("Nad Ali"), label_regex("nad-e ali")],
        "aq": [re.compile(r"(?i)\bal[\s-]?qa[e']?i?da\b"), re.compile(r"\bAQ\b")],
        "alt": [re.compile(r"(?i)kabul|kandahar"), re.compile(r"x*")],
        "islam": [label_regex("islam qala")],
    }
    texts = [
        "In NAD ALI and nad-e-Ali, al Qaeda (AQ) met; aq is not AQ.",
        "\u0130SLAM QALA, Kandahar \u2013 nadali",  # dotted capital I matches i under re.I
        "",
    ]
    screen = PatternSet(patterns)
    for text in texts:
        assert screen.offsets(text) == _brute(patterns, text)
        assert screen.offsets(text, fold(text)) == _brute(patterns, text)


def test_fold_table_covers_every_ignorecase_match_of_an_ascii_letter() -> None:
    letters = re.compile(r"(?i)[a-z]")
    found = {
        chr(cp)
        for cp in range(128, 0x110000)
        if not 0xD800 <= cp <= 0xDFFF and letters.fullmatch(chr(cp))
    }
    assert found == {chr(k) for k in _IGNORECASE_ASCII}


def test_lead_sentence_skips_the_release_header() -> None:
    text = (
        "ISAF Joint Command - Afghanistan 2011-07-S-085 For Immediate Release\n"
        "KABUL, Afghanistan (July 31, 2011) \u2013 A security force captured a leader in Khost. "
        "The patrol came under fire later."
    )
    assert lead_sentence(text).startswith("A security force captured a leader")
    feats = cue_features(text)
    assert feats["isaf:lead_security_force"] == 1.0
    assert feats["isaf:lead_patrol"] == 0.0 and feats["isaf:any_patrol"] > 0


def test_no_shots_statement_is_a_cue() -> None:
    assert cue_features("No shots were fired.")["isaf:no_shots_stated"] == 1.0
    assert cue_features("The force did not fire their weapons.")["isaf:no_shots_stated"] == 1.0
    assert cue_features("Shots were fired at the patrol.")["isaf:no_shots_stated"] == 0.0
