"""Throughput of ``fieldwise serve``: concurrent (batched) vs sequential requests.

Builds the tiny random Llama plus LoRA adapters offline, starts the OpenAI-compatible
server in-process on 127.0.0.1, and sends the same N chat requests twice: one at a time,
then all at once from N client threads (so the server batches them). Prints requests/s
and completion tokens/s for both, and their ratio; medians over ``--repeats``. Then the
same requests with ``stream: true``: time to first token (first content chunk) and to the
last, one at a time and all at once.

    PYTHONPATH=src python bench/serve_throughput.py --requests 32 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

PROMPTS = [
    "An Afghan and coalition security force detained several suspected insurgents in Kabul.",
    "Coalition forces killed two insurgents during an operation in Kandahar province.",
    "A combined force found a weapons cache near Lashkar Gah, Helmand province.",
    "Security forces arrested a Taliban leader who coordinated attacks in Kunduz.",
]


def make_adapter(base: Path, out: Path, seed: int) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(base),
        LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"]),
    )
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.2)
    model.save_pretrained(out)
    return out


def run_once(client: Any, jobs: list[tuple[str, str]], max_tokens: int, workers: int) -> dict:
    def ask(job: tuple[str, str]) -> int:
        reply = client.chat.completions.create(
            model=job[0],
            messages=[{"role": "user", "content": job[1]}],
            max_tokens=max_tokens,
            temperature=0,
        )
        return int(reply.usage.completion_tokens)

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        tokens = sum(pool.map(ask, jobs))
    elapsed = time.perf_counter() - start
    return {"s": elapsed, "req_s": len(jobs) / elapsed, "tok_s": tokens / elapsed}


def stream_once(client: Any, jobs: list[tuple[str, str]], max_tokens: int, workers: int) -> dict:
    """Median time to the first content chunk and to the end of the stream, in seconds."""

    def ask(job: tuple[str, str]) -> tuple[float, float]:
        start = time.perf_counter()
        first = None
        for chunk in client.chat.completions.create(
            model=job[0],
            messages=[{"role": "user", "content": job[1]}],
            max_tokens=max_tokens,
            temperature=0,
            stream=True,
        ):
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter() - start
        total = time.perf_counter() - start
        return (total if first is None else first), total

    with ThreadPoolExecutor(workers) as pool:
        times = list(pool.map(ask, jobs))
    return {
        "ttft": statistics.median(t[0] for t in times),
        "total": statistics.median(t[1] for t in times),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--max-batch-size", type=int, default=16)
    parser.add_argument("--batch-window-ms", type=float, default=15)
    parser.add_argument("--adapters", type=int, default=2, help="requests spread over these")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--stream", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args(argv)

    import httpx
    import openai
    import torch

    from fieldwise.finetune.tiny import build_tiny_model
    from fieldwise.serve import create_app, running_server

    root = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    base = build_tiny_model(root / "tiny", PROMPTS, hidden_size=args.hidden_size)
    adapters = {
        f"a{i}": str(make_adapter(base, root / f"a{i}", seed=i)) for i in range(args.adapters)
    }
    names = list(adapters) or ["tiny"]
    jobs = [(names[i % len(names)], PROMPTS[i % len(PROMPTS)]) for i in range(args.requests)]
    app = create_app(
        str(base),
        adapters,
        max_batch_size=args.max_batch_size,
        batch_window_ms=args.batch_window_ms,
        device=args.device,
    )
    results: dict[str, list[dict]] = {"sequential": [], "concurrent": []}
    streams: dict[str, list[dict]] = {"sequential": [], "concurrent": []}
    with running_server(app) as url:
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
        run_once(client, jobs[:4], args.max_tokens, 1)  # warm-up
        for _ in range(args.repeats):
            results["sequential"].append(run_once(client, jobs, args.max_tokens, 1))
            results["concurrent"].append(run_once(client, jobs, args.max_tokens, len(jobs)))
        stats = httpx.get(f"{url}/stats").json()
        if args.stream:
            for _ in range(args.repeats):
                streams["sequential"].append(stream_once(client, jobs, args.max_tokens, 1))
                streams["concurrent"].append(stream_once(client, jobs, args.max_tokens, len(jobs)))
    app.close()

    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"requests {args.requests}, max_tokens {args.max_tokens}, adapters {args.adapters}, "
        f"max_batch_size {args.max_batch_size}, window {args.batch_window_ms} ms, {args.device}"
    )
    medians = {}
    for mode, runs in results.items():
        medians[mode] = {k: statistics.median(r[k] for r in runs) for k in ("s", "req_s", "tok_s")}
        m = medians[mode]
        print(f"{mode:>10}: {m['s']:.2f} s  {m['req_s']:.1f} req/s  {m['tok_s']:.0f} tok/s")
    ratio = medians["concurrent"]["req_s"] / medians["sequential"]["req_s"]
    print(f"speed-up (median req/s): {ratio:.1f}x")
    print(f"server batch sizes: {stats['batch_sizes']} (mean {stats['mean_batch_size']:.2f})")
    for mode, runs in streams.items():
        if runs:
            ttft = statistics.median(r["ttft"] for r in runs) * 1000
            total = statistics.median(r["total"] for r in runs) * 1000
            print(f"stream {mode:>10}: first token {ttft:.0f} ms, last token {total:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
