"""The fitted baseline: features + one head per field, saved as JSON and a numpy archive.

Kept apart from the backend class so benchmarks and the trainer can fit and predict
in-process without the async model interface. After the heads have spoken, a yes/no field
and a count that always agreed in training ("someone was killed", "killed > 0") are made
to agree (see ``_reconcile``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fieldwise.data.nested import column_leaves
from fieldwise.errors import UserError
from fieldwise.models.baseline._choice import ChoiceHead, dense_matrix
from fieldwise.models.baseline._dates import (
    Calendar,
    cue_features,
    date_candidates,
    header_month_without_year,
    learn_calendar,
)
from fieldwise.models.baseline._heads import BoolHead, LabelHead, LabelSetHead, headline
from fieldwise.models.baseline._linear import Arrays, Featurizer
from fieldwise.models.baseline._rules import Rules, rules_for
from fieldwise.models.baseline._span import SpanHead
from fieldwise.models.baseline._text import PatternSet, fold
from fieldwise.tasks import Example, FieldSpec, Task

FORMAT = "fieldwise-baseline"
VERSION = 3  # 3: count choosers carry a reranker; 2: classifier heads read no candidate features
META_FILE = "model.json"
WEIGHTS_FILE = "weights.npz"
INT_PREFIX: tuple[str, ...] | None = ("",)
Head = BoolHead | LabelHead | LabelSetHead | ChoiceHead | SpanHead


MentionSets = dict[str, tuple[PatternSet, PatternSet]]


def mention_sets(task: Task, rules: Rules) -> MentionSets:
    """Each label-set field's strong and hint patterns, compiled once per model, not per row."""
    return {
        spec.name: (PatternSet(rules.label_patterns(spec)), PatternSet(rules.label_hints(spec)))
        for spec in task.scored_fields
        if spec.kind == "label_set"
    }


def column_task(task: Task) -> Task:
    """The task the heads see: a flat task is itself (so it trains exactly as it always
    has); a nested one has one field per leaf of its objects, named by path
    (``vendor.name``), and none for its ``records`` fields."""
    if not task.is_nested:
        return task
    fields = tuple(
        dataclasses.replace(leaf, name=leaf.path, children=()) for leaf in column_leaves(task)
    )
    return dataclasses.replace(task, fields=fields)


class RowView:
    """Everything rules say about one text, computed once and shared by all heads."""

    def __init__(
        self,
        task: Task,
        rules: Rules,
        text: str,
        patterns: MentionSets,
        year_by_month: dict[int, int] | None = None,
        calendar: Calendar | None = None,
    ) -> None:
        self.text = text
        # What the rules say about the row as a whole: the only dense features of the
        # classifier heads. Candidate and date cues below serve the choosers; fed to the
        # classifiers too, hundreds of sparse indicators let them fit noise.
        self.row_dense: dict[str, float] = dict(rules.features(text))
        self.dense: dict[str, float] = dict(self.row_dense)
        self.cands: dict[str, dict[str, Any]] = {}
        self.mentions: dict[str, tuple[dict[str, list[int]], dict[str, list[int]]]] = {}
        kinds = {f.kind for f in task.scored_fields}
        dates: dict[str, str] = {}
        self.date_dense: dict[str, float] = {}  # the date chooser's own cues
        if "date" in kinds:
            dates, self.date_dense = date_candidates(text, year_by_month, calendar)
            self.dense.update(cue_features(text, year_by_month))
        mention_text = rules.mention_text(text)
        folded = fold(mention_text)
        for spec in task.scored_fields:
            if spec.kind == "date":
                self.cands[spec.name] = dates
            elif spec.kind in ("int", "float"):
                cands = rules.int_candidates(spec, text)
                self.cands[spec.name] = dict(cands)
                names = sorted(cands)
                for i, name in enumerate(names):
                    value = cands[name]
                    self.dense[f"cand:{spec.name}:{name}={min(value, 6)}"] = 1.0
                    for other in names[i + 1 :]:
                        if cands[other] == value:
                            self.dense[f"cand:{spec.name}:{name}=={other}"] = 1.0
            elif spec.kind == "label_set":
                strong, hints = patterns[spec.name]
                self.mentions[spec.name] = (
                    strong.offsets(mention_text, folded),
                    hints.offsets(mention_text, folded),
                )


