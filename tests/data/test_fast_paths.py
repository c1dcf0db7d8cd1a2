"""Loading's fast paths against the careful ones, row by row, on rows built to diverge:
lone surrogates (escaped, in ids, texts and golds), escaped backslashes before a ``u``,
non-string ids, null and missing golds, wrong-typed values, unicode whitespace."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from fieldwise.data import load_examples, loading
from fieldwise.data._rows import FieldPlan, RowError, row_to_example
from fieldwise.tasks import Example, load_task

ISAF = load_task("isaf")


def _careful(rows: list[Any], path: Path) -> tuple[list[Example], list[str]]:
    """Every row through the per-field checks with every string scrubbed, bad rows and
    repeated ids skipped and counted (as ``load_examples(..., skip_invalid=True)``)."""
    plan = FieldPlan.of(ISAF)
    plan.take = None  # no whole-row shortcut
    out: list[Example] = []
    skipped: list[str] = []
    for lineno, row in rows:
        where = f"{path}:{lineno}"
        try:
            ex = row_to_example(ISAF, row, where, len(out), None, plan)
        except RowError as exc:
            skipped.append(str(exc))
            continue
        if any(ex.id == seen.id for seen in out):
            skipped.append(f"{where}: duplicate id '{ex.id}'")
            continue
        out.append(ex)
    return out, skipped


def _tricky_rows(rng: random.Random) -> list[dict[str, Any]]:
    base = load_examples(ISAF, "sample").examples[:30]
    texts = ["a \ud800 b", "x\\u0041y", "tab\there\u2028é😀", 'quote " \\ end', "\udfff"]
    ids: list[Any] = ["id-\udc80", 7, 3.5, "é", "", None, True]
    rows = []
    for i, ex in enumerate(base):
        row: dict[str, Any] = {"id": f"r{i}", "text": ex.text, **(ex.gold or {})}
        pick = rng.randrange(8)
        if pick == 0:
            row["text"] = rng.choice(texts)
        elif pick == 1:
            row["id"] = rng.choice(ids)
        elif pick == 2:
            row[rng.choice(list(ex.gold or {"name": 0}))] = rng.choice(
                ["\ud801", None, 3, [1], 10**22, float("inf")]
            )
        elif pick == 3:
            row = {"id": f"r{i}", "text": ex.text}  # unlabelled
        elif pick == 4:
            row["province"] = ["kabul", "\ud800"]
        elif pick == 5:
            row.pop(rng.choice(list(ex.gold or {"name": 0})))
        rows.append(row)
    return rows


@pytest.mark.parametrize("seed", range(12))
def test_a_jsonl_file_loads_as_the_careful_path_reads_it(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if seed % 3 == 0:  # lines across read chunks, some parsed fast and some not
        monkeypatch.setattr(loading, "READ_CHUNK", 3000)
    rng = random.Random(seed)
    rows = _tricky_rows(rng)
    path = tmp_path / "d.jsonl"
    ascii_only = seed % 2 == 0  # json.dumps' default escapes every non-ASCII character
    text = "".join(json.dumps(r, ensure_ascii=ascii_only) + "\n" for r in rows)
    # A lone surrogate can only reach a UTF-8 file as an escape.
    text = re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", text)
    path.write_text(text, encoding="utf-8")
    lines = text.split("\n")
    expected = _careful([(i, json.loads(s)) for i, s in enumerate(lines, 1) if s], path)
    got = load_examples(ISAF, path, skip_invalid=True)
    assert (got.examples, got.skipped) == expected
    assert len(got.examples) > len(got.skipped)
    for ex in got.examples:  # ids and texts are storable
        ex.id.encode("utf-8"), ex.text.encode("utf-8")


def test_orjson_writes_every_code_point_as_the_fingerprint_encoder_does() -> None:
    from json.encoder import encode_basestring

    from fieldwise._json import orjson

    assert orjson is not None
    points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(points), 2048):
        text = "".join(f"{chr(c)}a" for c in points[start : start + 2048])
        assert orjson.dumps(text).decode("utf-8") == encode_basestring(text)


def test_the_fingerprint_is_the_same_with_and_without_orjson(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fieldwise.data import fingerprint as module

    examples = load_examples(ISAF, "sample").examples[:40]
    examples += [
        Example("\ud800", "text"),  # lone surrogates: orjson refuses, the plain path hashes
        Example("s", "a \udfff b", {"name": "\ud801"}),
        Example("g", "gold", {"x": [1.5, 1e16, None, True, 'é\n"\\'], "y": {"b": 1, "a": 2}}),
        Example("sp", "spans", {"x": 1}, None, {"x": [(0, 2)]}),
        Example(7, "an int id", None),  # type: ignore[arg-type]
        Example(1e16, "a float id", None),  # type: ignore[arg-type]
    ]
    for cut in range(0, len(examples), 7):
        rows = examples[cut:]
        fast = module.fingerprint_examples(rows)
        monkeypatch.setattr(module, "orjson", None)
        assert module.fingerprint_examples(rows) == fast
        monkeypatch.undo()
