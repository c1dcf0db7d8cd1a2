from __future__ import annotations

import pytest

from fieldwise.scoring import ParsedOutput, parse_output


@pytest.mark.parametrize("raw", [None, "", "   ", "\n\t\n"])
def test_missing(raw: str | None) -> None:
    assert parse_output(raw) == ParsedOutput("missing")


@pytest.mark.parametrize(
    "raw",
    [
        "{bad json",
        'Here it is:\n```json\n{"a": 1}\n```',  # prose around a fence: not "fenced"
        "```json\n[1, 2]\n```",  # fenced, but not an object inside
        '```json\n{"a": 1,}\n```',  # fenced, but invalid inside
        '{"a": 1,}',  # no repair
        '{"a": 1} trailing',
        "[" * 200_000,  # too deep for the parser: data, not a crash
    ],
)
def test_invalid_json(raw: str) -> None:
    assert parse_output(raw).status == "invalid_json"


def test_non_string_is_invalid_not_a_crash() -> None:
    assert parse_output(b"{}").status == "invalid_json"  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["1", "[1, 2]", '"text"', "null", "true"])
def test_not_object(raw: str) -> None:
    parsed = parse_output(raw)
    assert parsed.status == "not_object"
    assert parsed.value is None


def test_object_with_surrounding_whitespace() -> None:
    parsed = parse_output('\n\n  {"a": [1, "x"], "b": null}  \n')
    assert parsed.status == "ok"
    assert parsed.value == {"a": [1, "x"], "b": None}


@pytest.mark.parametrize(
    "raw",
    [
        '```json\n{"a": 1}\n```',
        '```JSON\r\n{"a": 1}\r\n```\n',
        '\n  ```\n{"a": 1}\n```  ',
        '```json {"a": 1}```',
    ],
)
def test_an_object_in_one_code_fence_is_fenced(raw: str) -> None:
    assert parse_output(raw) == ParsedOutput("fenced", {"a": 1})
