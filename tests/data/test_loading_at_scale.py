"""The fast paths of data loading give exactly what the careful paths gave."""

from __future__ import annotations

import hashlib
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from fieldwise.data import fingerprint_examples, load_examples, loading
from fieldwise.data.splits import normalise_text
from fieldwise.errors import UserError
from fieldwise.tasks import Example, load_task

ISAF = load_task("isaf")


def test_normalise_text_matches_the_regex_on_every_code_point() -> None:
    ws = re.compile(r"\s+")
    # Every whitespace character is in the BMP; a few beyond it for good measure.
    for cp in [*range(0x10000), 0x1F600, 0xE0020, 0x10FFFF]:
        text = f" A{chr(cp)}b{chr(cp)}{chr(cp)}C\t"
        assert normalise_text(text) == ws.sub(" ", text).strip().lower(), hex(cp)


def test_fingerprint_is_the_documented_sha256() -> None:
    examples = load_examples(ISAF, "sample").examples[:50]
    examples.append(Example("x\u2028", 'quote " and \\ and \n é 😀', None))
    digest = hashlib.sha256()
    for ex in examples:
        record = [ex.id, ex.text, ex.gold]
        digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    assert fingerprint_examples(examples) == digest.hexdigest()[:16]


def _slow_gold(row: dict[str, Any], where: str) -> dict[str, Any]:
    """The per-field checks alone, for every field (what the fast path must equal)."""
    return {
        spec.name: loading._check_value(spec, row[spec.name], where)
        for spec in ISAF.fields
        if spec.name in row
    }


def test_the_fast_path_equals_the_checks_on_every_kind_of_value() -> None:
    rng = random.Random(0)
    base = {ex.id: ex for ex in load_examples(ISAF, "sample").examples[:40]}
    variants: list[Any] = [
        lambda v: v,
        lambda v: str(v).lower() if isinstance(v, bool) else v,  # "true" for a bool
        lambda v: str(v) if isinstance(v, int) and not isinstance(v, bool) else v,  # "3"
        lambda v: ", ".join(v) if isinstance(v, list) else v,  # "a, b" for a label set
        lambda v: float(v) if type(v) is int else v,  # 3.0 for a count
    ]
    checked = 0
    for ex in base.values():
        for _ in range(5):
            row = {"id": ex.id, "text": ex.text}
            for name, value in (ex.gold or {}).items():
                row[name] = rng.choice(variants)(value)
            try:
                expected = _slow_gold(row, "w")
            except loading.RowError as exc:
                with pytest.raises(loading.RowError, match=re.escape(str(exc))):
                    loading.row_to_example(ISAF, row, "w", 0)
                continue
            got = loading.row_to_example(ISAF, row, "w", 0)
            assert got.gold == expected
            assert [type(v) for v in (got.gold or {}).values()] == [
                type(v) for v in expected.values()
            ]
            checked += 1
    assert checked > 50


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_bytes("".join(lines).encode("utf-8"))


def test_jsonl_lines_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loading, "READ_CHUNK", 7)
    path = tmp_path / "d.jsonl"
    long = json.dumps({"t": "x" * 40})
    _write_lines(
        path, ['{"a": 1}\r\n', "\n", "   \n", long + "\n", '{"b": "é\u2028😀"}\n', '{"c": 3}']
    )
    assert list(loading.jsonl_lines(path)) == [
        (1, '{"a": 1}\r'),
        (4, long),
        (5, '{"b": "é\u2028😀"}'),
        (6, '{"c": 3}'),
    ]


def test_bytes_that_are_not_utf8_in_a_later_chunk_name_line_and_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loading, "READ_CHUNK", 16)
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"a": 1}\n' * 5 + b'{"a": "\xe9"}\n')
    with pytest.raises(UserError, match=r"d.jsonl:6:8: not UTF-8 \(byte 0xe9\)"):
        list(loading.jsonl_lines(path))
