"""Per-input few-shot examples: the pool rows nearest to the input by text similarity.

TF-IDF (words and word pairs, sublinear counts) and cosine similarity: no model to
download, deterministic, and good at what matters for extraction prompts, rows that
share the input's rare phrases ("a couple of", "air weapons team"). A pool row in the
input's own document group (the same text, or the same group id) is never chosen: a
model must not be shown the answer to the row it is answering.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fieldwise.tasks import Example


class NearestShots:
    """Pick, for each input, the ``k`` most similar labelled rows of a fixed pool."""

    def __init__(self, pool: Sequence[Example], k: int) -> None:
        from fieldwise.data.splits import group_key

        self.pool = [ex for ex in pool if ex.gold is not None]
        self.k = k
        self._keys = [group_key(ex) for ex in self.pool]
        self._vectorizer: Any = None
        self._matrix: Any = None

    def _fit(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._vectorizer = TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, min_df=1, lowercase=True
        )
        self._matrix = self._vectorizer.fit_transform([ex.text for ex in self.pool])

    def __call__(self, example: Example) -> list[Example]:
        """The ``k`` nearest pool rows, most similar last (nearest to the input in the
        prompt); ties go to the earlier pool row, so the choice is reproducible."""
        import numpy as np  # here, not at the top: every prompted model imports this module

        from fieldwise.data.splits import group_key

        if self.k <= 0 or not self.pool:
            return []
        if self._matrix is None:
            self._fit()
        sims = (self._matrix @ self._vectorizer.transform([example.text]).T).toarray().ravel()
        own = group_key(example)
        sims = np.where([key == own for key in self._keys], -np.inf, sims)
        order = np.lexsort((np.arange(len(sims)), -sims))
        chosen = [int(i) for i in order[: self.k] if np.isfinite(sims[i])]
        return [self.pool[i] for i in reversed(chosen)]
