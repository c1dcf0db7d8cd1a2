"""Local fine-tuning throughput on this machine: tokens/s and seconds per optimiser step.

Builds the tiny random Llama (``fieldwise.finetune.tiny``) with a tokenizer trained on
the rows used, then runs ``run_finetune`` (checks + TRL SFTTrainer + LoRA) for a fixed
number of steps at a few batch sizes, several times each, and prints medians.

    PYTHONPATH=src python bench/finetune_speed.py --data ../shared/data/isaf/dev.jsonl

``--data`` defaults to the real ISAF rows when they are there, else the packaged sample.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from fieldwise.data import load_examples, write_jsonl
from fieldwise.finetune.config import config_from_dict
from fieldwise.finetune.local import run_finetune
from fieldwise.finetune.runcard import read_run_card
from fieldwise.finetune.tiny import build_tiny_model, task_texts
from fieldwise.tasks import load_task

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "isaf" / "dev.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(SHARED) if SHARED.is_file() else "sample")
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=2, help="first steps left out of s/step")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", default="1,4")
    parser.add_argument("--layout", default="chat_template")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()

    import torch

    task = load_task("isaf")
    examples = load_examples(task, args.data, limit=args.rows).examples
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        train = root / "train.jsonl"
        write_jsonl(train, [{"id": e.id, "text": e.text, **(e.gold or {})} for e in examples])
        started = time.perf_counter()
        base = build_tiny_model(root / "tiny", task_texts("isaf", train), vocab_size=1000)
        build_s = time.perf_counter() - started
        rows = []
        for batch_size in [int(b) for b in args.batch_sizes.split(",")]:
            runs = []
            for repeat in range(args.repeats):
                config = config_from_dict(
                    {
                        "base_model": str(base),
                        "train": str(train),
                        "output_dir": str(root / f"out-{batch_size}-{repeat}"),
                        "max_steps": args.steps,
                        "batch_size": batch_size,
                        "layout": args.layout,
                        "max_seq_length": 4096,
                        "post_check_examples": 0,
                        "logging_steps": args.steps,
                    }
                )
                wall = time.perf_counter()
                result = run_finetune(config, progress=False)
                wall = time.perf_counter() - wall
                training = (read_run_card(result.output_dir) or {})["training"]
                steady = statistics.median(training["step_times_s"][args.warmup :])
                tokens_per_step = training["tokens"] / args.steps
                runs.append(
                    {
                        "tokens_per_s_overall": result.tokens_per_s,
                        "steady_step_s": steady,
                        "steady_tokens_per_s": tokens_per_step / steady,
                        "wall_s": wall,
                        "tokens_per_step": tokens_per_step,
                    }
                )
            rows.append(
                {
                    "batch_size": batch_size,
                    "median_steady_tokens_per_s": statistics.median(
                        r["steady_tokens_per_s"] for r in runs
                    ),
                    "median_steady_step_s": statistics.median(r["steady_step_s"] for r in runs),
                    "median_overall_tokens_per_s": statistics.median(
                        r["tokens_per_s_overall"] for r in runs
                    ),
                    "median_wall_s": statistics.median(r["wall_s"] for r in runs),
                    "tokens_per_step": runs[0]["tokens_per_step"],
                    "runs": runs,
                }
            )
    summary = {
        "data": args.data,
        "rows": len(examples),
        "steps": args.steps,
        "repeats": args.repeats,
        "layout": args.layout,
        "torch_threads": torch.get_num_threads(),
        "tiny_build_s": round(build_s, 2),
        "results": rows,
    }
    print(
        f"tiny model build: {build_s:.1f} s; {len(examples)} rows; {args.steps} steps "
        f"(first {args.warmup} left out of steady) x {args.repeats} repeats; "
        f"torch threads {torch.get_num_threads()}; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        "| batch | tokens/step | s/step (steady) | tokens/s (steady) | tokens/s (whole run) "
        "| wall s per run |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['batch_size']} | {r['tokens_per_step']:.0f} | {r['median_steady_step_s']:.3f} "
            f"| {r['median_steady_tokens_per_s']:.0f} | {r['median_overall_tokens_per_s']:.0f} "
            f"| {r['median_wall_s']:.1f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