class Pipeline:
    def __init__(
        self, task: Task, featurizer: Featurizer, heads: dict[str, Head], params: dict[str, Any]
    ) -> None:
        self.task = task
        self.rules = rules_for(task)
        self.featurizer = featurizer
        self.heads = heads
        self.params = params
        self.year_by_month = {int(k): int(v) for k, v in params.get("year_by_month", {}).items()}
        self.calendar: Calendar = dict(params.get("calendar", {}))
        self.patterns = mention_sets(task, self.rules)

    @classmethod
    def fit(
        cls, task: Task, examples: Sequence[Example], c: float = 4.0, max_features: int = 30000
    ) -> Pipeline:
        labelled = [ex for ex in examples if ex.gold is not None]
        if not labelled:
            raise UserError("the baseline needs labelled examples to train on")
        rules = rules_for(task)
        year_by_month = _learn_years(task, labelled)
        patterns = mention_sets(task, rules)
        texts = [ex.text for ex in labelled]
        calendar = learn_calendar(texts, year_by_month)
        views = [RowView(task, rules, t, patterns, year_by_month, calendar) for t in texts]
        feat = Featurizer.fit(texts, [v.row_dense for v in views], max_features)
        x = feat.transform(texts, [v.row_dense for v in views])
        heads: dict[str, Head] = {}
        for spec in task.scored_fields:
            golds = [ex.gold.get(spec.name) for ex in labelled if ex.gold is not None]
            heads[spec.name] = _fit_head(spec, x, golds, views, c)
        params = {
            "c": c,
            "max_features": max_features,
            "rules": rules.name,
            "rows": len(texts),
            "year_by_month": {str(k): v for k, v in year_by_month.items()},
            "calendar": calendar,
            "paired": _paired_fields(task, labelled),
        }
        return cls(task, feat, heads, params)

    def predict(self, texts: Sequence[str]) -> list[dict[str, tuple[Any, float]]]:
        """Per row, each field's value and confidence (``name`` gets a heuristic headline)."""
        views = [
            RowView(self.task, self.rules, t, self.patterns, self.year_by_month, self.calendar)
            for t in texts
        ]
        x = self.featurizer.transform(texts, [v.row_dense for v in views])
        rows: list[dict[str, tuple[Any, float]]] = [{} for _ in texts]
        chooser_x: dict[tuple[Any, ...], Any] = {}
        votes: dict[str, list[dict[str, float]]] = {}
        for spec in self.task.fields:
            head = self.heads.get(spec.name)
            if isinstance(head, LabelSetHead):
                preds = head.predict(x, [v.mentions[spec.name] for v in views])
            elif isinstance(head, ChoiceHead):
                dense = [v.date_dense if spec.kind == "date" else v.dense for v in views]
                cands = [v.cands[spec.name] for v in views]
                if head.names is not None:  # choosers reading the same features share them
                    key = (spec.kind == "date", *head.names)
                    if key not in chooser_x:
                        chooser_x[key] = dense_matrix(dense, head.names)
                    votes[spec.name] = head.votes(chooser_x[key], cands)
                else:
                    votes[spec.name] = head.votes(x, cands, dense)
                preds = head.decide(votes[spec.name])
            elif isinstance(head, SpanHead):
                preds = head.predict(texts)
            elif head is not None:
                preds = head.predict(x)
            else:
                preds = [(headline(t) if spec.kind == "text" else None, 0.0) for t in texts]
            for row, pred in zip(rows, preds, strict=True):
                row[spec.name] = pred
        for flag, count in self.params.get("paired", []):
            head = self.heads[flag]
            if isinstance(head, BoolHead) and count in votes:
                _reconcile(rows, flag, count, head.p_true(x), votes[count])
        return rows

    def save(self, out_dir: Path) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        meta_f, arrays = self.featurizer.state("features")
        heads_meta: dict[str, Any] = {}
        for i, (name, head) in enumerate(self.heads.items()):
            m, a = head.state(f"head{i}")
            heads_meta[name] = {"type": type(head).__name__, "prefix": f"head{i}", **m}
            arrays.update(a)
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "task": self.task.name,
            "fields": [[f.name, f.kind] for f in self.task.fields],
            "params": self.params,
            "features": meta_f,
            "heads": heads_meta,
        }
        (out_dir / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
        np.savez_compressed(out_dir / WEIGHTS_FILE, **arrays)  # type: ignore[arg-type]
        return out_dir

    @classmethod
    def load(cls, task: Task, model_dir: Path) -> Pipeline:
        meta, arrays = _read(model_dir)
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise UserError(f"{model_dir} is not a fieldwise baseline model (version {VERSION})")
        fields = [[f.name, f.kind] for f in task.fields]
        if meta.get("fields") != fields:
            raise UserError(
                f"baseline model in {model_dir} was trained for task '{meta.get('task')}' "
                f"with other fields than task '{task.name}'",
                hint="train it again for this task",
            )
        try:
            feat = Featurizer.from_state(meta["features"], arrays, "features")
            heads: dict[str, Head] = {}
            types = {
                t.__name__: t for t in (BoolHead, LabelHead, LabelSetHead, ChoiceHead, SpanHead)
            }
            for name, m in meta["heads"].items():
                heads[name] = types[m["type"]].from_state(m, arrays, m["prefix"])
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"baseline model in {model_dir} is corrupt: {exc!r}") from exc
        return cls(task, feat, heads, dict(meta.get("params", {})))


