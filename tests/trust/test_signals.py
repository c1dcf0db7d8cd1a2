"""Signals per value: where each value sits in the raw output, which tokens wrote it and
their probability, agreement across repeats, grounding tiers, stored probabilities."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fieldwise.models._signals import (
    clean_signals,
    ends_by_prefix,
    ends_from_bytes,
    ends_from_pieces,
)
from fieldwise.trust import Evidence
from fieldwise.trust._json_spans import value_spans
from fieldwise.trust.signals import signal_table


def test_value_spans_find_every_value_with_offsets() -> None:
    out = 'Sure:\n```json\n{"a": "x\\"y", "b": {"c": 12.5e3, "d": [1, "z"]}, "e": [{"f": null}]}'
    spans = value_spans(out)
    assert {k: out[s:e] for k, (s, e) in spans.items()} == {
        "a": '"x\\"y"',
        "b": '{"c": 12.5e3, "d": [1, "z"]}',
        "b.c": "12.5e3",
        "b.d": '[1, "z"]',
        "b.d[0]": "1",
        "b.d[1]": '"z"',
        "e": '[{"f": null}]',
        "e[0]": '{"f": null}',
        "e[0].f": "null",
    }


def test_a_truncated_output_keeps_what_was_read() -> None:
    spans = value_spans('{"a": 1, "b": [true, "t')
    assert spans == {"a": (6, 7), "b[0]": (15, 19)}
    assert value_spans("no json here") == {} and value_spans(None) == {}


def _tokens(text: str, pieces: list[str], logprobs: list[float]) -> dict[str, object]:
    ends = ends_from_pieces(pieces, text)
    assert ends is not None
    return {"tokens": {"end": ends, "logprob": logprobs}}


def test_logprob_is_the_product_of_the_tokens_that_wrote_the_value() -> None:
    text = '{"n": 12, "p": ["ab", "c"]}'
    pieces = ['{"', 'n":', " 1", "2,", ' "p', '":', ' ["', "ab", '",', ' "c', '"]', "}"]
    lps = [-0.1, -0.1, -0.5, -0.25, -0.1, -0.1, -1.0, -0.2, -0.3, -0.4, -0.05, -0.01]
    table = signal_table(["n", "p"], [text], [_tokens(text, pieces, lps)])
    # "12" is written by " 1" and "2," → exp(-0.5 - 0.25)
    assert table["logprob"]["n"][0] == pytest.approx(math.exp(-0.75))
    # the list ["ab", "c"] spans ' ["' .. '"]' → exp(-1.0 - 0.2 - 0.3 - 0.4 - 0.05)
    assert table["logprob"]["p"][0] == pytest.approx(math.exp(-1.95))


def test_records_leaves_multiply_over_records_and_missing_values_have_none() -> None:
    text = '{"items": [{"sku": "A"}, {"sku": "B"}]}'
    pieces = list(text)  # one character per token
    lps = [-0.0] * len(text)
    lps[text.index('"A"') + 1] = -0.5
    lps[text.index('"B"') + 1] = -0.7
    table = signal_table(["items[].sku", "other"], [text], [_tokens(text, pieces, lps)])
    assert table["logprob"]["items[].sku"][0] == pytest.approx(math.exp(-1.2))
    assert np.isnan(table["logprob"]["other"][0])


def test_tokens_that_stop_before_the_value_give_no_number() -> None:
    text = '{"a": 1, "b": 2}'
    signals = {"tokens": {"end": [8], "logprob": [-0.2]}}  # covers '{"a": 1,' only
    table = signal_table(["a", "b"], [text], [signals])
    assert table["logprob"]["a"][0] == pytest.approx(math.exp(-0.2))
    assert np.isnan(table["logprob"]["b"][0])


def test_stored_probabilities_lowest_per_path() -> None:
    stored = [{"prob": {"a": 0.9, "items[0].sku": 0.8, "items[1].sku": 0.6}}, None]
    table = signal_table(["a", "items[].sku"], ['{"a": 1}', None], stored)
    assert table["prob"]["a"].tolist()[0] == 0.9 and np.isnan(table["prob"]["a"][1])
    assert table["prob"]["items[].sku"][0] == 0.6
    assert "logprob" not in table  # nobody had tokens


def test_agreement_counts_the_repeats_that_say_the_same() -> None:
    first = [json.dumps({"a": "Kabul", "s": ["x", "y"]}), "not json"]
    repeats = [
        [json.dumps({"a": " kabul ", "s": ["y", "x"]}), "also not json"],
        [json.dumps({"a": "Herat", "s": ["x", "y"]}), json.dumps({"a": "z"})],
        [json.dumps({"a": "KABUL", "s": ["x"]}), "nope"],
    ]
    table = signal_table(["a", "s"], first, [None, None], repeats)
    assert table["agreement"]["a"].tolist() == pytest.approx([2 / 3, 2 / 3])
    assert table["agreement"]["s"].tolist() == pytest.approx([2 / 3, 2 / 3])


def test_grounding_takes_the_weakest_value_of_a_path() -> None:
    evidence = [
        {
            "p[0]": Evidence(0, 3, "exact"),
            "p[1]": Evidence(None, None, "none"),
            "q": Evidence(5, 9, "fuzzy"),
        },
        {},
    ]
    table = signal_table(["p", "q", "r"], ["{}", "{}"], [None, None], (), evidence)
    assert table["grounding"]["p"][0] == 0 and table["grounding"]["q"][0] == 1
    assert np.isnan(table["grounding"]["p"][1]) and np.isnan(table["grounding"]["r"][0])


def test_token_ends_from_bytes_pieces_and_prefixes() -> None:
    text = "é😀a"
    data = text.encode()
    chunks = [data[0:1], data[1:3], data[3:6], data[6:]]  # é split, 😀 split
    # é's first byte is in token 0, 😀's in token 1, "a" in token 3.
    assert ends_from_bytes(chunks, text) == [1, 2, 2, 3]
    assert ends_from_bytes([b"x"], text) is None
    assert ends_from_pieces(["ab", "c"], "abc") == [2, 3] and ends_from_pieces(["a"], "ab") is None
    decode = {(): "", (1,): "\ufffd", (1, 2): "é", (1, 2, 3): "éa"}
    assert ends_by_prefix(lambda ids: decode[tuple(ids)], [1, 2, 3], "éa") == [0, 1, 2]


def test_clean_signals_drops_what_does_not_fit() -> None:
    good = {"tokens": {"end": [1, 2], "logprob": [-0.1, -0.2]}, "prob": {"a": 0.5}}
    assert clean_signals(good, "ab") == good
    assert clean_signals(good, "a") == {"prob": {"a": 0.5}}  # tokens past the output
    bad_tokens = {"tokens": {"end": [2, 1], "logprob": [-0.1, -0.2]}}
    assert clean_signals(bad_tokens, "ab") is None
    assert clean_signals({"tokens": {"end": [1], "logprob": [0.5]}}, "a") is None
    assert clean_signals({"prob": {"a": 1.5, "b": True, "c": 0.2}}, None) == {"prob": {"c": 0.2}}
    assert clean_signals("junk", "a") is None
