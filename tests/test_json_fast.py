"""``fast_lines`` (orjson) reads exactly what ``json.loads`` reads, or declines."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from fieldwise import _json
from fieldwise._json import exact_loads, fast_lines
from fieldwise.errors import UserError
from fieldwise.store.imports import read_predictions

HOSTILE = [
    b'{"a": 1, "b": 2, "a": 3}',
    b'{"n": 12345678901234567890123}',  # beyond 64 bits: orjson would make it a float
    b'{"n": -9223372036854775809}',
    b'{"n": 18446744073709551615}',
    b'{"s": "1234567890123456789012"}',  # a long number in a string: read carefully too
    b'{"f": [1e400, -1e400]}',
    b'{"f": NaN}',
    b'{"f": Infinity}',
    b'{"f": [0.1, 5e-324, 1.7976931348623157e308, -0.0, 1E5, 2.5e-3]}',
    b'{"s": "\\ud800"}',
    b'{"s": "\\ud83d\\ude00 \\u00e9 \\\\u0041"}',
    b'{"s": "caf\xc3\xa9 \xe2\x80\xa8"}',
    b'{"s": "\xed\xa0\x80"}',  # an encoded surrogate: not UTF-8
    b'{"s": "\xff"}',
    b"\xc2\xa0",  # a line of no-break space: blank to str.isspace
    b"\x1c",
    b"   ",
    b"\r",
    b'{"a": 1}\r',
    b"[" * 3000 + b"]" * 3000,
    b"[" * 1010 + b"]" * 1010,  # past json's recursion limit, within orjson's
    b'{"a": [1,]}',
    b"\xef\xbb\xbf{}",
    b'"just a string"',
    b"",
]


def _careful(data: bytes) -> list[tuple[int, Any, bool]] | str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "not utf-8"
    out = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if line and not line.isspace():
            try:
                out.append((lineno, json.loads(line), "\\u" not in line))
            except (ValueError, RecursionError):
                return "not json"
    return out


@pytest.mark.parametrize("seed", range(40))
def test_fast_lines_reads_as_json_loads_or_declines(seed: int) -> None:
    rng = random.Random(seed)
    lines = [rng.choice(HOSTILE) for _ in range(rng.randrange(1, 6))]
    if seed % 3 == 0:  # plenty of all-clean files, which must be read fast
        lines = [line for line in lines if line in (b'{"a": 1, "b": 2, "a": 3}', b"   ")]
        lines.append(b'{"ok": [0.1, "\\u00e9"]}')
    data = b"\n".join(lines) + (b"\n" if seed % 2 else b"")
    fast = fast_lines(data, 1)
    careful = _careful(data)
    if seed % 3 == 0:
        assert fast is not None
    if fast is not None:
        assert repr(fast) == repr(careful)


def _read(path: Path) -> Any:
    try:
        found = read_predictions(path)
    except UserError as exc:
        return str(exc)
    return found.outputs, found.lines, found.signals, found.sha256


@pytest.mark.parametrize("seed", range(30))
def test_read_predictions_is_the_same_with_and_without_orjson(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    outputs: list[Any] = [
        '{"a": 1}', None, {"a": 12345678901234567890123}, {"b": [1.5, "\\u00e9"]}, 7,
        "caf\u00e9 \u2028", {"x": float("inf")}, ["l", 1], "x\udc80",
    ]  # fmt: skip
    lines = []
    for i in range(rng.randrange(1, 8)):
        rec: dict[str, Any] = {
            "id": rng.choice([f"r{i}", i, f"r{i}"]),
            "output": rng.choice(outputs),
        }
        if rng.random() < 0.1:
            rec = {"id": f"r{i}", "out": "x"}
        if rng.random() < 0.2:
            rec["confidence"] = {"a": 0.5}
        lines.append(json.dumps(rec, ensure_ascii=rng.random() < 0.5))
    if rng.random() < 0.3:
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(["", "  ", "\u00a0", "{bad"]))
    path = tmp_path / "p.jsonl"
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass"))
    fast = _read(path)
    monkeypatch.setattr(_json, "orjson", None)
    assert repr(_read(path)) == repr(fast)


def _outcome(loads: Any, text: str) -> str:
    try:
        value = loads(text)
    except (ValueError, RecursionError) as exc:
        return f"raises {type(exc).__name__}"
    return repr(value) + repr(_types(value))


def _types(value: Any) -> Any:
    """Every type inside a value (``1`` and ``1.0`` and ``True`` apart, ``-0.0``'s sign)."""
    if isinstance(value, dict):
        return [(k, _types(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_types(v) for v in value]
    if isinstance(value, float):
        return ("float", value.hex())
    return type(value).__name__


TEXTS = [
    line.decode("utf-8", "surrogateescape")
    for line in HOSTILE
    if not re.search(rb"\d{19}", line)  # those make every text careful: tested apart
] + [
    '{"a": "x\\ud800"}',
    '{"s": "\ud800"}',  # a lone surrogate in the str itself
    '```json\n{"a": 1}\n```',
    "[" * 250 + "]" * 250,  # deep: read by json.loads
    "[" * 1010 + "]" * 1010,  # past json's recursion limit, within orjson's
    '{"a": ' * 150 + "1" + "}" * 150,
    '{"records": [' + ", ".join('{"k": [1, 2]}' for _ in range(120)) + "]}",
    ' \n {"a": true, "b": null, "c": 1.0, "d": 1, "e": -0.0} \n',
    '{"a": 1} {"b": 2}',
    "{}",
    "",
]


@pytest.mark.parametrize("long_number", [False, True])
def test_exact_loads_reads_as_json_loads(long_number: bool) -> None:
    texts: list[str | None] = [*TEXTS, None]
    if long_number:
        texts.append('{"n": 12345678901234567890123}')
    loads = exact_loads(texts)
    assert (loads is json.loads) == long_number  # a 19-digit run anywhere: all careful
    for text in texts:
        if text is not None:
            assert _outcome(loads, text) == _outcome(json.loads, text), text[:60]


@pytest.mark.parametrize("depth", [150, 250, 1010, 3000])
def test_deep_lines_read_as_json_loads_reads_them(depth: int) -> None:
    """orjson nests to 1,024 levels, json.loads to about 1,000 less the caller's stack:
    a line between the two must not be read fast where json.loads refuses it."""
    data = b'{"ok": 1}\n' + b"[" * depth + b"]" * depth + b"\n"
    fast = fast_lines(data, 1)
    if fast is not None:
        assert repr(fast) == repr(_careful(data))
