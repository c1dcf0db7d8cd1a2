"""The head of text fields that hold a new value in most rows (an invoice number, an ID).

A classifier over the training values can only be wrong on such a field, so this head
copies one token of the text instead. Every token-like run (letters, digits and
``-/._``) is a candidate, scored by a logistic regression over the words just before it
and its own shape (``No.`` then ``INV-2024-0412``): it learns *where* the value is
written, not which values exist. A field whose gold value is rarely a token of its text
gets no copier (the caller abstains instead).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from fieldwise.models.baseline._linear import Arrays, LinearHead

Prediction = tuple[Any, float]
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/._]*[A-Za-z0-9]|[A-Za-z0-9]")
MIN_COVERAGE = 0.5
"""The share of training rows whose gold must be a token of the text for a copier."""


def _shape(token: str) -> str:
    shape = re.sub(r"\d", "9", re.sub(r"[a-z]", "a", re.sub(r"[A-Z]", "A", token)))
    return re.sub(r"(.)\1{2,}", r"\1\1", shape)  # "99999" and "999999" look alike


def candidates(text: str) -> list[tuple[str, list[str]]]:
    """Each candidate token of ``text`` with its features, in reading order."""
    spans = [(m.group(), m.start()) for m in TOKEN.finditer(text)]
    out = []
    for i, (token, start) in enumerate(spans):
        prev = [t.lower() for t, _ in spans[max(0, i - 2) : i]]
        before = text[max(0, start - 2) : start].strip() or "_"
        out.append(
            (
                token,
                [
                    f"shape={_shape(token)}",
                    f"p1={prev[-1] if prev else '^'}",
                    f"p2={' '.join(prev)}",
                    f"before={before}",
                    f"p1+before={prev[-1] if prev else '^'}{before}",
                    f"digit={any(c.isdigit() for c in token)}",
                    f"line_start={start == 0 or text[start - 1] == chr(10)}",
                    f"early={i < 12}",
                ],
            )
        )
    return out


class SpanHead:
    def __init__(self, vocab: list[str], clf: LinearHead) -> None:
        self.vocab = vocab
        self.index = {name: j for j, name in enumerate(vocab)}
        self.clf = clf

    @classmethod
    def fit(cls, texts: Sequence[str], golds: Sequence[Any], c: float) -> SpanHead | None:
        """A copier, or ``None`` when the gold is a token of the text too rarely."""
        rows = [candidates(t) for t in texts]
        found = sum(
            1 for cands, g in zip(rows, golds, strict=True) if any(tok == g for tok, _ in cands)
        )
        if found < MIN_COVERAGE * len(texts):
            return None
        vocab = sorted({f for cands in rows for _, feats in cands for f in feats})
        head = cls(vocab, LinearHead([""], np.zeros((0, len(vocab))), np.zeros(0)))
        labels = [
            "1" if tok == g else "0"
            for cands, g in zip(rows, golds, strict=True)
            for tok, _ in cands
        ]
        head.clf = LinearHead.fit(head._matrix(rows), labels, c)
        return head

    def _matrix(self, rows: Sequence[list[tuple[str, list[str]]]]) -> sp.csr_matrix:
        indptr, indices = [0], []
        for cands in rows:
            for _, feats in cands:
                indices.extend(sorted({self.index[f] for f in feats if f in self.index}))
                indptr.append(len(indices))
        data = np.ones(len(indices))
        return sp.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, len(self.vocab)))

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        rows = [candidates(t) for t in texts]
        if "1" not in self.clf.classes or not any(rows):
            return [(None, 0.0) for _ in texts]
        p = self.clf.proba(self._matrix(rows))[:, self.clf.classes.index("1")]
        out: list[Prediction] = []
        offset = 0
        for cands in rows:
            scores: dict[str, float] = {}
            for k, (token, _) in enumerate(cands):
                scores[token] = max(scores.get(token, 0.0), float(p[offset + k]))
            offset += len(cands)
            best = max(scores, key=lambda t: scores[t]) if scores else None
            out.append((best, scores[best] if best is not None else 0.0))
        return out

    def state(self, prefix: str) -> tuple[dict[str, Any], Arrays]:
        meta, arrays = self.clf.state(prefix)
        return {**meta, "vocab": self.vocab}, arrays

    @classmethod
    def from_state(
        cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray], prefix: str
    ) -> SpanHead:
        return cls(list(meta["vocab"]), LinearHead.from_state(meta, arrays, prefix))