def _read(model_dir: Path) -> tuple[dict[str, Any], Arrays]:
    meta_path, weights_path = model_dir / META_FILE, model_dir / WEIGHTS_FILE
    if not meta_path.is_file() or not weights_path.is_file():
        raise UserError(
            f"no baseline model in {model_dir} (expected {META_FILE} and {WEIGHTS_FILE})",
            hint="train one first, e.g. fieldwise train baseline --task TASK --out DIR",
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with np.load(weights_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise UserError(f"baseline model in {model_dir} is corrupt: {exc}") from exc
    if not isinstance(meta, dict):
        raise UserError(f"baseline model in {model_dir} is corrupt: {META_FILE} is not an object")
    return meta, arrays


def fingerprint(model_dir: Path) -> str:
    """sha256 over the saved files: the model's identity for prediction caching."""
    digest = hashlib.sha256()
    for name in (META_FILE, WEIGHTS_FILE):
        digest.update(name.encode())
        digest.update((model_dir / name).read_bytes())
    return digest.hexdigest()


def _fit_head(
    spec: FieldSpec, x: Any, golds: list[Any], views: Sequence[RowView], c: float
) -> Head:
    if spec.kind == "bool":
        return BoolHead.fit(x, golds, c)
    if spec.kind == "label":
        return LabelHead.fit(x, golds, c)
    if spec.kind == "label_set":
        return LabelSetHead.fit(spec, x, golds, [v.mentions[spec.name] for v in views], c)
    if spec.kind == "date":
        clean = [str(g)[:10] if g else None for g in golds]
        return ChoiceHead.fit(
            x, clean, [v.cands[spec.name] for v in views], c, literals=False,
            dense=[v.date_dense for v in views], prefix="date:",
        )  # fmt: skip
    if spec.kind in ("int", "float"):
        cast = int if spec.kind == "int" else float
        clean = [_num(g, cast) for g in golds]
        return ChoiceHead.fit(
            x, clean, [v.cands[spec.name] for v in views], c, literals=True,
            dense=[v.dense for v in views], prefix=INT_PREFIX,
        )  # fmt: skip
    if len({str(g) for g in golds if g is not None}) > UNIQUE_TEXT * len(golds) >= 10:
        # An invoice number, an ID: mostly a new value per row, so a classifier over the
        # training values can only ever be wrong. It copies a token of the text, or
        # abstains (null) when the values are not tokens of the text.
        copier = SpanHead.fit([v.text for v in views], golds, c)
        return copier if copier is not None else LabelHead.fit(x, [None] * len(golds), c)
    if spec.optional:  # null is a value the head can learn
        return LabelHead.fit(x, [str(g) if g is not None else None for g in golds], c)
    return LabelHead.fit(x, [str(g) if g is not None else "" for g in golds], c)


UNIQUE_TEXT = 0.5
"""A text field with more distinct gold values than this share of rows is not learnable
as a choice among them."""


def _learn_years(task: Task, examples: Sequence[Example]) -> dict[int, int]:
    """For headers that give a month but no year: the year most often right in training."""
    date_fields = [f.name for f in task.scored_fields if f.kind == "date"]
    if not date_fields:
        return {}
    votes: dict[int, Counter[int]] = {}
    for ex in examples:
        month = header_month_without_year(ex.text)
        gold = str((ex.gold or {}).get(date_fields[0]) or "")
        if month and re.match(r"(?:19|20)\d\d-", gold):
            votes.setdefault(month, Counter())[int(gold[:4])] += 1
    return {m: c.most_common(1)[0][0] for m, c in votes.items()}


def _num(value: Any, cast: type) -> Any:
    try:
        return cast(value)
    except (TypeError, ValueError):
        return None


# A yes/no field and a count that agree ("someone was killed" and "killed > 0") on at
# least this share of the training rows are made to agree in every prediction too.
AGREEMENT = 0.97


def _paired_fields(task: Task, examples: Sequence[Example]) -> list[list[str]]:
    """Bool/count field pairs whose gold values say "flag == (count > 0)" in training."""
    flags = [f.name for f in task.scored_fields if f.kind == "bool"]
    counts = [f.name for f in task.scored_fields if f.kind in ("int", "float")]
    out = []
    for flag in flags:
        for count in counts:
            seen = [
                (bool(g[flag]), n > 0)
                for ex in examples
                if (g := ex.gold or {}).get(flag) is not None
                and (n := _num(g.get(count), float)) is not None
            ]
            on = sum(1 for f, _ in seen if f)
            agree = sum(1 for f, c in seen if f == c)
            if min(on, len(seen) - on) >= 5 and agree >= AGREEMENT * len(seen):
                out.append([flag, count])
    return out


def _reconcile(
    rows: list[dict[str, tuple[Any, float]]],
    flag: str,
    count: str,
    p_true: np.ndarray,
    votes: Sequence[Mapping[str, float]],
) -> None:
    """Make ``flag`` and ``count > 0`` agree, keeping the likelier of the two joint states.

    The heads decide each field alone; where they disagree, the one more sure of itself
    wins, and the count moves to its most voted value on the winning side of zero.
    """
    for row, p, vote in zip(rows, p_true.tolist(), votes, strict=True):
        total = sum(vote.values())
        if total <= 0:
            continue
        positive = {k: v for k, v in vote.items() if _positive(k)}
        p_pos = sum(positive.values()) / total
        yes, no = p * p_pos, (1.0 - p) * (1.0 - p_pos)
        on = yes > no
        row[flag] = (on, max(yes, no) / max(1e-12, yes + no))
        if _positive(json.dumps(row[count][0])) != on:
            side = positive if on else {k: v for k, v in vote.items() if k not in positive}
            if side:
                key = max(side, key=lambda k: side[k])
                row[count] = (json.loads(key), side[key] / total)


def _positive(key: str) -> bool:
    value = json.loads(key)
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
