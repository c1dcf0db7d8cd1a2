"""Error analysis: what each model gets wrong on each field, and how often.

Scores say *how much* a model misses; these tables say *what*: a confusion table for
fields with few values (labels, booleans, small counts), per-label misses and extras for
label sets, and the most common error patterns with links to the rows behind them.

Every count here agrees with the scores: a confusion cell is red because its rows were
*scored* wrong, never because two printed values differ, so the red cells add up to the
"wrong" and "partly right" counts printed above them. Patterns count rows (and, under a
list of records, records apart); one-off value pairs pool into one line, and the same
kind of miss with different values ("predicted null" for 29 different dates) is one
pattern with the values listed under it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldwise.report._cells import cells, distinct_pairs
from fieldwise.report._values import STATUS_TEXT, Parsed, typed
from fieldwise.scoring import MISSING
from fieldwise.tasks._task import FieldSpec

TOP_PATTERNS = 6
LINKS_PER_PATTERN = 6
DETAILS = 3
CONFUSION_SIZE = 7
NO_OUTPUT = "(no object)"
NO_GOLD = "(none)"
OTHER = "other"
POOLED = "other wrong values"


@dataclass(frozen=True)
class Miss:
    """One thing wrong in one cell: the pattern it counts under and the value behind it.

    ``rare`` marks a bare value pair ("gold 3 → pred 4"): when it happens on one row
    only, it pools with the other such pairs into one :data:`POOLED` line."""

    pattern: str
    detail: str = ""
    rare: bool = False
    of: str = ""
    """What ``detail`` is (``gold``: the gold value behind a "predicted null")."""


@dataclass
class Pattern:
    text: str
    count: int
    """Rows with this pattern (each row once)."""
    rows: list[int]
    """Up to :data:`LINKS_PER_PATTERN` of them, each once, to link to."""
    records: int = 0
    """Occurrences, when a row can have several (records under a list field)."""
    details: list[tuple[str, int]] = field(default_factory=list)
    more: int = 0
    """Distinct values behind the pattern beyond ``details``."""
    of: str = ""


@dataclass
class Confusion:
    """Gold (rows) x predicted (columns) counts over every row, rare values pooled in
    ``other`` on both axes alike, so a right answer never lands off the diagonal.

    ``wrong[g][p]`` counts the rows of a cell scored below 1, ``unscored`` those not
    scored: a cell is coloured by how its rows were scored, not by its labels."""

    gold: list[str]
    pred: list[str]
    counts: list[list[int]]
    wrong: list[list[int]]
    unscored: list[list[int]]

    def css(self, g: int, p: int) -> str:
        n, bad, na = self.counts[g][p], self.wrong[g][p], self.unscored[g][p]
        if n == 0:
            return ""
        if na == n:
            return "na"
        if bad == 0:
            return "ok"
        return "off" if bad == n - na else "mix"

    def title(self, g: int, p: int) -> str:
        n, bad, na = self.counts[g][p], self.wrong[g][p], self.unscored[g][p]
        parts = [f"{n - bad - na} right", f"{bad} wrong"] + ([f"{na} not scored"] if na else [])
        return ", ".join(parts)

    @property
    def wrong_total(self) -> int:
        return sum(map(sum, self.wrong))


@dataclass
class SetRow:
    label: str
    gold: int
    predicted: int
    missed: int
    extra: int


@dataclass
class FieldErrors:
    """One model's errors on one field under the ranking profile."""

    name: str
    wrong: int
    partial: int
    unscored: int
    patterns: list[Pattern]
    confusion: Confusion | None = None
    set_rows: list[SetRow] = field(default_factory=list)
    per_record: bool = False
    """Patterns count records too (a leaf under a list of records)."""
    hidden: int = 0
    """Patterns not listed (beyond :data:`TOP_PATTERNS`)."""


