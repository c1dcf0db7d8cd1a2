"""How fast is evidence alignment? Target: a 5,000-token document with 50 values < 20 ms.

The document is real invoice text (``examples/invoices/data.jsonl``) run together until it
holds 5,000 tokens; the answer is one invoice-shaped object with 50 leaf values: 10 line
items of 4 values and 10 top-level values, taken from the invoices in the document, a
fifth of them altered so they are not in the text (a changed digit, a swapped word, a
dropped word), which sends them through the fuzzy tier: the slow path. Each timing builds
the document's indexes from scratch (nothing is cached between repeats).

Run: ``PYTHONPATH=src python bench/align_speed.py [--repeats 30] [--tokens 5000]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

from fieldwise.tasks import load_task
from fieldwise.trust import Document, align_row, leaf_values

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "invoices"


def build(tokens: int, seed: int = 0) -> tuple[str, dict[str, Any]]:
    rows = [json.loads(line) for line in (EXAMPLE / "data.jsonl").open(encoding="utf-8")]
    rng = random.Random(seed)
    rng.shuffle(rows)
    texts: list[str] = []
    used: list[dict[str, Any]] = []
    for row in rows:
        if len(Document("\n\n".join(texts)).norms) >= tokens:
            break
        texts.append(row["text"])
        used.append(row)
    items = [item for row in used for item in row["line_items"]]
    answer = {
        "invoice_number": used[0]["invoice_number"],
        "issue_date": used[1]["issue_date"],
        "due_date": used[2]["due_date"] or used[3]["issue_date"],
        "vendor": dict(used[4]["vendor"]),
        "customer": dict(used[5]["customer"]),
        "currency": used[6]["currency"],
        "line_items": [dict(i) for i in rng.sample(items, 10)],
        "total": used[7]["total"],
    }
    answer["vendor"]["vat_id"] = answer["vendor"]["vat_id"] or "DE000000000"
    answer["vendor"]["country"] = answer["vendor"]["country"] or "de"
    answer["customer"]["country"] = answer["customer"]["country"] or "fr"
    for item in answer["line_items"]:
        item["sku"] = item["sku"] or "NO-SKU"
    _alter(answer, rng)
    return "\n\n".join(texts), answer


def _alter(answer: dict[str, Any], rng: random.Random) -> None:
    """Make 10 of the 50 values absent from the text, the way models get them wrong."""
    items = answer["line_items"]
    for item in items[:4]:
        words = item["description"].split()
        item["description"] = " ".join(words[:-1] + ["deluxe"]) if len(words) > 1 else "deluxe"
    for item in items[4:7]:
        item["unit_price"] = round(item["unit_price"] * 1.37 + 0.11, 2)
    for item in items[7:9]:
        item["quantity"] = item["quantity"] + 997
    answer["vendor"]["name"] = answer["vendor"]["name"].split()[0] + " Holdings Plc"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--tokens", type=int, default=5000)
    args = parser.parse_args()
    task = load_task(f"{EXAMPLE / 'task.py'}:INVOICES")
    text, answer = build(args.tokens)
    n_tokens = len(Document(text).norms)
    n_values = len(leaf_values(task, answer))
    align_row(task, text, answer)  # warm the interpreter's caches once
    times, cpu = [], []
    for _ in range(args.repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        evidence = align_row(task, text, answer)
        cpu.append((time.process_time() - start_cpu) * 1000)
        times.append((time.perf_counter() - start) * 1000)
    statuses: dict[str, int] = {}
    for ev in evidence.values():
        statuses[ev.status] = statuses.get(ev.status, 0) + 1
    print(f"document: {n_tokens} tokens, {len(text)} characters; answer: {n_values} values")
    print(f"statuses: {statuses}")
    print(
        f"align_row: wall median {statistics.median(times):.2f} ms "
        f"(min {min(times):.2f}, max {max(times):.2f}); CPU median "
        f"{statistics.median(cpu):.2f} ms over {args.repeats} repeats (target < 20 ms); "
        f"load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
