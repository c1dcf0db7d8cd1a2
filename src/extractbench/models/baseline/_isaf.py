"""ISAF-specific rules: places, armed groups, and who was killed or detained.

Everything here is general knowledge or follows the annotation rules in the task's
instructions (vague quantities, "a facilitator is not a leader"); none of it is taken
from labelled rows. The counting rules propose candidates and cue features; the learned
heads decide between them.
"""

from __future__ import annotations

import re

from extractbench.models.baseline._gazetteer import DISTRICTS, PROVINCE_SPELLINGS
from extractbench.models.baseline._rules import Rules, label_regex
from extractbench.models.baseline._text import parse_number
from extractbench.tasks import FieldSpec

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

# Annotation rules: vague quantities map to minimums (see the task's instructions).
VAGUE = {
    "several": 3, "few": 3, "some": 3, "group": 3, "multiple": 3, "numerous": 4,
    "handful": 4, "couple": 2, "dozens": 24, "many": 3, "various": 3, "number": 5,
}  # fmt: skip
PERSON = {
    "insurgent", "insurgents", "suspect", "suspects", "individual", "individuals", "man",
    "men", "person", "persons", "people", "militant", "militants", "fighter", "fighters",
    "leader", "leaders", "commander", "commanders", "sub-commander", "sub-commanders",
    "facilitator", "facilitators", "associate", "associates", "member", "members",
    "governor", "civilian", "civilians", "child", "children", "detainee", "detainees",
    "others", "financier", "financiers", "emir", "trafficker", "traffickers", "bomber",
    "bombers", "expert", "experts", "maker", "makers", "national", "nationals",
    "operative", "operatives", "enemy", "attacker", "attackers", "gunman", "gunmen",
    "woman", "women", "boy", "boys", "chief", "deputy", "lieutenant", "courier", "male",
    "males", "him",
}  # fmt: skip
LEADER = {"leader", "leaders", "commander", "commanders", "sub-commander", "sub-commanders",
          "governor", "emir", "chief", "deputy", "lieutenant"}  # fmt: skip
CAPTURE = re.compile(
    r"^(detain|captur|arrest|apprehend|custody|surrender|turned$|seiz(?:ed|ing) (?:a|the))"
)
KILL = re.compile(r"^(kill|dead$|died$|death|die$|dying$|shot$|slain$|wounded? and killed)")
# "responsible for killing", "an attack that killed": past deeds, not this incident.
ATTRIBUTION = {"responsible", "involved", "planning", "plotted", "planned", "behind"}
ATTACK = {"attack", "attacks", "ied", "bombing", "bombings", "ambush", "explosion", "blast"}
RELATIVE = {"that", "which", "who"}
ADDITIVE = re.compile(r"(?i)\b(also|additional|another|in addition|separate(?:ly)?|other)\b")
NEGATION = {"no", "not", "nobody", "without"}
# Words that introduce the person an operation was *aimed at*, who was not necessarily
# caught: "an operation to arrest a leader", "in pursuit of", "searching for".
TARGET_CUES = {"targeting", "targeted", "target", "pursuit", "search", "searching",
               "seeking", "hunt", "pursuing", "locate", "sought"}  # fmt: skip
PUNCT = {".", ",", ";", ":", "(", ")"}
MONTHS = {"jan", "feb", "mar", "apr", "may", "jun", "june", "jul", "july", "aug", "sep",
          "sept", "oct", "nov", "dec", "january", "february", "march", "april", "august",
          "september", "october", "november", "december"}  # fmt: skip
# Sentences that report running totals rather than this incident.
STATS = re.compile(
    r"(?i)\b(this month|this year|so far|since|past (?:week|month|year)|"
    r"total of|to date|last month|in recent (?:weeks|months))\b"
)
_TOKEN = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*|\d[\d,]*\d|\d|[.,;:()]")


def _is_trigger(tokens: list[str], i: int, kind: str) -> bool:
    pattern = CAPTURE if kind == "capture" else KILL
    if not pattern.match(tokens[i]):
        return False
    if i > 0 and tokens[i - 1] == "to":
        return False
    before = tokens[max(0, i - 4) : i]
    if any(t in ATTRIBUTION for t in before):
        return False
    return not (before and before[-1] in RELATIVE and any(t in ATTACK for t in before))


def _aimed_at(tokens: list[str], start: int, triggers: list[int]) -> bool:
    """True if the phrase is what an operation targeted ("to arrest a leader")."""
    for k in range(start - 1, max(-1, start - 6), -1):
        if k in triggers or tokens[k] in PUNCT:
            return False
        if tokens[k] in TARGET_CUES or (
            tokens[k] == "to" and k + 1 < len(tokens) and CAPTURE.match(tokens[k + 1])
        ):
            return True
    return False


