"""One head per output field, chosen by the field's kind.

Every head reads the same row features (TF-IDF plus rule features) and returns, for each
row, a value and a confidence in [0, 1]; the confidence drives the ``abstain`` option.

- bool / label: a logistic regression over the row features.
- label_set: one-vs-rest regressions, or, when the labels are usually named in the text
  (places, organisations), one shared "is this mentioned label right?" ranker, which
  generalises to labels seen once or never in training.
- int / float / date: ``ChoiceHead`` in ``_choice.py``.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from fieldwise.models.baseline._linear import Arrays, LinearHead
from fieldwise.tasks import FieldSpec

Prediction = tuple[Any, float]


class BoolHead:
    def __init__(self, clf: LinearHead) -> None:
        self.clf = clf

    @classmethod
    def fit(cls, x: sp.csr_matrix, golds: Sequence[Any], c: float) -> BoolHead:
        return cls(LinearHead.fit(x, ["true" if bool(g) else "false" for g in golds], c))

    def p_true(self, x: sp.csr_matrix) -> np.ndarray:
        """The probability that the value is true, per row."""
        if "true" not in self.clf.classes:
            return np.zeros(x.shape[0])
        return self.clf.proba(x)[:, self.clf.classes.index("true")]

    def predict(self, x: sp.csr_matrix) -> list[Prediction]:
        proba = self.clf.proba(x)
        out = []
        for row in proba:
            k = int(row.argmax())
            out.append((self.clf.classes[k] == "true", float(row[k])))
        return out

    def state(self, prefix: str) -> tuple[dict[str, Any], Arrays]:
        return self.clf.state(prefix)

    @classmethod
    def from_state(cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray], prefix: str):
        return cls(LinearHead.from_state(meta, arrays, prefix))


class LabelHead(BoolHead):
    @classmethod
    def fit(cls, x: sp.csr_matrix, golds: Sequence[Any], c: float) -> LabelHead:
        return cls(LinearHead.fit(x, [json.dumps(g) for g in golds], c))

    def predict(self, x: sp.csr_matrix) -> list[Prediction]:
        proba = self.clf.proba(x)
        return [(json.loads(self.clf.classes[int(r.argmax())]), float(r.max())) for r in proba]


def split_labels(value: Any, spec: FieldSpec) -> set[str]:
    """Gold label sets in canonical form (``;``-joined values split, aliases mapped)."""
    items = value if isinstance(value, list | tuple | set) else [value]
    out = set()
    for item in items:
        for part in re.split(r"[;,]", "" if item is None else str(item)):
            part = part.strip().lower()
            part = spec.aliases.get(part, part)
            if part and (not spec.labels or part in spec.labels):
                out.add(part)
    return out


MENTION_FEATURES = (
    "count", "any", "first", "most", "only", "early", "hint_count", "hint_any", "hint_only",
    "hint_most", "n_mentioned", "none_mentioned", "empty_label", "prior", "bias_known",
)  # fmt: skip


def mention_features(
    labels: Sequence[str],
    strong: Mapping[str, list[int]],
    hints: Mapping[str, list[int]],
    priors: Mapping[str, float],
) -> np.ndarray:
    """Per-label features from where (character offsets) each label is named in a row."""
    n_strong = sum(1 for v in strong.values() if v)
    n_hint = sum(1 for v in hints.values() if v)
    top = max((len(v) for v in strong.values()), default=0)
    top_hint = max((len(v) for v in hints.values()), default=0)
    first_pos = min((v[0] for v in strong.values() if v), default=-1)
    rows = []
    for label in labels:
        s, h = strong.get(label, []), hints.get(label, [])
        rows.append([
            min(len(s), 5) / 5, float(bool(s)), float(bool(s) and s[0] == first_pos),
            float(bool(s) and len(s) == top), float(bool(s) and n_strong == 1),
            float(bool(s) and s[0] < 400), min(len(h), 5) / 5, float(bool(h)),
            float(bool(h) and n_hint == 1), float(bool(h) and len(h) == top_hint),
            min(n_strong, 5) / 5, float(n_strong == 0), float(label == ""),
            priors.get(label, math.log(1e-3)) / 7, float(label in priors),
        ])  # fmt: skip
    return np.asarray(rows, dtype=np.float64)


class LabelSetHead:
    """Sets of labels: one-vs-rest over row features, or a shared mention ranker."""

    def __init__(
        self,
        mode: str,
        labels: list[str],
        heads: dict[str, LinearHead],
        priors: dict[str, float],
        empty: list[str],
    ) -> None:
        self.mode = mode
        self.labels = labels
        self.heads = heads
        self.priors = priors
        self.empty = empty

    @classmethod
    def fit(
        cls,
        spec: FieldSpec,
        x: sp.csr_matrix,
        golds: Sequence[Any],
        mentions: Sequence[tuple[dict[str, list[int]], dict[str, list[int]]]],
        c: float,
    ) -> LabelSetHead:
        sets = [split_labels(g, spec) for g in golds]
        freq = Counter(label for s in sets for label in s)
        n_empty = sum(1 for s in sets if not s)
        labels = sorted(set(freq) | {lab for lab in spec.labels if lab})
        empty_value = [""] if "" in spec.labels or n_empty else []
        if n_empty:
            freq[""] = n_empty
        total = max(1, len(sets))
        priors = {lab: math.log(cnt / total) for lab, cnt in freq.items()}
        named = sum(
            1 for s, (st, _) in zip(sets, mentions, strict=True) for lab in s if st.get(lab)
        )
        gold_total = sum(len(s) for s in sets)
        if gold_total and named / gold_total >= 0.6:
            cands = labels + ([""] if n_empty else [])
            feats: list[np.ndarray] = []
            ys: list[str] = []
            for s, (st, hi) in zip(sets, mentions, strict=True):
                feats.append(mention_features(cands, st, hi, priors))
                ys.extend("1" if (lab in s or (lab == "" and not s)) else "0" for lab in cands)
            ranker = LinearHead.fit(sp.csr_matrix(np.vstack(feats)), ys, c)
            return cls("mention", cands, {"ranker": ranker}, priors, empty_value)
        heads = {
            lab: LinearHead.fit(x, ["1" if lab in s else "0" for s in sets], c)
            for lab in sorted(freq)
            if lab
        }
        return cls("ovr", sorted(heads), heads, priors, empty_value)

    def _scores(self, x: sp.csr_matrix, mentions: Sequence[Any]) -> np.ndarray:
        if self.mode == "mention":
            ranker = self.heads["ranker"]
            pos = ranker.classes.index("1") if "1" in ranker.classes else 0
            if ranker.classes == ["0"]:
                return np.zeros((x.shape[0], len(self.labels)))
            feats = [mention_features(self.labels, st, hi, self.priors) for st, hi in mentions]
            if not feats:
                return np.zeros((0, len(self.labels)))
            # One sparse product for all rows: a row's result does not depend on its batch.
            proba = ranker.proba(sp.csr_matrix(np.vstack(feats)))
            return proba[:, pos].reshape(len(feats), len(self.labels))
        cols = []
        for lab in self.labels:
            head = self.heads[lab]
            p = head.proba(x)
            cols.append(p[:, head.classes.index("1")] if "1" in head.classes else p[:, 0] * 0)
        return np.stack(cols, axis=1) if cols else np.zeros((x.shape[0], 0))

    def predict(self, x: sp.csr_matrix, mentions: Sequence[Any]) -> list[Prediction]:
        scores = self._scores(x, mentions)
        out: list[Prediction] = []
        force = self.priors.get("", -99.0) < math.log(0.05) and not self.empty
        for row in scores:
            chosen = [lab for lab, p in zip(self.labels, row, strict=True) if p >= 0.5 and lab]
            if not chosen and len(row) and (force or self.labels[int(row.argmax())] != ""):
                best = self.labels[int(row.argmax())]
                if best and (force or row.max() >= 0.2):
                    chosen = [best]
            picked = [p for lab, p in zip(self.labels, row, strict=True) if lab in chosen]
            others = [p for lab, p in zip(self.labels, row, strict=True) if lab not in chosen]
            conf = min([*picked, 1.0 - max(others, default=0.0)])
            out.append((sorted(chosen) or list(self.empty), float(conf)))
        return out

    def state(self, prefix: str) -> tuple[dict[str, Any], Arrays]:
        meta: dict[str, Any] = {
            "mode": self.mode,
            "labels": self.labels,
            "priors": self.priors,
            "empty": self.empty,
            "heads": {},
        }
        arrays: Arrays = {}
        for i, (name, head) in enumerate(sorted(self.heads.items())):
            m, a = head.state(f"{prefix}.{i}")
            meta["heads"][name] = {"index": i, **m}
            arrays.update(a)
        return meta, arrays

    @classmethod
    def from_state(cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray], prefix: str):
        heads = {
            name: LinearHead.from_state(m, arrays, f"{prefix}.{m['index']}")
            for name, m in meta["heads"].items()
        }
        return cls(meta["mode"], list(meta["labels"]), heads, dict(meta["priors"]),
                   list(meta["empty"]))  # fmt: skip


def headline(text: str, limit: int = 90) -> str:
    """A short headline: the first line that reads like a title, else the first words."""
    for line in text.splitlines():
        line = line.strip()
        if 15 <= len(line) <= limit and not re.search(r"\d{4}-\d\d-|^ISAF Joint Command", line):
            return line
    flat = " ".join(text.split())
    return flat[:limit].rsplit(" ", 1)[0] if len(flat) > limit else flat
