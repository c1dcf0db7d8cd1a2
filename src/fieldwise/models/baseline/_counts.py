"""Who was killed or detained, and how many: count candidates for ISAF press releases.

The rules read each sentence, find kill / capture verbs and the quantity phrases
("two suspected insurgents", "a Taliban leader", "several men") attached to them, and
propose several totals (first sentence, largest sentence, sum, ...). The learned chooser
picks among them, so a rule here only has to put the right number on the list and say,
through features, when it is trustworthy. Quantities follow the annotation rules in the
task's instructions (vague words map to minimums, a facilitator is not a leader).
"""

from __future__ import annotations

import re
from functools import lru_cache

from fieldwise.models.baseline._text import parse_number, sentences

# Annotation rules: vague quantities map to minimums (see the task's instructions).
VAGUE = {
    "several": 3, "few": 3, "some": 3, "group": 3, "multiple": 3, "numerous": 4,
    "handful": 4, "couple": 2, "dozens": 24, "many": 3, "various": 3, "number": 3,
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
    "males", "him", "kidnapper", "kidnappers", "assassin", "assassins", "coordinator",
    "coordinators", "occupant", "occupants", "smuggler", "smugglers", "planner", "planners",
    "recruiter", "recruiters", "sniper", "snipers", "supplier", "suppliers", "mullah",
    "shooter", "shooters", "villager", "villagers", "specialist", "specialists",
}  # fmt: skip
LEADER = {"leader", "leaders", "commander", "commanders", "sub-commander", "sub-commanders",
          "governor", "emir", "chief", "deputy", "lieutenant"}  # fmt: skip
CAPTURE = re.compile(
    r"^(detain|captur|arrest|apprehend|custody|surrender|turned$|seiz(?:ed|ing) (?:a|the))"
)
KILL = re.compile(r"^(kill|dead$|died$|death|die$|dying$|shot$|slain$)")
# Verbs that take people as objects without killing or detaining them: a phrase nearer to
# one of these ("engaged the enemy, killing him", "wounded two others") is not counted.
OTHER_VERB = re.compile(
    r"^(?:(?:wound|injur|engag|spott|observ|treat|evacuat)(?:e|e?d|ing|e?s)?"
    r"|attack(?:ed|ing)|fled|flee)$"
)
# Nouns that are usually modifiers ("enemy position", "Afghan National Army") and name a
# person only when a function word or punctuation follows them.
MODIFIER_NOUNS = {"enemy", "national"}
NOUN_END = {"and", "or", "was", "were", "who", "that", "in", "at", "on", "during", "with",
            "by", "from", "had", "has", "is", "are", "after", "while", "as"}  # fmt: skip
# Words a quantity phrase never spans: "three operations against insurgents" does not count
# three insurgents, and "forces targeted leaders" starts at "leaders".
BREAKS = {"and", "of", "by", "with", "were", "including", "against", "for", "from", "during",
          "at", "on", "in", "to", "after", "before", "near", "forces", "force"}  # fmt: skip
# Nouns that follow a person word used as an adjective: "insurgent activity", "suspected
# of insurgent activity", "civilian casualties" name no person.
THING_HEADS = {
    "activity", "activities", "network", "networks", "cell", "cells", "attack", "attacks",
    "position", "positions", "group", "groups", "leadership", "compound", "compounds",
    "fire", "casualty", "casualties", "presence", "operations", "operation", "movement",
    "movements", "hideout", "hideouts", "safe", "weapons", "fighting", "traffic", "vehicle",
    "vehicles", "force", "forces", "targets", "target", "threat", "ties", "harm", "homes",
}  # fmt: skip
# "a security force member", "a coalition service member": friendly forces, not targets.
FRIENDLY = {"service", "force", "coalition", "isaf", "team", "unit", "patrol"}
# "responsible for killing", "an attack that killed": past deeds, not this incident.
ATTRIBUTION = {"responsible", "involved", "planning", "plotted", "planned", "behind"}
ATTACK = {"attack", "attacks", "ied", "bombing", "bombings", "ambush", "explosion", "blast"}
RELATIVE = {"that", "which", "who"}
ADDITIVE = re.compile(r"(?i)\b(also|additional|another|in addition|separate(?:ly)?|other)\b")
NEGATION = {"no", "not", "nobody", "without"}
# Words that introduce the person an operation was *aimed at*, who was not necessarily
# caught: "an operation to arrest a leader", "in pursuit of", "searching for".
TARGET_CUES = {"targeting", "targeted", "target", "pursuit", "search", "searching",
               "seeking", "hunt", "pursuing", "pursued", "pursue", "locate", "sought"}  # fmt: skip
