"""A second look at a chooser's votes: is this value right, given how the rules agree?

The chooser is a softmax over classes ("candidate ``people_first``", "the literal 3"), and a
class cannot see the value it stands for: a literal learned from rows where every rule
missed ("several" read as 2, gold 3) keeps its weight on a row where all rules state 31.
The reranker scores each distinct value from what relates it to the row's candidates (how
many rules propose it, whether they all agree on it or on another value) and from the
chooser's own vote, which it learns from out-of-fold votes so it does not trust in-sample
confidence. It is generic: it knows nothing of the task, only candidates and votes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from fieldwise.models.baseline._linear import Arrays, LinearHead

Votes = dict[str, float]
# Folds for the out-of-fold votes the reranker is trained on.
FOLDS = 3
N_FEATURES = 16


def value_features(
    votes: Mapping[str, float], cand: Mapping[str, Any], priors: Mapping[str, float]
) -> tuple[list[str], np.ndarray]:
    """The distinct values of one row (JSON-encoded) and one feature row per value."""
    proposed = [json.dumps(v) for v in cand.values()]
    keys = sorted(set(votes) | set(proposed))
    total = sum(votes.values()) or 1.0
    top = max(votes.values(), default=0.0)
    agree = len(set(proposed)) == 1
    n = max(1, len(proposed))
    sizes = [s for s in map(_size, cand.values()) if s is not None]
    modal = max((proposed.count(k) for k in proposed), default=0) / n
    rows = []
    for key in keys:
        vote = votes.get(key, 0.0)
        share = proposed.count(key) / n
        size = _size(json.loads(key))
        # How far a value lies from what the rules read, on a log scale: a literal 3 is a
        # plausible fix for a rule that said 2, not for one that said 31.
        gap = min((abs(size - s) for s in sizes), default=0.0) if size is not None else 0.0
        rows.append([
            vote / total, math.log(vote / total + 1e-3) / 7, float(vote > 0 and vote == top),
            share, float(share > 0), float(agree and share > 0), float(agree and share == 0),
            float(key in votes and share == 0), priors.get(key, math.log(1e-3)) / 7,
            float(share > 0 and share == modal), modal if share == 0 else 0.0,
            min(gap, 3.0) / 3,
            # Zero means "nothing of the kind happened", which the chooser reads from the
            # row's context ("no shots were fired") better than the rules' agreement shows.
            float(size == 0), vote / total if size == 0 else 0.0,
            float(size is not None and bool(sizes) and size < min(sizes)),
            float(size is not None and bool(sizes) and size > max(sizes)),
        ])  # fmt: skip
    return keys, np.asarray(rows, dtype=np.float64).reshape(len(keys), N_FEATURES)


def _size(value: Any) -> float | None:
    """A number's log magnitude, None for anything that is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return math.log1p(max(0.0, float(value)))


class Reranker:
    """A shared "is this value the answer?" logistic regression over ``value_features``."""

    def __init__(self, clf: LinearHead, priors: dict[str, float]) -> None:
        self.clf = clf
        self.priors = priors

    @classmethod
    def fit(
        cls,
        golds: Sequence[Any],
        cands: Sequence[Mapping[str, Any]],
        oof_votes: Callable[[list[int], list[int]], list[Votes]],
        priors: dict[str, float],
        c: float,
    ) -> Reranker | None:
        """Train on votes for each fold from a chooser fitted on the other folds.

        ``oof_votes(train_rows, held_rows)`` returns the votes for ``held_rows``. Returns
        None when there is nothing to learn (one class only).
        """
        feats: list[np.ndarray] = []
        ys: list[str] = []
        n = len(golds)
        for k in range(FOLDS):
            held = [i for i in range(n) if i % FOLDS == k and golds[i] is not None]
            train = [i for i in range(n) if i % FOLDS != k]
            if not held or not train:
                continue
            for i, votes in zip(held, oof_votes(train, held), strict=True):
                keys, x = value_features(votes, cands[i], priors)
                gold = json.dumps(golds[i])
                feats.append(x)
                ys.extend("1" if key == gold else "0" for key in keys)
        if len(set(ys)) < 2:
            return None
        return cls(LinearHead.fit(sp.csr_matrix(np.vstack(feats)), ys, c), priors)

    def rescore(self, rows: Sequence[Votes], cands: Sequence[Mapping[str, Any]]) -> list[Votes]:
        """Each row's values with their reranked probabilities, normalised to sum to 1."""
        if not rows:
            return []
        parts = [value_features(v, c, self.priors) for v, c in zip(rows, cands, strict=True)]
        # One product for all rows: a row's result does not depend on its batch.
        proba = self.clf.proba(sp.csr_matrix(np.vstack([x for _, x in parts])))
        pos = proba[:, self.clf.classes.index("1")]
        out: list[Votes] = []
        start = 0
        for keys, _ in parts:
            p = pos[start : start + len(keys)]
            start += len(keys)
            total = float(p.sum()) or 1.0
            out.append({k: float(v) / total for k, v in zip(keys, p, strict=True)})
        return out

    def state(self, prefix: str) -> tuple[dict[str, Any], Arrays]:
        meta, arrays = self.clf.state(prefix)
        return {**meta, "priors": self.priors}, arrays

    @classmethod
    def from_state(
        cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray], prefix: str
    ) -> Reranker:
        return cls(LinearHead.from_state(meta, arrays, prefix), dict(meta["priors"]))
