"""How fast is nested scoring compared with merely parsing the outputs?

A synthetic invoice task with a ``records`` field (``line_items``: about 4 records of 5
leaves per row, a ``number`` leaf with tolerance and a ``text_similarity`` leaf), a vendor
object and a few flat fields. 1,000 gold rows; 10 synthetic "models" whose outputs are
perturbed JSON of the gold (records dropped, added, reordered, values changed, plus some
garbage and non-object outputs). Times:

- ``json.loads`` of all 10,000 outputs (the floor: any scorer must at least parse);
- scoring all 10 models under both profiles without a bootstrap, and with 1,000 resamples.

Targets: scoring < 2 s and <= 5x the ``json.loads`` time.
Run: ``PYTHONPATH=src python bench/nested_scoring_speed.py [--repeats 7]``
"""

from __future__ import annotations

import argparse
import json
import random
from typing import Annotated, Any, Literal

from pydantic import BaseModel
from scoring_speed import measure, print_runs, scoring_cases  # bench/ is on sys.path

from fieldwise.tasks import Metric, Task

ROWS, MODELS = 1000, 10
WORDS = "steel bolt nut washer hex screw bracket hinge cable clamp valve seal pipe gear".split()


class Vendor(BaseModel):
    name: Annotated[str, Metric.text_similarity()]
    country: Literal["de", "fr", "uk", "us"]
    vat_id: str | None = None


class LineItem(BaseModel):
    sku: str
    description: Annotated[str, Metric.text_similarity()]
    quantity: int
    unit_price: Annotated[float, Metric.number(rel=0.01)]
    total: Annotated[float, Metric.number(abs=0.5)]


class Invoice(BaseModel):
    number: str
    issued: Annotated[str, Metric.date()]
    currency: Literal["EUR", "USD", "GBP"]
    vendor: Vendor
    line_items: list[LineItem]


TASK = Task.from_model("bench_invoice", Invoice)


def gold_rows(rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for i in range(ROWS):
        items = []
        for _ in range(rng.choice([2, 3, 4, 4, 5, 6])):
            qty, price = rng.randint(1, 200), round(rng.uniform(0.1, 90), 2)
            items.append(
                {
                    "sku": f"{rng.choice('ABCDEFG')}-{rng.randint(100, 999)}",
                    "description": " ".join(rng.sample(WORDS, rng.randint(2, 4))),
                    "quantity": qty,
                    "unit_price": price,
                    "total": round(qty * price, 2),
                }
            )
        rows.append(
            {
                "number": f"INV-{i:05d}",
                "issued": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "currency": rng.choice(["EUR", "USD", "GBP"]),
                "vendor": {
                    "name": f"{rng.choice(WORDS).title()} {rng.choice(['GmbH', 'Ltd', 'SA'])}",
                    "country": rng.choice(["de", "fr", "uk", "us"]),
                    "vat_id": rng.choice([None, f"DE{rng.randint(10**8, 10**9)}"]),
                },
                "line_items": items,
            }
        )
    return rows


def perturb_item(item: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    out = dict(item)
    key = rng.choice(list(out))
    if key == "description":
        out[key] = out[key].upper() if rng.random() < 0.5 else out[key] + " s"
    elif key in ("unit_price", "total"):
        out[key] = round(out[key] * rng.choice([1.001, 1.2, 0.5]), 2)
    elif key == "quantity":
        out[key] = rng.choice([out[key] + 1, str(out[key])])
    else:
        out[key] = out[key] + "X"
    return out


def perturb(gold: dict[str, Any], rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.03:
        return "Sorry, I cannot help with that."
    if roll < 0.04:
        return rng.choice(["1", "[]", None, ""])
    pred = json.loads(json.dumps(gold))
    items = pred["line_items"]
    items = [perturb_item(it, rng) if rng.random() < 0.3 else it for it in items]
    if items and rng.random() < 0.2:
        items.pop(rng.randrange(len(items)))
    if rng.random() < 0.15:
        items.append(perturb_item(rng.choice(gold["line_items"]), rng))
    if rng.random() < 0.3:
        rng.shuffle(items)
    if rng.random() < 0.02:
        items = "see attached"
    pred["line_items"] = items
    if rng.random() < 0.1:
        pred["vendor"]["name"] = pred["vendor"]["name"].lower()
    if rng.random() < 0.05:
        pred["vendor"] = None
    return json.dumps(pred)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    golds = gold_rows(random.Random(0))
    outputs = [
        [perturb(g, random.Random(m * 100_003 + i)) for i, g in enumerate(golds)]
        for m in range(MODELS)
    ]
    flat = [o for model in outputs for o in model]
    cases = scoring_cases(TASK, golds, outputs)
    runs = measure(cases, args.repeats)
    records = sum(len(g["line_items"]) for g in golds)
    print(
        f"outputs: {len(flat)} ({MODELS} models x {ROWS} rows, {records / ROWS:.1f} gold "
        f"records per row), repeats: {args.repeats}"
    )
    print_runs(runs)
    ref = cases["score, both profiles, no bootstrap"]()[0]["reference"]
    print(
        f"model 0 reference aggregate {ref.aggregate:.2f}, line_items "
        f"{ref.records['line_items']}, validity {ref.validity}"
    )


if __name__ == "__main__":
    main()