# "one of those detained is a Taliban commander": a predicate names no one new.
PREDICATE = [["is"], ["was"], ["as"], ["be"], ["being"]]
# "the targeted individual" was caught; "targeted a leader" names an aim.
DETERMINERS = [["the"], ["a"], ["an"]]
EXACT = {"a", "an", "one", "another"}
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
    """True if token ``i`` reports this incident's killing / detaining, not an aim or past deed."""
    pattern = CAPTURE if kind == "capture" else KILL
    if not pattern.match(tokens[i]):
        return False
    if i > 0 and tokens[i - 1] == "to" and not tokens[i].endswith("ing"):
        return False  # "to arrest" is an aim; "in addition to detaining" is not
    before = tokens[max(0, i - 4) : i]
    if any(t in ATTRIBUTION for t in before):
        return False
    return not (before and before[-1] in RELATIVE and any(t in ATTACK for t in before))


def _aimed_at(tokens: list[str], start: int, triggers: list[int]) -> bool:
    """True if the phrase is what an operation targeted ("to arrest a leader")."""
    for k in range(start - 1, max(-1, start - 6), -1):
        if k in triggers or tokens[k] in PUNCT or tokens[k] in PERSON:
            return False  # the cue belongs to an earlier phrase: "a targeted leader and two men"
        if tokens[k] in TARGET_CUES or (
            tokens[k] == "to" and k + 1 < len(tokens) and CAPTURE.match(tokens[k + 1])
        ):
            return True
    return False


def _skip_noun(tokens: list[str], j: int) -> bool:
    """True if the person noun at ``j`` is a modifier or a friendly soldier, not a person."""
    tok = tokens[j]
    nxt = tokens[j + 1] if j + 1 < len(tokens) else "."
    if nxt in PERSON and nxt not in ("him", "others") and not tok.endswith("s"):
        return True  # "an insurgent leader": the compound's head is counted instead
    if tok in MODIFIER_NOUNS and nxt not in PUNCT | NOUN_END:
        return True
    if nxt in THING_HEADS and not tok.endswith("s"):
        return True
    if tok == "others" and j > 0 and tokens[j - 1] == "the":
        return True
    return tok in ("member", "members") and j > 0 and tokens[j - 1] in FRIENDLY


def _negated(tokens: list[str], j: int) -> bool:
    """True for "no insurgents" or "no women or children": the phrase counts nobody."""
    for k in range(j - 1, max(-1, j - 5), -1):
        if tokens[k] in ("no", "nobody"):
            return True
        if tokens[k] in PUNCT or parse_number(tokens[k]) is not None:
            return False
    return False


def _partitive(tokens: list[str], k: int) -> int | None:
    """The quantity of "two of the men", "several of his associates" (``k``: the determiner)."""
    if k < 2 or tokens[k - 1] != "of":
        return None
    word = tokens[k - 2]
    if word in VAGUE and word not in ("number", "group"):
        return VAGUE[word]
    return parse_number(word) if word not in ("a", "an") else None


def _phrases(tokens: list[str]) -> list[tuple[int, int, int, bool]]:
    """Quantity phrases as (start, person-noun position, minimum count, is a leader)."""
    out: list[tuple[int, int, int, bool]] = []
    for j, tok in enumerate(tokens):
        if tok not in PERSON or _skip_noun(tokens, j):
            continue
        leader = tok in LEADER and not (j > 0 and tokens[j - 1] in ("facilitator",))
        plural = tok.endswith("s") or tok in ("men", "people", "children", "women", "gunmen")
        value = None
        start = j
        for k in range(j - 1, max(-1, j - 7), -1):
            prev = tokens[k]
            if prev in PUNCT:
                break
            num = parse_number(prev)
            if num is not None and num < 10_000:
                start = k
                value = None if k > 0 and tokens[k - 1] in MONTHS else num
                if value is not None and tokens[max(0, k - 2) : k] in (["more", "than"], ["over"]):
                    value += 1
                break
            if prev == "of" and k > 0 and tokens[k - 1] in VAGUE:
                k, prev = k - 1, tokens[k - 1]
            if prev in VAGUE:
                large = prev == "number" and k > 0 and tokens[k - 1] == "large"
                start, value = k, 5 if large else VAGUE[prev]
                break
            if prev in ("a", "an", "another", "one", "the", "his", "their", "its"):
                start = k
                value = 1 if prev in ("a", "an", "another", "one") else None
                if prev in ("the", "his", "their", "its"):
                    value = 1 if not plural else None
                    part = _partitive(tokens, k)  # "several of his associates"
                    if part is not None:
                        start, value = k - 2, part
                break
            compound = k == j - 1 and not prev.endswith("s")
            if (
                (prev in PERSON and not compound)
                or prev in NEGATION
                or prev in BREAKS
                or (prev in TARGET_CUES and tokens[k - 1 : k] not in DETERMINERS)
                or CAPTURE.match(prev)
                or KILL.match(prev)
                or OTHER_VERB.match(prev)
            ):
                break
            start = k
        if value is None:
            value = 2 if plural else 1
        if _negated(tokens, j):
            value = 0
        out.append((start, j, value, leader))
    return out


