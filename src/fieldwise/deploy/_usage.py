"""Collect a model's per-row cost and speed for the deploy view (``Usage``).

Costs are recomputed from each row's real token counts at the model's current price
(the config's, else the shipped table's), so a corrected price applies to predictions
already stored; they are list prices, without the discount a host gives for prompt-cache
hits (that depends on traffic, and the cached counts are not stored). A model priced by
the hour costs its hourly price over its measured throughput, per document.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fieldwise.pricing import Price
from fieldwise.scoring._types import Usage
from fieldwise.store import PredictionRow, Store
from fieldwise.tasks import Example

_NAN = float("nan")


def _column(rows: Sequence[PredictionRow], name: str) -> np.ndarray:
    values = [getattr(r, name) for r in rows]
    return np.array([_NAN if v is None else float(v) for v in values], dtype=float)


def collect_usage(
    rows: Sequence[PredictionRow],
    *,
    price: Price | None,
    examples: Sequence[Example] = (),
    model: Any = None,
    store: Store | None = None,
    identity: dict[str, Any] | None = None,
) -> Usage:
    """The :class:`Usage` of ``rows`` (aligned with ``examples``) at ``price``; the
    store's measurements of the model with ``identity`` give its throughput."""
    failed = np.array([r.error is not None for r in rows], dtype=bool)
    latency = _column(rows, "latency_s")
    latency[failed | ~(latency > 0)] = _NAN
    tokens_in = _column(rows, "input_tokens")
    tokens_out = _column(rows, "output_tokens")
    speed = _speed(store, identity)
    cost = np.full(len(rows), _NAN)
    if price is not None and price.hourly:
        per_doc = price.per_doc_hourly(speed["throughput_docs_s"] if speed else None)
        if per_doc is not None:
            cost[~failed] = per_doc
    elif price is not None:
        known = ~(np.isnan(tokens_in) & np.isnan(tokens_out))
        cost[known] = (
            np.nan_to_num(tokens_in[known]) * price.input_per_mtok
            + np.nan_to_num(tokens_out[known]) * price.output_per_mtok
        ) / 1e6
    usage = Usage(latency, tokens_in, tokens_out, cost, price=price, speed=speed)
    usage.batched = model is not None and getattr(model, "max_batch_size", 1) > 1
    if model is not None and examples:
        usage.prompt_tokens, usage.prompt_estimated = prompt_split(model, examples, tokens_in)
    return usage


def _speed(store: Store | None, identity: dict[str, Any] | None) -> dict[str, Any] | None:
    if store is None or identity is None:
        return None
    from fieldwise.store._speed import best_measurement

    found = best_measurement(store, identity)
    if found is None:
        return None
    return {
        "source": found.source,
        "run": found.run_id,
        "describe": found.describe(),
        "throughput_docs_s": found.throughput_docs_s,
        "latency_s": found.level.get("latency_s") or {},
        "level": found.level,
    }


def prompt_split(
    model: Any, examples: Sequence[Example], tokens_in: np.ndarray
) -> tuple[dict[str, float], bool]:
    """Mean tokens per request spent on instructions (system prompt and the prompt
    template around the document), few-shot examples, and the document itself.

    The instructions and examples are the same for every request, so their characters
    are counted once; each request's real input tokens are then split in proportion to
    characters (a chat template's own tokens fall to the instructions). Without token
    counts, tokens are estimated at four characters each (second value ``True``)."""
    from fieldwise.models._prompted import PromptedModel

    if not isinstance(model, PromptedModel):
        return {}, False
    probe = Example(id="-", text="")
    messages = model.messages(probe)
    fixed = sum(len(m["content"]) for m in messages)
    shots = sum(len(m["content"]) for m in messages[1:-1])
    instructions = fixed - shots
    docs = np.array([len(ex.text) for ex in examples], dtype=float)
    chars = instructions + shots + docs
    estimated = bool(np.isnan(tokens_in).all())
    total = chars / 4.0 if estimated else tokens_in
    known = ~np.isnan(total)
    if not known.any():
        return {}, estimated
    scale = total[known] / chars[known]
    return {
        "instructions": round(float(np.mean(instructions * scale)), 1),
        "examples": round(float(np.mean(shots * scale)), 1),
        "document": round(float(np.mean(docs[known] * scale)), 1),
    }, estimated
