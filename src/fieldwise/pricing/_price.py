"""What a model costs: per token (API hosts) or per hour of its hardware (self-hosted).

A :class:`Price` is plain arithmetic; where it came from (the shipped table, a config
override, a host's rate for a fine-tune) rides along so that every cost shown can say
which prices it used and how old they are. ``None`` means "unknown" everywhere here:
an unknown price never becomes 0, because a blank or a 0 reads as free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Protocol

UNKNOWN = "unknown"
"""How an unknown cost is shown (never 0, never blank)."""


class _Usage(Protocol):
    input_tokens: int | None
    output_tokens: int | None


@dataclass(frozen=True)
class Price:
    """USD per million input / output tokens, or USD per hour of the serving hardware.

    ``cached_input_per_mtok`` prices input tokens the host served from its prompt cache
    (``None``: unknown, billed as ordinary input). ``batch_discount`` is the share taken
    off both token prices by the host's batch API (0.5: half price; ``None``: unknown).
    ``per_hour`` prices a self-hosted model by its hardware: its cost per document is
    only known once its throughput is (:meth:`per_doc_hourly`).

    ``source``, ``as_of``, ``verified`` and ``note`` say where the numbers came from;
    they do not take part in equality, so two prices with the same numbers are equal.
    """

    input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0
    cached_input_per_mtok: float | None = None
    per_hour: float | None = None
    batch_discount: float | None = None
    source: str = field(default="config", compare=False)
    as_of: str | None = field(default=None, compare=False)
    verified: str = field(default="config", compare=False)
    note: str = field(default="", compare=False)

    @property
    def hourly(self) -> bool:
        return self.per_hour is not None

    def cost(self, gen: _Usage) -> float | None:
        """USD for one request at its reported token counts; ``None`` when no count was
        reported or the model is priced by the hour (see :meth:`per_doc_hourly`).

        Cached input tokens (``gen.cached_input_tokens`` when the backend reports them)
        are billed at the cached rate when there is one."""
        if self.hourly or (gen.input_tokens is None and gen.output_tokens is None):
            return None
        tokens_in = gen.input_tokens or 0
        cached = min(getattr(gen, "cached_input_tokens", None) or 0, tokens_in)
        cached_rate = self.cached_input_per_mtok
        if cached_rate is None:
            cached_rate = self.input_per_mtok
        return (
            (tokens_in - cached) * self.input_per_mtok
            + cached * cached_rate
            + (gen.output_tokens or 0) * self.output_per_mtok
        ) / 1e6

    def per_doc_hourly(self, docs_per_s: float | None) -> float | None:
        """USD per document for an hourly-priced model serving ``docs_per_s``
        documents a second (its measured throughput); ``None`` when either is unknown."""
        if self.per_hour is None or docs_per_s is None or not docs_per_s > 0:
            return None
        if not math.isfinite(docs_per_s):
            return None
        return self.per_hour / 3600.0 / docs_per_s

    def batch(self) -> Price | None:
        """The batch-API price: both token prices less the host's batch discount;
        ``None`` when the discount is unknown (never silently the online price)."""
        if self.hourly or self.batch_discount is None:
            return None
        keep = 1.0 - self.batch_discount
        cached = self.cached_input_per_mtok
        return replace(
            self,
            input_per_mtok=self.input_per_mtok * keep,
            output_per_mtok=self.output_per_mtok * keep,
            cached_input_per_mtok=None if cached is None else cached * keep,
            batch_discount=None,
            note=(self.note + "; " if self.note else "") + "batch price",
        )

    def describe(self) -> str:
        """One line for people: the numbers, where they came from and their date."""
        if self.hourly:
            head = f"${self.per_hour:g}/hour of hardware"
        else:
            head = f"${self.input_per_mtok:g} in / ${self.output_per_mtok:g} out per 1M tokens"
            if self.cached_input_per_mtok is not None:
                head += f" (${self.cached_input_per_mtok:g} cached in)"
        return f"{head}; {provenance(self)}"


def provenance(price: Price) -> str:
    """Where a price came from, with the table's date when it is the shipped table's."""
    if price.source == "table":
        mark = "" if price.verified in ("official", "cross-checked") else f", {price.verified}"
        return f"price table of {price.as_of}{mark}"
    if price.source == "same_as":
        return f"host rate of {price.note} (price table of {price.as_of})"
    return "from the config"


def format_usd(value: float | None, digits: int = 4) -> str:
    """A cost for display: ``unknown`` when it is not known, never blank or 0."""
    if value is None or not math.isfinite(value):
        return UNKNOWN
    if value == 0:
        return "$0"
    if abs(value) >= 100:
        return f"${value:,.0f}"
    if abs(value) >= 1:
        return f"${value:,.2f}"
    return f"${value:.{digits}g}"