def _phrases(tokens: list[str]) -> list[tuple[int, int, int, bool]]:
    """Quantity phrases as (start, person-noun position, minimum count, is a leader)."""
    out: list[tuple[int, int, int, bool]] = []
    for j, tok in enumerate(tokens):
        if tok not in PERSON:
            continue
        if tok == "enemy" and j + 1 < len(tokens) and tokens[j + 1] in PERSON:
            continue
        leader = tok in LEADER and not (j > 0 and tokens[j - 1] in ("facilitator",))
        plural = tok.endswith("s") or tok in ("men", "people", "children", "women", "gunmen")
        if tok == "others" and j > 0 and tokens[j - 1] == "the":
            continue
        value = None
        start = j
        for k in range(j - 1, max(-1, j - 5), -1):
            prev = tokens[k]
            if prev in PUNCT:
                break
            start = k
            num = parse_number(prev)
            if num is not None and num < 10_000:
                value = None if k > 0 and tokens[k - 1] in MONTHS else num
                if value is not None and tokens[max(0, k - 2) : k] in (["more", "than"], ["over"]):
                    value += 1
                break
            if prev == "of" and k > 0 and tokens[k - 1] in VAGUE:
                k, prev = k - 1, tokens[k - 1]
            if prev in VAGUE:
                large = prev == "number" and k > 0 and tokens[k - 1] == "large"
                value = 5 if large else VAGUE[prev]
                break
            if prev in ("a", "an", "another", "one", "the", "his", "their", "its"):
                value = 1 if prev in ("a", "an", "another", "one") else None
                if prev in ("the", "his", "their", "its"):
                    value = 1 if not plural else None
                break
            if prev in PERSON or prev in NEGATION or prev in ("and", "of", "by", "with", "were"):
                break
        if value is None:
            value = 2 if plural else 1
        if tokens[j - 1 : j] == ["no"] or (j > 1 and tokens[j - 2] == "no"):
            value = 0
        out.append((start, j, value, leader))
    return out


def _elliptical(tokens: list[str], triggers: list[int]) -> list[tuple[int, int, int, bool]]:
    """A bare quantity right after a verb with no person noun ("detained another nine")."""
    out = []
    for t in triggers:
        k = t + 1
        if k < len(tokens) and tokens[k] in ("another", "an", "additional"):
            k += 1
        if k >= len(tokens):
            continue
        value = parse_number(tokens[k])
        if value is None and tokens[k] in VAGUE and tokens[k] not in ("number", "group"):
            value = VAGUE[tokens[k]]
        if value is None or value >= 10_000:
            continue
        after = tokens[k + 1 : k + 5]
        if any(a in PERSON for a in after) or (after and after[0] not in PUNCT | {"and"}):
            continue
        out.append((k, k, value, False))
    return out


def _distance(tokens: list[str], pos: int, trigger: int) -> int:
    """Token distance from a verb to a person; a verb after its person must be passive."""
    if trigger < pos:
        return pos - trigger
    passive = trigger > 0 and tokens[trigger - 1] in ("were", "was", "been", "being", "are")
    return trigger - pos + (0 if passive else 3)


def _sentence_counts(sentence: str, kind: str) -> tuple[int, int]:
    """Total people and leaders attached to ``kind`` triggers in one sentence."""
    if STATS.search(sentence):
        return 0, 0
    tokens = [t.lower() for t in _TOKEN.findall(sentence)]
    triggers = [i for i in range(len(tokens)) if _is_trigger(tokens, i, kind)]
    if not triggers:
        return 0, 0
    other = "kill" if kind == "capture" else "capture"
    rivals = [i for i in range(len(tokens)) if _is_trigger(tokens, i, other)]
    total = leaders = 0
    phrases = _phrases(tokens) + _elliptical(tokens, triggers)
    for start, pos, value, leader in phrases:
        if _aimed_at(tokens, start, triggers):
            continue
        near = min(_distance(tokens, pos, t) for t in triggers)
        rival = min((_distance(tokens, pos, t) for t in rivals), default=99)
        if near <= (2 if tokens[pos] == "him" else 10) and near <= rival:
            total += value
            leaders += value if leader else 0
    return total, leaders


def count_candidates(text: str, kind: str) -> dict[str, int]:
    """first/max/sum over sentences of people (and leaders) attached to ``kind`` verbs."""
    from extractbench.models.baseline._text import sentences

    body = text.split("----")[0]
    sents = sentences(body)
    counted = [(s, _sentence_counts(s, kind)) for s in sents]
    counted = [(s, r) for s, r in counted if r[0] > 0]
    rows = [r for _, r in counted] or [(0, 0)]
    added = rows[0][0] + sum(r[0] for s, r in counted[1:] if ADDITIVE.search(s))
    return {
        "people_first": rows[0][0],
        "people_added": added,
        "people_max": max(r[0] for r in rows),
        "people_sum": sum(r[0] for r in rows),
        "leaders_first": rows[0][1],
        "leaders_max": max(r[1] for r in rows),
        "leaders_any": min(1, max(r[1] for r in rows)),
    }


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
        return feats