def _elliptical(tokens: list[str], triggers: list[int]) -> list[tuple[int, int, int, bool]]:
    """A bare quantity right after a verb with no person noun ("detained another nine",
    "killing several of them")."""
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
        pronoun = after[:2] in (["of", "them"], ["of", "whom"])
        if not pronoun and (
            any(a in PERSON for a in after) or (after and after[0] not in PUNCT | {"and"})
        ):
            continue
        out.append((k, k, value, False))
    return out


def _distance(tokens: list[str], start: int, pos: int, trigger: int) -> int:
    """Token distance from a verb to a phrase; a verb after its phrase must be passive.

    An object is measured from its first word, so a long noun phrase ("two Taliban
    improvised explosive device facilitators") is as close to its verb as a short one.
    """
    if trigger < pos:
        return (start if trigger < start else pos) - trigger
    passive = trigger > 0 and tokens[trigger - 1] in ("were", "was", "been", "being", "are")
    return trigger - pos + (0 if passive else 3)


def _sentence_counts(sentence: str, kind: str) -> tuple[int, int, bool]:
    """Total people and leaders attached to ``kind`` triggers in one sentence, and whether
    every quantity was stated exactly ("two men", "a leader") rather than guessed from a
    vague word or a bare plural, which tells the chooser how far to trust the total."""
    if STATS.search(sentence):
        return 0, 0, False
    tokens = [t.lower() for t in _TOKEN.findall(sentence)]
    triggers = [i for i in range(len(tokens)) if _is_trigger(tokens, i, kind)]
    if not triggers:
        return 0, 0, False
    other = "kill" if kind == "capture" else "capture"
    rivals = [
        i
        for i in range(len(tokens))
        if _is_trigger(tokens, i, other) or OTHER_VERB.match(tokens[i])
    ]
    total = leaders = 0
    exact = True
    phrases = _phrases(tokens) + _elliptical(tokens, triggers)
    for start, pos, value, leader in phrases:
        if _aimed_at(tokens, start, triggers) or tokens[start - 1 : start] in PREDICATE:
            continue
        near = min(_distance(tokens, start, pos, t) for t in triggers)
        rival = min((_distance(tokens, start, pos, t) for t in rivals), default=99)
        if near <= (2 if tokens[pos] == "him" else 10) and near <= rival:
            # "two insurgents, including a leader": the leader is one of the two.
            if "including" not in tokens[max(0, start - 2) : start + 1]:
                total += value
                exact = exact and (
                    tokens[start] in EXACT or parse_number(tokens[start]) is not None
                )
            leaders += value if leader else 0
    return total, leaders, exact


@lru_cache(maxsize=64)
def _text_counts(text: str, kind: str) -> tuple[tuple[str, int], ...]:
    """The candidates of one text, cached: features and each count field ask for them."""
    body = text.split("----")[0]
    counted = [(s, _sentence_counts(s, kind)) for s in sentences(body)]
    counted = [(s, r) for s, r in counted if r[0] > 0]
    # A headline ("Several Insurgents Detained") has no full stop and summarises loosely;
    # the lead sentence of the body states the count, so it goes first when there is one.
    counted.sort(key=lambda c: not c[0].endswith((".", "!", "?", '"', "'", "”")))
    rows = [r for _, r in counted] or [(0, 0, False)]
    top = max(rows, key=lambda r: r[0])
    first_exact, max_exact = rows[0][2], top[2]
    added = rows[0][0] + sum(r[0] for s, r in counted[1:] if ADDITIVE.search(s))
    cands = (
        ("people_first", rows[0][0]),
        ("people_added", added),
        ("people_max", max(r[0] for r in rows)),
        ("people_sum", sum(r[0] for r in rows)),
        ("leaders_first", rows[0][1]),
        ("leaders_max", max(r[1] for r in rows)),
        ("leaders_any", min(1, max(r[1] for r in rows))),
    )
    if kind != "capture":
        # Kill counts nearly always sit in one clause; in CV these cues only added noise
        # to the other heads that read every feature (air strike, kill yes/no).
        return cands
    return cands + (
        ("cue_first_exact", int(first_exact)),
        ("cue_max_exact", int(max_exact)),
        # Which of the two is exact decides between them, which a linear chooser cannot
        # work out from the two flags alone: "a leader ... several others" vs a vague lead.
        ("cue_exact_both", int(first_exact and max_exact and rows[0] is not top)),
        ("cue_exact_first_only", int(first_exact and not max_exact)),
        ("cue_exact_max_only", int(max_exact and not first_exact)),
        ("cue_later_exact", int(any(r[2] for r in rows[1:]))),
        ("cue_additive", sum(1 for s, _ in counted[1:] if ADDITIVE.search(s))),
        ("cue_sentences", len(counted)),
    )


def count_candidates(text: str, kind: str) -> dict[str, int]:
    """first/max/sum over sentences of people (and leaders) attached to ``kind`` verbs.

    Keys starting ``people_`` / ``leaders_`` are candidates for the count fields; ``cue_``
    keys (capture only) describe how detentions spread over sentences and become features,
    so the chooser can learn when to trust which total.
    """
    return dict(_text_counts(text, kind))
