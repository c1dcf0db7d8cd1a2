"""Which fuzzy thresholds? Near-misses a model makes vs values from other documents.

For every multi-word text value of the invoice data (vendor and customer names, line
descriptions: values a model copies), this makes the near-misses a model produces when it
copies a value present in the text (one word dropped, one word added, a plural changed,
a typo, one word replaced by a wrong one), and takes as negatives the same field's values
from *other* invoices that the exact and normalised tiers do not find in this text (what a
model that invents a plausible value writes; only those sharing a word with this text,
the hard cases). For each (coverage, density, token similarity) setting it reports how
many near-misses the fuzzy tier grounds and how many negatives it wrongly grounds.

Token similarity is measured apart: the share of one-letter typos (a transposition in a
word of six letters or more) it accepts, against the share of pairs of *different* ISAF
provinces (names and aliases, the nearest real-world confusions: Paktya / Paktika) it
wrongly merges.

Run: ``PYTHONPATH=src python bench/align_thresholds.py``
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

from fieldwise.trust import Document, _fuzzy
from fieldwise.trust._document import norm, tokens
from fieldwise.trust._find import exact_spans, normalised_spans

DATA = Path(__file__).resolve().parents[1] / "examples" / "invoices" / "data.jsonl"
FILLERS = ["premium", "service", "annual", "express", "standard", "delivery", "extra", "set"]


def _values(row: dict) -> list[str]:
    out = [row["vendor"]["name"], row["customer"]["name"]]
    out += [item["description"] for item in row["line_items"]]
    return [v for v in out if len(v.split()) >= 2]


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _drop(w: list[str], r: random.Random) -> list[str] | None:
    if len(w) < 3:
        return None
    i = r.randrange(len(w))
    return w[:i] + w[i + 1 :]


def _plural(w: list[str], r: random.Random) -> list[str]:
    return [x + "s" if x.isalpha() and len(x) > 3 and not x.endswith("s") else x for x in w]


def _typos(w: list[str], r: random.Random) -> list[str] | None:
    if not any(len(x) >= 6 and x.isalpha() for x in w):
        return None
    return [_typo(x, r) if len(x) >= 6 and x.isalpha() else x for x in w]


def _wrong(w: list[str], r: random.Random) -> list[str]:
    i = r.randrange(len(w))
    return w[:i] + [r.choice(FILLERS)] + w[i + 1 :]


PERTURB: dict[str, Callable[[list[str], random.Random], list[str] | None]] = {
    "drop a word": _drop,
    "add a word": lambda w, r: [*w, r.choice(FILLERS)],
    "plural": _plural,
    "typo": _typos,
    "wrong word": _wrong,
}


def found_fuzzy(doc: Document, value: str) -> bool:
    return bool(_fuzzy.fuzzy_spans(doc, [norm(m.group()) for m in tokens(value)]))


def found_plain(doc: Document, value: str) -> bool:
    return bool(exact_spans(doc.text, value) or normalised_spans(doc, value))


def similarity_table() -> None:
    from rapidfuzz import fuzz

    from fieldwise.tasks.isaf import PROVINCE_ALIASES, PROVINCES

    rng = random.Random(1)
    names: dict[str, str] = {p.replace("_", " "): p for p in PROVINCES}
    names.update({a: t for a, t in PROVINCE_ALIASES.items() if "_" not in a})
    long = [n for n in names if len(n) >= _fuzzy.MIN_SIMILAR_LENGTH and " " not in n]
    pairs = [(a, b) for a in long for b in long if a < b and names[a] != names[b]]
    words = [w for w in {w for n in long for w in [n]} if len(w) >= 6]
    typos = [(w, _typo(w, rng)) for w in words for _ in range(5)]
    print(f"token similarity: {len(typos)} typos, {len(pairs)} pairs of different provinces")
    for cut in (70.0, 75.0, 80.0, 85.0, 90.0):
        caught = sum(fuzz.ratio(a, b) >= cut for a, b in typos) / len(typos)
        merged = [(a, b) for a, b in pairs if fuzz.ratio(a, b) >= cut]
        print(
            f"  >= {cut:.0f}: typos accepted {caught:6.1%}, different provinces merged "
            f"{len(merged) / len(pairs):6.2%} {merged[:4]}"
        )


def main() -> None:
    similarity_table()
    rows = [json.loads(line) for line in DATA.open(encoding="utf-8")]
    rng = random.Random(0)
    pool = sorted({v for row in rows for v in _values(row)})
    cases: list[tuple[Document, str, str]] = []  # (doc, value, kind)
    for row in rows:
        doc = Document(row["text"])
        for value in _values(row):
            for kind, perturb in PERTURB.items():
                words = perturb(value.split(), rng)
                if words is not None and " ".join(words) != value:
                    variant = " ".join(words)
                    if not found_plain(doc, variant):
                        cases.append((doc, variant, kind))
        words = set(doc.norms)
        others = [
            v
            for v in pool
            if not found_plain(doc, v) and {norm(m.group()) for m in tokens(v)} & words
        ]
        cases += [(doc, v, "other document") for v in rng.sample(others, min(6, len(others)))]
    kinds = [*PERTURB, "other document"]
    counts = {k: sum(1 for _, _, kk in cases if kk == k) for k in kinds}
    print(f"{len(rows)} invoices; cases per kind: {counts}")
    header = "coverage density sim | " + " | ".join(f"{k:>14}" for k in kinds)
    print(header)
    for coverage in (0.5, 0.6, 2 / 3, 0.75, 0.8, 1.0):
        for density in (0.25, 1 / 3, 0.5):
            for similarity in (80.0, 85.0, 90.0):
                _fuzzy.COVERAGE, _fuzzy.DENSITY = coverage, density
                _fuzzy.TOKEN_SIMILARITY = similarity
                for doc, _, _ in cases:
                    doc.__dict__.pop("_long_words", None)
                hits = dict.fromkeys(kinds, 0)
                for doc, value, kind in cases:
                    hits[kind] += found_fuzzy(doc, value)
                shown = " | ".join(f"{hits[k] / max(counts[k], 1):>14.1%}" for k in kinds)
                print(f"{coverage:8.2f} {density:7.2f} {similarity:3.0f} | {shown}")


if __name__ == "__main__":
    main()
