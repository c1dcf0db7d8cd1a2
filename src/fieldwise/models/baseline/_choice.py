"""The head of int, float and date fields: a chooser over rule candidates and literals.

Rule candidates ("the header date", "the people detained in the first sentence") and
frequent literal values are the chooser's classes; their probabilities are summed per
distinct value, so rules that agree reinforce each other. For counts, a reranker
(``_rerank.py``) then weighs each value against how the rules agree on it.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from fieldwise.models.baseline._linear import Arrays, LinearHead
from fieldwise.models.baseline._rerank import Reranker

Prediction = tuple[Any, float]


def _sub(x: sp.csr_matrix, rows: Sequence[int]) -> sp.csr_matrix:
    return x[list(rows)] if len(rows) != x.shape[0] else x


def dense_matrix(dense: Sequence[Mapping[str, float]], names: Sequence[str]) -> sp.csr_matrix:
    """Rows of named rule features as a sparse matrix with a constant bias column."""
    index = {name: j for j, name in enumerate(names)}
    indptr: list[int] = [0]
    indices: list[int] = []
    data: list[float] = []
    for d in dense:
        row = sorted((index[k], float(v)) for k, v in d.items() if k in index and float(v) != 0.0)
        row.append((len(names), 1.0))
        indices.extend(j for j, _ in row)
        data.extend(v for _, v in row)
        indptr.append(len(indices))
    shape = (len(indptr) - 1, len(names) + 1)
    return sp.csr_matrix((np.asarray(data, dtype=np.float64), indices, indptr), shape=shape)


class ChoiceHead:
    """Pick a value among rule candidates (``@rule``) and frequent literals (``=value``).

    With ``names`` set, the head reads only those rule features (not the TF-IDF): dates
    depend on a handful of cues, and words would only add noise.
    """

    def __init__(
        self,
        clf: LinearHead,
        fallback: Any,
        names: list[str] | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.clf = clf
        self.fallback = fallback
        self.names = names
        self.reranker = reranker

    def _x(self, x: sp.csr_matrix, dense: Sequence[Mapping[str, float]] | None) -> sp.csr_matrix:
        if self.names is None or dense is None:
            return x
        return dense_matrix(dense, self.names)

    @classmethod
    def fit(
        cls,
        x: sp.csr_matrix,
        golds: Sequence[Any],
        cands: Sequence[Mapping[str, Any]],
        c: float,
        literals: bool,
        dense: Sequence[Mapping[str, float]] | None = None,
        prefix: str | tuple[str, ...] | None = None,
    ) -> ChoiceHead:
        """The chooser, and with ``literals`` a reranker that weighs literals against rules.

        Without literals (dates) every value is a rule's, the conflict the reranker settles
        does not arise, and in CV it only blurred the chooser's reading of the cues.
        """
        names = None
        if prefix is not None and dense is not None:
            names = sorted({k for d in dense for k in d if k.startswith(prefix)})
            x = dense_matrix(dense, names)
        head = cls._fit_chooser(x, golds, cands, c, literals, names)
        if literals:
            freq = Counter(json.dumps(g) for g in golds if g is not None)
            total = max(1, sum(freq.values()))
            priors = {k: math.log(n / total) for k, n in freq.items()}

            def oof(train: list[int], held: list[int]) -> list[dict[str, float]]:
                sub = cls._fit_chooser(
                    _sub(x, train), [golds[i] for i in train], [cands[i] for i in train],
                    c, literals, names,
                )  # fmt: skip
                return sub._votes(_sub(x, held), [cands[i] for i in held])

            head.reranker = Reranker.fit(golds, cands, oof, priors, c)
        return head

    @classmethod
    def _fit_chooser(
        cls,
        x: sp.csr_matrix,
        golds: Sequence[Any],
        cands: Sequence[Mapping[str, Any]],
        c: float,
        literals: bool,
        names: list[str] | None,
    ) -> ChoiceHead:
        freq = Counter(json.dumps(g) for g in golds if g is not None)
        rows: list[int] = []
        ys: list[str] = []
        for i, (gold, cand) in enumerate(zip(golds, cands, strict=True)):
            hit = next((name for name, v in cand.items() if v == gold), None)
            if hit is not None:
                ys.append("@" + hit)
            elif literals and freq[json.dumps(gold)] >= 2:
                ys.append("=" + json.dumps(gold))
            else:
                continue
            rows.append(i)
        fallback = json.loads(freq.most_common(1)[0][0]) if literals and freq else None
        if not rows:
            return cls(LinearHead([], np.zeros((0, x.shape[1])), np.zeros(0)), fallback, names)
        return cls(LinearHead.fit(_sub(x, rows), ys, c), fallback, names)

    def votes(
        self,
        x: sp.csr_matrix,
        cands: Sequence[Mapping[str, Any]],
        dense: Sequence[Mapping[str, float]] | None = None,
    ) -> list[dict[str, float]]:
        """Per row, the probability of each distinct value (JSON-encoded), reranked if fitted."""
        raw = self._votes(self._x(x, dense), cands)
        return self.reranker.rescore(raw, cands) if self.reranker is not None else raw

    def _votes(
        self, x: sp.csr_matrix, cands: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, float]]:
        """The chooser's summed class probabilities per distinct value."""
        if not self.clf.classes:
            return [{} for _ in cands]
        proba = self.clf.proba(x)
        out: list[dict[str, float]] = []
        for row, cand in zip(proba, cands, strict=True):
            votes: dict[str, float] = {}
            for cls_name, p in zip(self.clf.classes, row, strict=True):
                if cls_name.startswith("@"):
                    if cls_name[1:] not in cand:
                        continue
                    key = json.dumps(cand[cls_name[1:]])
                else:
                    key = cls_name[1:]
                votes[key] = votes.get(key, 0.0) + float(p)
            out.append(votes)
        return out

    def predict(
        self,
        x: sp.csr_matrix,
        cands: Sequence[Mapping[str, Any]],
        dense: Sequence[Mapping[str, float]] | None = None,
    ) -> list[Prediction]:
        return self.decide(self.votes(x, cands, dense))

    def decide(self, rows: Sequence[Mapping[str, float]]) -> list[Prediction]:
        """The most voted value per row and its share of the votes (the fallback if none)."""
        out: list[Prediction] = []
        for votes in rows:
            if not votes:
                out.append((self.fallback, 0.0))
                continue
            key = max(votes, key=lambda k: votes[k])
            out.append((json.loads(key), votes[key] / max(1e-9, sum(votes.values()))))
        return out

    def state(self, prefix: str) -> tuple[dict[str, Any], Arrays]:
        meta, arrays = self.clf.state(prefix)
        out = {**meta, "fallback": self.fallback, "names": self.names, "reranker": None}
        if self.reranker is not None:
            out["reranker"], more = self.reranker.state(f"{prefix}.rerank")
            arrays.update(more)
        return out, arrays

    @classmethod
    def from_state(cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray], prefix: str):
        names = meta.get("names")
        rerank = meta.get("reranker")
        return cls(
            LinearHead.from_state(meta, arrays, prefix),
            meta.get("fallback"),
            list(names) if names is not None else None,
            Reranker.from_state(rerank, arrays, f"{prefix}.rerank") if rerank else None,
        )
