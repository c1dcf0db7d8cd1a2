"""Benchmark what recording token log-probabilities costs the hf backend (issue 17: at
most 10% of generation time on the tiny hf model).

Builds the random tiny Llama of ``bench/hf_batching.py`` (or takes ``--model PATH``),
renders real ISAF prompts and times ``HFModel.generate`` end to end (tokenising,
padding, ``generate``, decoding, and with ``logprobs`` on the recorder's per-step
log-softmax plus mapping each token to its output offset) with ``logprobs: true`` (the
default) and ``logprobs: false``. The two models share the weights; their runs alternate
so load on a shared machine hits both alike. Reports medians of wall and process CPU
time and their ratio, and checks that both produce the same outputs (the recorder only
reads the scores). On a loaded machine the end-to-end ratio is noise-bound, so it also
times the added work itself (thread CPU inside the recorder's per-step call and its
``finish``, and inside ``signals_for_tokens``) as a share of the run's process CPU.

    PYTHONPATH=src python bench/logprob_overhead.py --rows 16 --batch-size 16 --max-tokens 128
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from hf_batching import SENTENCES, build, make_rows  # bench/ is on sys.path

import fieldwise.models.hf as hf_module
from fieldwise.models.hf import HFModel
from fieldwise.tasks import Example, load_task

ADDED = [0.0]
"""Thread CPU seconds spent in the logprob work since the last reset."""


def _clocked(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            ADDED[0] += time.thread_time() - start

    return call


def _clock_logprob_work() -> None:
    """Time the recorder's methods and the offset mapping where the hf backend calls them."""
    made = hf_module.logprob_recorder

    def recorder() -> Any:
        rec = made()
        cls = type(rec)
        cls.__call__ = _clocked(cls.__call__)  # type: ignore[method-assign]
        cls.finish = _clocked(cls.finish)
        return rec

    hf_module.logprob_recorder = recorder
    hf_module.signals_for_tokens = _clocked(hf_module.signals_for_tokens)


def _timed(model: HFModel, rows: list[Example], batch: int) -> tuple[float, float, list[Any]]:
    """Wall seconds, process CPU seconds and the generations for all rows."""
    wall, cpu = time.perf_counter(), time.process_time()
    gens = []
    for i in range(0, len(rows), batch):
        gens.extend(asyncio.run(model.generate(rows[i : i + batch])))
    return time.perf_counter() - wall, time.process_time() - cpu, gens


def measure(path: Path, args: argparse.Namespace) -> dict[str, Any]:
    task = load_task("isaf")
    rows = make_rows(args.rows)
    opts = {"max_tokens": args.max_tokens, "batch_size": args.batch_size}
    on = build(path, task, logprobs=True, **opts)
    off = build(path, task, logprobs=False, **opts)
    _clock_logprob_work()
    runs: dict[str, list[tuple[float, float]]] = {"on": [], "off": []}
    shares = []
    outputs: dict[str, list[str | None]] = {}
    last: list[Any] = []
    for i in range(args.repeats):
        order = [("on", on), ("off", off)] if i % 2 == 0 else [("off", off), ("on", on)]
        for name, model in order:
            ADDED[0] = 0.0
            wall, cpu, gens = _timed(model, rows, args.batch_size)
            if name == "on":
                shares.append(ADDED[0] / cpu)
            runs[name].append((wall, cpu))
            outputs[name] = [g.output for g in gens]
            last = gens
            if name == "on":
                assert all(g.signals is not None for g in gens), "a row without logprobs"
    prompt = statistics.mean(len(on._tokenizer(on.prompt_text(r)).input_ids) for r in rows)
    med = {k: [statistics.median(r[j] for r in v) for j in (0, 1)] for k, v in runs.items()}
    return {
        "rows": args.rows,
        "batch_size": args.batch_size,
        "max_tokens": args.max_tokens,
        "repeats": args.repeats,
        "prompt_tokens_mean": round(prompt, 1),
        "output_tokens": sum(g.output_tokens or 0 for g in last),
        "same_outputs": outputs["on"] == outputs["off"],
        "wall_s": {"logprobs": round(med["on"][0], 3), "without": round(med["off"][0], 3)},
        "cpu_s": {"logprobs": round(med["on"][1], 3), "without": round(med["off"][1], 3)},
        "overhead_wall": round(med["on"][0] / med["off"][0] - 1, 4),
        "overhead_cpu": round(med["on"][1] / med["off"][1] - 1, 4),
        "logprob_work_cpu_share": round(statistics.median(shares), 4),
        "overhead_cpu_paired_median": round(
            statistics.median(
                a[1] / b[1] - 1 for a, b in zip(runs["on"], runs["off"], strict=True)
            ),
            4,
        ),
        "overhead_cpu_each": [
            round(a[1] / b[1] - 1, 4) for a, b in zip(runs["on"], runs["off"], strict=True)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, help="a model folder (default: build a tiny one)")
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--vocab", type=int, default=2000)
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads (0: torch's default); 1 keeps "
        "process CPU time free of idle threads spinning on a loaded machine",
    )
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.model
        if path is None:
            from fieldwise.finetune.tiny import build_tiny_model, task_texts

            path = build_tiny_model(
                Path(tmp) / "tiny", task_texts("isaf") + SENTENCES, vocab_size=args.vocab
            )
        device = "cuda" if torch.cuda.is_available() else "cpu"
        print(json.dumps({"device": device, "torch_threads": torch.get_num_threads()}))
        print(json.dumps(measure(path, args), indent=2))


if __name__ == "__main__":
    main()
