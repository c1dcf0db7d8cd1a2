"""ISAF-specific rules: places, armed groups, and who was killed or detained.

Everything here is general knowledge or follows the annotation rules in the task's
instructions (vague quantities, "a facilitator is not a leader"); none of it is taken
from labelled rows. The counting rules propose candidates and cue features; the learned
heads decide between them.
"""

from __future__ import annotations

import re

from fieldwise.models.baseline._counts import count_candidates
from fieldwise.models.baseline._gazetteer import DISTRICTS, PROVINCE_SPELLINGS
from fieldwise.models.baseline._rules import Rules, label_regex
from fieldwise.tasks import FieldSpec

GROUP_PATTERNS = {
    "taliban": [r"(?i)\btaliban\b", r"(?i)\bquetta shura\b"],
    "haqqani": [r"(?i)\bhaqqani"],
    "aq": [r"(?i)\bal[\s-]?qa[e']?i?da\b", r"\bAQ\b"],
    "hig": [r"(?i)\bhezb-?e?[\s-]islami\b", r"(?i)\bhizb-?e?[\s-]islami\b", r"\bHIG\b",
            r"(?i)\bgulbuddin"],
    "imu": [r"(?i)\bislamic movement of uzbekistan\b", r"\bIMU\b"],
    "let": [r"(?i)\blashkar[\s-]e?[\s-]?ta[iy]y?i?ba\b", r"\bLeT\b"],
    "iju": [r"(?i)\bislamic jihad union\b", r"\bIJU\b"],
    "ttp": [r"(?i)\btehrik[\s-]e?[\s-]?taliban\b", r"\bTTP\b"],
    "criminals": [r"(?i)\bcriminal (?:network|gang|element)s?\b", r"(?i)\bdrug traffick"],
}  # fmt: skip


class IsafRules(Rules):
    """Gazetteer, group names and kill/capture counting for ISAF press releases."""

    name = "isaf"

    def mention_text(self, text: str) -> str:
        """Blank the "KABUL, Afghanistan" dateline, which names no incident location."""
        return re.sub(r"(?i)kabul,?\s+afghanistan", " ", text)

    def label_patterns(self, field: FieldSpec) -> dict[str, list[re.Pattern[str]]]:
        out = super().label_patterns(field)
        if field.name == "province":
            for label, spellings in PROVINCE_SPELLINGS.items():
                out.setdefault(label, []).extend(label_regex(s) for s in spellings)
        elif field.name == "target_group":
            for label, patterns in GROUP_PATTERNS.items():
                if label in field.labels:
                    out[label] = [re.compile(p) for p in patterns]
        return out

    def label_hints(self, field: FieldSpec) -> dict[str, list[re.Pattern[str]]]:
        if field.name != "province":
            return {}
        return {p: [label_regex(d) for d in names] for p, names in DISTRICTS.items()}

    def int_candidates(self, field: FieldSpec, text: str) -> dict[str, int]:
        kind = "capture" if "captur" in field.name else "kill"
        counts = count_candidates(text, kind)
        if "leader" in field.name:
            return {k: v for k, v in counts.items() if k.startswith("leaders")}
        return {k: v for k, v in counts.items() if k.startswith("people")}

    def features(self, text: str) -> dict[str, float]:
        low = text.lower()
        feats: dict[str, float] = {}
        for kind in ("capture", "kill"):
            counts = count_candidates(text, kind)
            for name, value in counts.items():
                feats[f"isaf:{kind}_{name}_pos"] = 1.0 if value > 0 else 0.0
                feats[f"isaf:{kind}_{name}"] = min(value, 30) / 30
        cues = {
            "no_shots": r"no shots (?:were )?fired|without (?:firing|a shot|shots)|"
            r"did not fire|peaceful(?:ly)? surrender|no shots",
            "air": r"air ?strike|precision strike|air weapons team|aircraft|air support|"
            r"helicopter|airstrike",
            "night": r"\bnight\b|\bovernight\b|last night",
            "targeted": r"\btarget(?:ed|ing)\b|in pursuit of|search(?:ed)? (?:a|the) compound",
            "compound": r"\bcompound\b",
            "patrol": r"\bpatrol\b",
            "facilitator": r"facilitator",
            "leader": r"\bleader\b|\bcommander\b",
            "civilian": r"civilian|local national|\bchild",
        }
        for name, pattern in cues.items():
            hits = len(re.findall(pattern, low))
            feats[f"isaf:cue_{name}"] = min(hits, 5) / 5
        from fieldwise.models.baseline._cues import cue_features  # incident wording cues

        feats.update(cue_features(text))
        return feats