def field_errors(
    spec: FieldSpec,
    golds: list[Any],
    parsed: Parsed,
    scores: np.ndarray | None,
    leaf_rows: Mapping[str, np.ndarray] | None = None,
) -> FieldErrors:
    """Analyse one model's column of predictions for ``spec`` against the gold column.

    ``leaf_rows`` (the profile's per-row leaf scores, ``ModelScore.path_rows``) lets an
    object field name the leaves that were scored wrong rather than the whole object."""
    name = spec.name
    preds = parsed.column(name)
    statuses = parsed.statuses
    leaf_rows = leaf_rows or {}
    if spec.kind == "object":

        def patterns_of(i: int) -> list[Miss]:
            def wrong(path: str) -> bool | None:
                col = leaf_rows.get(path)
                return None if col is None else bool(col[i] < 1.0)

            return cell_patterns(spec, statuses[i], preds[i], golds[i], wrong)

    else:  # the misses depend on the values alone: name each distinct cell once
        named: dict[tuple[Any, ...], list[Miss]] = {}

        def patterns_of(i: int) -> list[Miss]:
            status, pred, gold = statuses[i], preds[i], golds[i]
            key = (
                status,
                type(pred),
                tuple(pred) if type(pred) is list else pred,  # label sets
                type(gold),
                tuple(gold) if type(gold) is list else gold,
            )
            try:
                found = named.get(key)
            except TypeError:  # an unhashable value (garbage output): not a key
                return cell_patterns(spec, status, pred, gold)
            if found is None:
                found = named[key] = cell_patterns(spec, status, pred, gold)
            return found

    result = tally(spec.name, scores, len(golds), patterns_of)
    if spec.kind in ("label", "bool", "int"):
        result.confusion = confusion(golds, preds, parsed, scores, spec.labels)
    elif spec.kind == "label_set":
        result.set_rows = set_table(golds, preds)
    return result


def tally(
    name: str,
    scores: np.ndarray | None,
    rows: int,
    patterns_of: Callable[[int], list[Miss]],
    per_record: bool = False,
) -> FieldErrors:
    """Count wrong, partly right and unscored rows; name the errors of the ones not fully
    right with ``patterns_of(row)`` and keep the most common patterns."""
    col = np.full(rows, np.nan) if scores is None else np.asarray(scores, dtype=np.float64)
    scored = ~np.isnan(col)
    unscored = int(rows - scored.sum())
    partial = int((scored & (col > 0.0) & (col < 1.0)).sum())
    wrong = int((scored & (col <= 0.0)).sum())
    hits: dict[str, list[int]] = defaultdict(list)
    details: dict[str, Counter[str]] = defaultdict(Counter)
    rare: set[str] = set()
    of: dict[str, str] = {}
    # Only the rows with an error are walked in Python (at 100,000 rows, most are right).
    for i in np.flatnonzero(scored & (col < 1.0)).tolist():
        for miss in patterns_of(i):
            hits[miss.pattern].append(i)
            if miss.detail:
                details[miss.pattern][miss.detail] += 1
            if miss.rare:
                rare.add(miss.pattern)
            of.setdefault(miss.pattern, miss.of)
    _pool(hits, details, rare)
    patterns = [
        _pattern(text, found, details[text], of.get(text, "")) for text, found in hits.items()
    ]
    patterns.sort(key=lambda p: (-p.count, -p.records, p.text == POOLED, p.text))
    return FieldErrors(
        name,
        wrong,
        partial,
        unscored,
        patterns[:TOP_PATTERNS],
        per_record=per_record,
        hidden=max(0, len(patterns) - TOP_PATTERNS),
    )


def _pool(hits: dict[str, list[int]], details: dict[str, Counter[str]], rare: set[str]) -> None:
    """Merge the one-row value pairs into one :data:`POOLED` pattern when there are more
    patterns than the table lists (and at least two such pairs: pooling one would only
    hide its values)."""
    singles = [t for t in rare if len(set(hits[t])) == 1]
    if len(hits) <= TOP_PATTERNS or len(singles) < 2:
        return
    for text in sorted(singles):
        found = hits.pop(text)
        hits[POOLED].extend(found)
        details[POOLED][text] += len(found)


def _pattern(text: str, found: list[int], details: Counter[str], of: str) -> Pattern:
    rows = sorted(set(found))
    top = sorted(details.items(), key=lambda kv: (-kv[1], kv[0]))
    return Pattern(
        text,
        len(rows),
        rows[:LINKS_PER_PATTERN],
        records=len(found),
        details=top[:DETAILS],
        more=max(0, len(top) - DETAILS),
        of=of,
    )


