"""Content hashes: the identity of a request, a template, a model or a prediction.

On the ground floor (it imports nothing from fieldwise above it) because every stage keys
something by content: tasks their prompt templates, the runner and the store their
predictions, fine-tuning its run cards. The cache key hashes only what changes the output.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from fieldwise._json import orjson

if TYPE_CHECKING:
    from fieldwise.tasks import Example

__all__ = ["canonical_json", "content_hash", "prediction_key", "prediction_keys"]


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: equal values serialise to equal bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(value: Any) -> str:
    """sha256 of canonical JSON: the identity of a request, a template or a model."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def prediction_key(identity: dict[str, Any], example: Example, repeat: int = 0) -> str:
    """The cache key of one prediction: model identity plus the input text, plus the
    repeat index for repeated sampled runs (repeat 0 keeps the plain key, so a model
    given ``repeats: N`` later reuses what it already predicted once)."""
    if repeat:
        return content_hash({"model": identity, "text": example.text, "repeat": repeat})
    return content_hash({"model": identity, "text": example.text})


def prediction_keys(
    identity: dict[str, Any], examples: list[Example], repeat: int = 0
) -> list[str]:
    """:func:`prediction_key` for many examples, the identity serialised once.

    The same bytes as ``canonical_json`` of the key's dict (``"model"`` sorts before
    ``"repeat"`` and ``"text"``), without re-serialising the identity per row: at 100,000
    rows that was most of a resumed run's start.
    """
    head = '{"model":' + canonical_json(identity)
    head += f',"repeat":{int(repeat)},"text":' if repeat else ',"text":'
    sha = hashlib.sha256
    texts = [ex.text for ex in examples]
    if orjson is not None and set(map(type, texts)) <= {str}:
        # orjson writes a str as json.dumps(text, ensure_ascii=False) does (every code
        # point checked by a test), already as UTF-8, several times faster; a lone
        # surrogate, which the plain path cannot encode either, is refused there too.
        raw, quote_utf8 = head.encode("utf-8"), orjson.dumps
        try:
            return [sha(raw + quote_utf8(text) + b"}").hexdigest() for text in texts]
        except TypeError:
            pass
    # What json.dumps(text, ensure_ascii=False) calls for a str, minus its dispatch.
    quote = json.encoder.encode_basestring
    return [sha((head + quote(ex.text) + "}").encode("utf-8")).hexdigest() for ex in examples]
