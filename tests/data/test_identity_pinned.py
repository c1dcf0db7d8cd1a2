"""Cache identity, pinned: dataset fingerprints and prediction keys never change.

Both are stored (runs record the fingerprint; every prediction is found by its key), so a
faster way of computing either must give these exact values, or every stored prediction
of every user stops matching. The values were computed by the code that first shipped."""

from __future__ import annotations

import pytest

from fieldwise._hashing import prediction_key, prediction_keys
from fieldwise.data import fingerprint_examples, load_examples
from fieldwise.store.imports import import_identity
from fieldwise.tasks import Example, load_task

TRICKY = [
    Example(
        "x\u2028",
        'quote " and \\ and \n é 😀 \x01\x7f',
        {"b": [1.5, None, True], "a": {"z": "ü", "y": 10**20}},
        "g",
        {"a": [(0, 2)]},
    ),
    Example("7", "plain", None),
]


def test_the_sample_fingerprint_is_pinned() -> None:
    dataset = load_examples(load_task("isaf"), "sample")
    assert (len(dataset), dataset.fingerprint) == (245, "85878d313dcfd391")


def test_a_tricky_fingerprint_is_pinned() -> None:
    assert fingerprint_examples(TRICKY) == "dce6a551d1e13308"


def test_prediction_keys_are_pinned() -> None:
    assert prediction_keys(import_identity("m0"), TRICKY) == [
        "a1fcee21965e999a0c502bc332db480ad7033c714ccac5966bfd1153b85fca5b",
        "7448205db6220ce50ced70261f6d5678fcbb5dc2d26a417f52ff228217f05389",
    ]
    identity = {"provider": "openai", "model": "x", "temperature": 0.0}
    assert prediction_key(identity, TRICKY[0], 2) == (
        "0947cda723fc357ecab183d13791decdf8a4bc1a79c1f3ecd53bdf0db71c0a81"
    )


def test_prediction_keys_are_the_same_with_and_without_orjson(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fieldwise import _hashing

    examples = [*load_examples(load_task("isaf"), "sample").examples[:30], *TRICKY]
    examples.append(Example("c", "".join(chr(c) for c in range(1, 0x3000, 7))))
    identity = import_identity("m\u00e9")
    fast = [prediction_keys(identity, examples), prediction_keys(identity, examples, 3)]
    monkeypatch.setattr(_hashing, "orjson", None)
    assert [prediction_keys(identity, examples), prediction_keys(identity, examples, 3)] == fast
    assert fast[0] == [prediction_key(identity, ex) for ex in examples]