def cell_patterns(
    spec: FieldSpec,
    status: str,
    pred: Any,
    gold: Any,
    leaf_wrong: Callable[[str], bool | None] | None = None,
) -> list[Miss]:
    """Name what went wrong in one cell (a set or an object can have several misses).

    ``leaf_wrong(path)`` says whether a leaf inside an object was scored wrong (``None``:
    unknown, then values are compared)."""
    if status != "ok":
        return [Miss(f"no usable output ({STATUS_TEXT[status]})")]
    if pred is MISSING:
        return [Miss("field missing from output")]
    if gold is None and pred is not None:
        return [Miss("a value where gold is null", brief(pred), of="predicted")]
    if pred is None and gold is not None:
        return [Miss("predicted null", brief(gold), of="gold")]
    if spec.kind == "label_set":
        gold_set, pred_set = as_labels(gold), as_labels(pred)
        if pred_set is None:
            return [Miss("not a list", typed(pred))]
        if gold_set is not None:
            found = [Miss(f"missing {_label(x)}") for x in sorted(gold_set - pred_set)]
            found += [Miss(f"extra {_label(x)}") for x in sorted(pred_set - gold_set)]
            if found:
                return found
    if spec.kind == "date":
        days = _days_off(gold, pred)
        if days is not None:
            unit = "day" if abs(days) == 1 else "days"
            return [Miss(f"{abs(days)} {unit} {'late' if days > 0 else 'early'}")]
    if spec.kind == "object" and type(pred) is dict and type(gold) is dict:
        found = _object_misses(spec, pred, gold, leaf_wrong or (lambda _: None), spec.path)
        if found:
            return found
    if spec.kind == "records" and type(pred) is list and type(gold) is list:
        return [Miss("records differ", f"{len(gold)} gold, {len(pred)} predicted")]
    return [Miss(f"gold {typed(gold)} → pred {typed(pred)}", rare=True)]


def _object_misses(
    spec: FieldSpec,
    pred: dict[str, Any],
    gold: dict[str, Any],
    leaf_wrong: Callable[[str], bool | None],
    top: str,
) -> list[Miss]:
    """The misses of an object's children, each named by its path below ``top``."""
    out: list[Miss] = []
    for child in spec.scored_children:
        p, g = pred.get(child.name, MISSING), gold.get(child.name)
        where = child.path[len(top) + 1 :]
        if child.kind == "object" and type(p) is dict and type(g) is dict:
            out += _object_misses(child, p, g, leaf_wrong, top)
            continue
        verdicts = [leaf_wrong(leaf.path) for leaf in child.leaves()]
        known = [v for v in verdicts if v is not None]
        if not (any(known) if known else not _same(p, g)):
            continue
        if child.kind == "records" and p is not None and g is not None:
            out.append(Miss(f"{where}: records differ"))
            continue
        for miss in cell_patterns(child, "ok", p, g):
            out.append(Miss(f"{where}: {miss.pattern}", miss.detail, miss.rare, miss.of))
    return out


