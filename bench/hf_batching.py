"""Benchmark the hf backend: batched vs one-row-at-a-time generation, and the cost of
schema-constrained decoding per token.

Builds a random tiny Llama offline (``fieldwise.finetune.tiny``; ``--hidden/--layers``
make it bigger) or uses ``--model PATH``, renders real ISAF prompts for synthetic press
releases, and times ``HFModel.generate`` end to end (tokenising, padding, decoding).

    PYTHONPATH=src python bench/hf_batching.py --rows 16 --batch-size 16 --max-tokens 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from fieldwise.models import create_model
from fieldwise.models.hf import HFModel
from fieldwise.tasks import Example, Task, load_task

SENTENCES = [
    "An Afghan and coalition security force detained two suspected insurgents in Kabul.",
    "Coalition forces killed a Taliban leader during an air strike in Helmand province.",
    "The security force found a weapons cache in Kandahar; no shots were fired.",
    "Several insurgents were captured in a night raid in Nangarhar on Sunday.",
    "Forces detained a facilitator in Ghazni province last Thursday.",
]


class SmallEvent(BaseModel):
    event: Literal["airstrike", "detention", "raid"] = Field(description="kind of incident")
    killq: bool = Field(description="someone was killed")
    airstrike: bool = Field(description="an air strike was used")


def make_rows(n: int) -> list[Example]:
    """Press-release-like texts of 1 to 5 sentences, so prompt lengths differ."""
    rows = []
    for i in range(n):
        k = 1 + i % 5
        text = " ".join(SENTENCES[(i + j) % len(SENTENCES)] for j in range(k))
        rows.append(Example(id=f"r{i}", text=f"KABUL, Afghanistan (Jan. {1 + i % 28}) - {text}"))
    return rows


def timed(model: HFModel, rows: list[Example], per_call: int) -> tuple[float, int]:
    """Seconds to generate all rows, ``per_call`` rows per generate call; tokens out."""
    start = time.perf_counter()
    tokens = 0
    for i in range(0, len(rows), per_call):
        gens = asyncio.run(model.generate(rows[i : i + per_call]))
        tokens += sum(g.output_tokens or 0 for g in gens)
    return time.perf_counter() - start, tokens


def build(model_path: Path, task: Task, **options: Any) -> HFModel:
    model = create_model(f"hf/{model_path}", task, options)
    assert isinstance(model, HFModel)
    model.load()
    asyncio.run(model.generate(make_rows(2)))  # warm-up: kernels, allocator, grammar
    return model


def bench_batching(path: Path, args: argparse.Namespace) -> dict[str, Any]:
    task = load_task("isaf")
    rows = make_rows(args.rows)
    opts = {"max_tokens": args.max_tokens, "batch_size": args.batch_size}
    model = build(path, task, **opts)
    batched, single = [], []
    for _ in range(args.repeats):
        batched.append(timed(model, rows, args.batch_size))
        single.append(timed(model, rows, 1))
    b = statistics.median(t for t, _ in batched)
    s = statistics.median(t for t, _ in single)
    return {
        "rows": args.rows,
        "batch_size": args.batch_size,
        "max_tokens": args.max_tokens,
        "prompt_tokens_mean": statistics.mean(
            len(model._tokenizer(model.prompt_text(r)).input_ids) for r in rows
        ),
        "batched_rows_per_s": round(args.rows / b, 2),
        "single_rows_per_s": round(args.rows / s, 2),
        "speedup": round(s / b, 2),
        "batched_tokens": batched[0][1],
        "single_tokens": single[0][1],
    }


def bench_constrained(path: Path, args: argparse.Namespace) -> dict[str, Any]:
    task = Task.from_model("small", SmallEvent, description="three-field benchmark task")
    rows = make_rows(args.rows)
    opts = {"max_tokens": args.constrained_max_tokens, "batch_size": args.batch_size}
    free = build(path, task, **opts)
    con = build(path, task, constrained=True, **opts)
    assert con.constraint is not None
    free_runs, con_runs, mask_s, mask_calls = [], [], [], []
    for _ in range(args.repeats):
        free_runs.append(timed(free, rows, args.batch_size))
        before_s, before_n = con.constraint.mask_seconds, con.constraint.mask_calls
        con_runs.append(timed(con, rows, args.batch_size))
        mask_s.append(con.constraint.mask_seconds - before_s)
        mask_calls.append(con.constraint.mask_calls - before_n)
    gens = asyncio.run(con.generate(rows))
    valid = 0
    for g in gens:
        try:
            task.output_model.model_validate_json(g.output or "")
            valid += 1
        except ValueError:
            pass
    free_ms = 1000 * statistics.median(t / max(n, 1) for t, n in free_runs)
    con_ms = 1000 * statistics.median(t / max(n, 1) for t, n in con_runs)
    con_tokens = statistics.median(n for _, n in con_runs)
    return {
        "free_ms_per_token": round(free_ms, 3),
        "constrained_ms_per_token": round(con_ms, 3),
        "mask_ms_per_token": round(1000 * statistics.median(mask_s) / max(con_tokens, 1), 3),
        "mask_ms_per_step": round(
            1000
            * statistics.median(s / max(c, 1) for s, c in zip(mask_s, mask_calls, strict=True)),
            3,
        ),
        "constrained_tokens_per_row": round(con_tokens / len(rows), 1),
        "constrained_valid": f"{valid}/{len(gens)}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, help="a model folder (default: build a tiny one)")
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--constrained-max-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--vocab", type=int, default=2000)
    parser.add_argument("--skip-constrained", action="store_true")
    args = parser.parse_args()
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        path = args.model
        if path is None:
            from fieldwise.finetune.tiny import build_tiny_model, task_texts

            heads = max(4, args.hidden // 64)
            path = build_tiny_model(
                Path(tmp) / "tiny",
                task_texts("isaf") + SENTENCES,
                vocab_size=args.vocab,
                hidden_size=args.hidden,
                num_layers=args.layers,
                num_heads=heads,
            )
        device = "cuda" if torch.cuda.is_available() else "cpu"
        print(json.dumps({"device": device, "torch_threads": torch.get_num_threads()}))
        print(json.dumps({"batching": bench_batching(path, args)}, indent=2), flush=True)
        if not args.skip_constrained:
            print(json.dumps({"constrained": bench_constrained(path, args)}, indent=2))


if __name__ == "__main__":
    main()
