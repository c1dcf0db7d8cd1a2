"""The count reranker: a literal guess should not outvote rules that all agree."""

from __future__ import annotations

import json
from typing import Any

from fieldwise.models.baseline._rerank import Reranker, value_features


def test_value_features_describe_agreement_and_distance() -> None:
    keys, x = value_features({"3": 0.8, "31": 0.2}, {"a": 31, "b": 31}, {"3": -1.0})
    assert keys == ["3", "31"]
    literal, stated = x[keys.index("3")], x[keys.index("31")]
    assert stated[3] == 1.0 and literal[3] == 0.0  # share of rules proposing the value
    assert stated[5] == 1.0 and literal[6] == 1.0  # all agree on it / on another value
    assert literal[11] > 0.3 and stated[11] == 0.0  # far from what the rules read


def test_reranker_learns_to_trust_unanimous_rules() -> None:
    # Out of fold, the chooser keeps voting for the literal 3, but wherever both rules
    # agree on a value, that value is right; where they disagree, the literal is.
    golds: list[Any] = []
    cands: list[dict[str, int]] = []
    for i in range(60):
        if i % 2:
            golds.append(10 + i)
            cands.append({"a": 10 + i, "b": 10 + i})
        else:
            golds.append(3)
            cands.append({"a": 1, "b": 2})

    def oof(train: list[int], held: list[int]) -> list[dict[str, float]]:
        return [{"3": 0.7, json.dumps(cands[i]["a"]): 0.3} for i in held]

    reranker = Reranker.fit(golds, cands, oof, {"3": -0.7}, c=4.0)
    assert reranker is not None
    (scores,) = reranker.rescore([{"3": 0.7, "40": 0.3}], [{"a": 40, "b": 40}])
    assert max(scores, key=lambda k: scores[k]) == "40"
    assert abs(sum(scores.values()) - 1.0) < 1e-9
    meta, arrays = reranker.state("r")
    again = Reranker.from_state(json.loads(json.dumps(meta)), arrays, "r")
    assert again.rescore([{"3": 0.7, "40": 0.3}], [{"a": 40, "b": 40}]) == [scores]