def brief(value: Any) -> str:
    """A value as a pattern's detail: nested values by their shape, not their JSON."""
    if type(value) is list and value and all(type(v) is dict for v in value):
        return f"{len(value)} record{'s' if len(value) != 1 else ''}"
    if type(value) is dict:
        return f"an object of {len(value)} key{'s' if len(value) != 1 else ''}"
    return typed(value)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def as_labels(value: Any) -> set[str] | None:
    """A label set as the reference profile sees it: a bare string is one label."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {v if isinstance(v, str) else typed(v) for v in value}
    return None


def _label(value: str) -> str:
    return value if value else '""'


def _days_off(gold: Any, pred: Any) -> int | None:
    try:
        g = dt.date.fromisoformat(str(gold).strip())
        p = dt.date.fromisoformat(pred.strip()) if isinstance(pred, str) else None
    except ValueError:
        return None
    return None if p is None or p == g else (p - g).days


def confusion(
    golds: list[Any],
    preds: list[Any],
    parsed: Parsed,
    scores: np.ndarray | None = None,
    labels: tuple[str, ...] = (),
) -> Confusion:
    """Count (gold, pred) pairs over all rows, with how each cell's rows were scored.

    The values named are the most common over gold and predictions together, and the
    same ones on both axes (the rest pool in ``other`` on both), in a fixed order:
    false before true, numbers by value, labels in the task's order."""
    values: dict[str, Any] = {}
    names: dict[Any, str] = {}

    def key(value: Any, pred_ok: bool | None = None) -> str:
        """A gold value's name (``pred_ok`` None) or a pred's (whether its row parsed)."""
        if pred_ok is False:
            return NO_OUTPUT
        if pred_ok is None and value is None:
            return NO_GOLD
        text = typed(value)
        values.setdefault(text, value)
        return text

    # These fields have few distinct values: count the distinct (gold, pred) cells in one
    # C-level pass over the rows and name each distinct value once (100,000 rows x 3
    # models x every label field walked in Python was a second of the report).
    statuses = parsed.statuses
    counted, originals = cells(golds, preds, statuses)

    def name(tagged: tuple[Any, ...], originals: dict[Any, Any] = originals) -> str:
        found = names.get(tagged)
        if found is None:
            value = originals.get(tagged[:2], tagged[1])
            found = names[tagged] = key(value, None if len(tagged) < 3 else tagged[2])
        return found

    pairs: Counter[tuple[str, str]] = Counter()
    for (g, p), n in counted.items():
        pairs[name(g), name(p)] += n
    freq: Counter[str] = Counter()
    for (g_key, p_key), n in pairs.items():
        if g_key != NO_GOLD:
            freq[g_key] += n
        if p_key != NO_OUTPUT:
            freq[p_key] += n
    order = {k: _order(values[k], labels) for k in freq}
    named = sorted(freq, key=lambda k: (-freq[k], order[k]))[:CONFUSION_SIZE]
    named.sort(key=order.__getitem__)
    gold_names = _axis(named, {g for g, _ in pairs}, NO_GOLD)
    pred_names = _axis(named, {p for _, p in pairs}, NO_OUTPUT)
    g_index = {k: n for n, k in enumerate(gold_names)}
    p_index = {k: n for n, k in enumerate(pred_names)}

    def at(g_key: str, p_key: str) -> tuple[int, int]:
        return g_index.get(g_key, g_index.get(OTHER, 0)), p_index.get(p_key, p_index.get(OTHER, 0))

    shape = (len(gold_names), len(pred_names))
    counts, wrong, unscored = (np.zeros(shape, dtype=np.int64) for _ in range(3))
    for (g_key, p_key), n in pairs.items():
        counts[at(g_key, p_key)] += n
    col = np.full(len(golds), np.nan) if scores is None else np.asarray(scores, dtype=float)
    # The rows not scored right (at scale, few), unscored and wrong apart, counted by
    # distinct cell as above and each cell placed once.
    bad = np.flatnonzero(~(col >= 1.0))
    not_scored = np.isnan(col[bad])
    for target, rows in ((unscored, bad[not_scored]), (wrong, bad[~not_scored])):
        picked = rows.tolist()
        sub, found = cells(
            [golds[i] for i in picked], [preds[i] for i in picked], [statuses[i] for i in picked]
        )
        for (g, p), n in sub.items():
            target[at(name(g, found), name(p, found))] += n
    return Confusion(gold_names, pred_names, counts.tolist(), wrong.tolist(), unscored.tolist())


def _axis(named: list[str], present: set[str], special: str) -> list[str]:
    """One axis: the named values that occur on it, its special value, then ``other``."""
    axis = [k for k in named if k in present]
    if special in present:
        axis.append(special)
    if present - set(axis):
        axis.append(OTHER)
    return axis


def _order(value: Any, labels: tuple[str, ...]) -> tuple[int, float, str]:
    """Sort key of a value on a confusion axis: false, true; numbers; labels; the rest."""
    if isinstance(value, bool):
        return (0, float(value), "")
    if isinstance(value, (int, float)):
        return (1, float(value) if value == value else float("inf"), "")
    if isinstance(value, str):
        rank = labels.index(value) if value in labels else len(labels)
        return (2, float(rank), value)
    return (3, 0.0, typed(value))


def set_table(golds: list[Any], preds: list[Any], limit: int = 12) -> list[SetRow]:
    """Per label: how often it is gold, predicted, missed and added; most errors first."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for gold, pred, n in distinct_pairs(golds, preds):
        gold_set = as_labels(gold) or set()
        pred_set = as_labels(pred) if pred is not MISSING else set()
        pred_set = pred_set or set()
        for x in gold_set:
            tally[x][0] += n
        for x in pred_set:
            tally[x][1] += n
        for x in gold_set - pred_set:
            tally[x][2] += n
        for x in pred_set - gold_set:
            tally[x][3] += n
    rows = [SetRow(_label(k), *v) for k, v in tally.items() if v[2] or v[3]]
    rows.sort(key=lambda r: (-(r.missed + r.extra), -r.gold, r.label))
    return rows[:limit]
