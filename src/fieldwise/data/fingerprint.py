"""Content fingerprints: the same rows always give the same id, wherever they came from."""

from __future__ import annotations

import hashlib
import json

from fieldwise.tasks import Example


def fingerprint_examples(examples: list[Example]) -> str:
    """sha256 over ids, texts and labels (and gold spans, where a row has them) in order;
    the first 16 hex digits are plenty."""
    digest = hashlib.sha256()
    for ex in examples:
        record: list[object] = [ex.id, ex.text, ex.gold]
        if ex.spans is not None:  # rows without spans hash as they always did
            record.append(ex.spans)
        digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()[:16]
