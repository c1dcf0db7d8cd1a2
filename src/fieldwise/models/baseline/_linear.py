"""TF-IDF features and logistic-regression heads, fitted by scikit-learn, run by numpy.

scikit-learn does the fitting; only plain numbers are kept (vocabulary, idf, coefficients,
intercepts), so a saved model is JSON plus a numpy archive that loads with
``allow_pickle=False``. Prediction re-implements the two transforms in a few lines, which
is also what makes it fast enough to serve hundreds of rows a second on one core.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from fieldwise.models.baseline._text import analyzer

Arrays = dict[str, np.ndarray]


class Featurizer:
    """Sublinear TF-IDF over uni/bigrams, plus named dense rule features scaled to [-1, 1]."""

    def __init__(
        self, vocab: list[str], idf: np.ndarray, dense_names: list[str], dense_scale: np.ndarray
    ) -> None:
        self.vocab = vocab
        self.index = {term: i for i, term in enumerate(vocab)}
        self.idf = idf
        self.dense_names = dense_names
        self.dense_index = {name: j for j, name in enumerate(dense_names)}
        self.dense_scale = dense_scale

    @classmethod
    def fit(
        cls, texts: Sequence[str], dense: Sequence[Mapping[str, float]], max_features: int
    ) -> Featurizer:
        from sklearn.feature_extraction.text import TfidfVectorizer

        min_df = 2 if len(texts) >= 20 else 1
        vec = TfidfVectorizer(
            analyzer=analyzer, sublinear_tf=True, min_df=min_df, max_features=max_features
        )
        vec.fit(texts)
        vocab = [""] * len(vec.vocabulary_)
        for term, i in vec.vocabulary_.items():
            vocab[i] = term
        names = sorted({k for row in dense for k in row})
        scale = np.ones(len(names))
        for j, name in enumerate(names):
            peak = max((abs(row.get(name, 0.0)) for row in dense), default=0.0)
            scale[j] = peak if peak > 0 else 1.0
        return cls(vocab, np.asarray(vec.idf_, dtype=np.float64), names, scale)

    @property
    def width(self) -> int:
        return len(self.vocab) + len(self.dense_names)

    def transform(
        self, texts: Sequence[str], dense: Sequence[Mapping[str, float]]
    ) -> sp.csr_matrix:
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        n_vocab = len(self.vocab)
        index = self.dense_index
        for r, (text, extra) in enumerate(zip(texts, dense, strict=True)):
            counts = Counter(t for t in analyzer(text) if t in self.index)
            weights = {
                self.index[t]: (1.0 + math.log(c)) * self.idf[self.index[t]]
                for t, c in counts.items()
            }
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            for c, w in weights.items():
                rows.append(r)
                cols.append(c)
                vals.append(w / norm)
            present = sorted((index[k], v) for k, v in extra.items() if v and k in index)
            for j, value in present:
                rows.append(r)
                cols.append(n_vocab + j)
                vals.append(float(value) / self.dense_scale[j])
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(texts), self.width))

    def state(self, prefix: str) -> tuple[dict[str, Any], Arrays]:
        meta = {"vocab": self.vocab, "dense_names": self.dense_names}
        arrays = {f"{prefix}.idf": self.idf, f"{prefix}.dense_scale": self.dense_scale}
        return meta, arrays

    @classmethod
    def from_state(cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray], prefix: str):
        return cls(
            list(meta["vocab"]),
            np.asarray(arrays[f"{prefix}.idf"]),
            list(meta["dense_names"]),
            np.asarray(arrays[f"{prefix}.dense_scale"]),
        )


class LinearHead:
    """A logistic-regression classifier reduced to ``coef``, ``intercept`` and ``classes``.

    A head trained on a single class predicts it with certainty (nothing to learn).
    """

    def __init__(self, classes: list[str], coef: np.ndarray, intercept: np.ndarray) -> None:
        self.classes = classes
        self.coef = coef
        self.intercept = intercept

    @classmethod
    def fit(
        cls, x: sp.csr_matrix, y: Sequence[str], c: float = 4.0, balanced: bool = False
    ) -> LinearHead:
        labels = sorted(set(y))
        if len(labels) < 2:
            return cls(labels or [""], np.zeros((0, x.shape[1])), np.zeros(0))
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced" if balanced else None)
        clf.fit(x, list(y))
        return cls([str(k) for k in clf.classes_], clf.coef_.copy(), clf.intercept_.copy())

    def proba(self, x: sp.csr_matrix) -> np.ndarray:
        """Class probabilities, one row per input row, columns in ``classes`` order."""
        n = x.shape[0]
        if len(self.classes) == 1:
            return np.ones((n, 1))
        z = np.asarray(x @ self.coef.T) + self.intercept
        if len(self.classes) == 2:
            p1 = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.stack([1.0 - p1, p1], axis=1)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def state(self, prefix: str) -> tuple[dict[str, Any], Arrays]:
        return {"classes": self.classes}, {
            f"{prefix}.coef": self.coef,
            f"{prefix}.intercept": self.intercept,
        }

    @classmethod
    def from_state(
        cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray], prefix: str
    ) -> LinearHead:
        return cls(
            list(meta["classes"]),
            np.asarray(arrays[f"{prefix}.coef"]),
            np.asarray(arrays[f"{prefix}.intercept"]),
        )
