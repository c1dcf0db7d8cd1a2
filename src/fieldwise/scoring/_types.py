"""Result types shared by scoring and reporting (plain data, no behaviour)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from fieldwise.models._model import ModelKind

ParseStatus = Literal["ok", "fenced", "missing", "invalid_json", "not_object"]


@dataclass(frozen=True)
class ParsedOutput:
    """A raw output parsed once: the JSON object, or why there is none (``fenced``: the
    object inside a Markdown code fence, read only where the user opted in)."""

    status: ParseStatus
    value: dict[str, Any] | None = None


@dataclass
class RowValues:
    """What the scorer read from each output, kept for the report so that 300,000 outputs
    are not parsed a second time (and their objects not all kept alive at once).

    ``statuses[i]`` is row i's validity class; ``columns[name][i]`` is the value of field
    ``name`` the scorer read from row i, ``MISSING`` where the row has no usable object (an
    object inside a code fence included, as in the validity table) or no such key. Only the
    fields some profile scored have a column."""

    statuses: list[ParseStatus]
    columns: dict[str, np.ndarray]


@dataclass
class ModelScore:
    """One model's scores under one profile.

    ``per_row[i, j]`` is row i's score on ``field_names[j]`` in [0, 1]; NaN marks a field
    the model abstained on (strict profile only), which counts neither right nor wrong
    and lowers ``coverage`` instead.

    ``path_rows[path][i]`` is row i's score on one scored leaf (``vendor.name``,
    ``line_items[].unit_price``; a flat field's path is its name), NaN where the row has
    no gold occurrence of it; ``paths`` holds their means. ``records_rows[path]`` is a
    (rows, 3) array of each ``records`` field's per-row precision, recall and F1 (NaN
    where undefined: no predicted, no gold records), ``records`` their means.
    """

    profile: str
    rows: int
    field_names: list[str]
    per_row: np.ndarray
    fields: dict[str, float]
    aggregate: float
    field_ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    aggregate_ci: tuple[float, float] = (float("nan"), float("nan"))
    validity: dict[str, int] = field(default_factory=dict)
    coverage: dict[str, float] = field(default_factory=dict)
    paths: dict[str, float] = field(default_factory=dict)
    path_rows: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    records: dict[str, dict[str, float]] = field(default_factory=dict)
    records_rows: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    values: RowValues | None = field(default=None, repr=False, compare=False)
    """The values scored, shared by every profile of one scoring pass (``None`` where the
    scores are not those of one pass over raw outputs, e.g. a mean over repeats)."""

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: fields and paths in [0, 1], aggregate 0-100; NaN → ``null``."""
        return {
            "profile": self.profile,
            "rows": self.rows,
            "aggregate": _num(self.aggregate, 4),
            "aggregate_ci": [_num(x, 4) for x in self.aggregate_ci],
            "fields": {k: _num(v, 6) for k, v in self.fields.items()},
            "field_ci": {k: [_num(x, 6) for x in v] for k, v in self.field_ci.items()},
            "validity": self.validity,
            "coverage": {k: _num(v, 6) for k, v in self.coverage.items()},
            "paths": {k: _num(v, 6) for k, v in self.paths.items()},
            "records": {k: {m: _num(x, 6) for m, x in v.items()} for k, v in self.records.items()},
        }


def _num(value: float, digits: int) -> float | None:
    """Round for JSON output; NaN has no JSON spelling, so it becomes ``None``."""
    return None if math.isnan(value) else round(float(value), digits)


@dataclass
class Usage:
    """What one model's rows cost and how fast they came, row by row (NaN: unknown).

    ``cost_usd`` is each row's cost at ``price`` (``fieldwise.pricing.Price``; ``None``:
    unknown) and its real token counts; an hourly-priced model's rows all cost its hourly
    price over its measured throughput. ``speed`` is the measurement throughput comes
    from (a load test's best level, else the run's own): ``{"source", "describe",
    "level"}``. ``prompt_tokens`` splits the mean request into instructions, examples and
    document tokens (prompted models only; ``prompt_estimated``: counts were estimated
    from characters because the backend reported none).
    """

    latency_s: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    cost_usd: np.ndarray
    price: Any = None
    speed: dict[str, Any] | None = None
    prompt_tokens: dict[str, float] = field(default_factory=dict)
    prompt_estimated: bool = False
    batched: bool = False
    """The backend ran rows in batches: a row's latency is its batch's time shared out,
    not the latency of one request (a load test measures that)."""


@dataclass
class ModelResult:
    """Everything the report needs about one model on one dataset."""

    label: str
    spec: str
    kind: ModelKind
    outputs: list[str | None]
    errors: list[str | None]
    scores: dict[str, ModelScore]
    stats: dict[str, float] = field(default_factory=dict)
    repeats: list[dict[str, ModelScore]] = field(default_factory=list)
    """Each repeat's own scores when the model ran ``repeats: N`` > 1 (``scores`` then
    holds the per-row mean over them, which is what pairwise tests compare)."""
    variant_of: str | None = None
    """The configured model this one is a variant of (see ``variants:`` in the config)."""
    variant: dict[str, Any] = field(default_factory=dict)
    """The option values that make this variant (e.g. ``{"output_mode": "json_schema"}``)."""
    usage: Usage | None = None
    """Per-row cost and latency for the deploy view (``None``: not collected)."""
    signals: list[dict[str, Any] | None] = field(default_factory=list, repr=False)
    """Each row's stored confidence signals (of ``outputs``; empty: none were loaded),
    for the trust layer (``fieldwise.trust.signals``)."""
    repeat_outputs: list[list[str | None]] = field(default_factory=list, repr=False)
    """The other repeats' raw outputs, one list per repeat (the agreement signal)."""
