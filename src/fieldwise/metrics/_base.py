"""What a metric is: one registered object that knows how to score one kind of field.

A metric has a name, the field kinds it applies to, validated parameters (a nested
Pydantic ``Params``), a gold preparation, per-value and vectorised scoring, and a cost
that orders the children of a record when records are aligned. A scoring profile never
scores anything itself: it hands each metric its :class:`Policy` (normalise labels? real
JSON types only?), so a new metric works under every profile without touching one.

The smallest metric implements :meth:`LeafMetric.score_value` (one prediction against one
gold value); the vectorised :meth:`LeafMetric.score` then loops over it. Built-ins
override :meth:`~LeafMetric.score` (whole columns in numpy) and
:meth:`~LeafMetric.score_gathered` (record pairs, per-value work once per value).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from fieldwise.errors import UserError
from fieldwise.metrics._arrays import MISSING, Gathered, objects

if TYPE_CHECKING:
    from fieldwise.tasks._task import FieldSpec

__all__ = ["LEAF_KINDS", "NUMERIC_KINDS", "LeafMetric", "MetricParams", "Policy", "VERBATIM"]

LEAF_KINDS: tuple[str, ...] = ("text", "date", "label_set", "label", "int", "bool", "float")
NUMERIC_KINDS: frozenset[str] = frozenset({"int", "bool", "float"})

_CAUGHT = (TypeError, ValueError, AttributeError, KeyError, IndexError, ArithmeticError)
"""What a per-value metric may raise on a strange prediction: that prediction scores 0."""


class Policy(Protocol):
    """What a scoring profile tells a metric (see ``fieldwise.scoring.Profile``)."""

    @property
    def name(self) -> str: ...

    @property
    def normalise(self) -> bool:
        """Compare labels after normalisation: case, spaces, ``;`` splits, the field's
        aliases."""

    @property
    def strict_types(self) -> bool:
        """A value must have the field's JSON type (``1`` is not ``true``, ``"1"`` not
        ``1``)."""


class _Verbatim:
    name = "verbatim"
    normalise = False
    strict_types = False


VERBATIM: Policy = _Verbatim()
"""No normalisation, Python equality: the policy of the reference profile."""


class MetricParams(BaseModel):
    """Base of every metric's ``Params``: unknown parameters are an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LeafMetric:
    """A way of scoring one leaf field (subclass it, then register the subclass).

    Class attributes: ``name`` (what schemas write in ``Metric(name, ...)``), ``kinds``
    (the field kinds it applies to; a declaration on another kind is an error at task
    load), ``description`` (one line, for docs) and ``cheap`` (a comparison cheap enough
    to run first when record pairs are scored).

    Scores are floats in [0, 1] (1 right, 0 wrong, partial credit between). A prediction
    is any JSON value, or :data:`~fieldwise.metrics.MISSING` for an absent key; scoring
    must never raise on it (a model's garbage is data to score).
    """

    name: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]] = LEAF_KINDS
    description: ClassVar[str] = ""
    cheap: ClassVar[bool] = False
    nested: ClassVar[bool] = False
    """``object``/``records``/``ignore``: structure, scored by ``scoring/_nested.py``."""

    class Params(MetricParams):
        pass

    def __init__(self, params: MetricParams | None = None, **values: Any) -> None:
        self.params: Any = params if params is not None else self.Params(**values)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = LeafMetric.score_value, LeafMetric.score
        if not cls.nested and (cls.score_value, cls.score) == own:
            raise TypeError(f"metric {cls.__name__} must implement score_value or score")

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in self.params.model_dump().items())
        return f"{type(self).__name__}({values})"

    @classmethod
    def validate(cls, params: dict[str, Any]) -> MetricParams:
        """``Params(**params)``, a wrong one a :class:`UserError` (the caller adds the field)."""
        try:
            return cls.Params(**params)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            if first["type"] == "extra_forbidden":
                known = ", ".join(cls.Params.model_fields) or "none"
                raise UserError(
                    f"metric '{cls.name}' has no parameter '{where}' (it takes: {known})"
                ) from None
            message = str(first["msg"]).removeprefix("Value error, ")
            if first["type"] == "value_error":
                raise UserError(message) from None
            raise UserError(f"metric '{cls.name}' parameter '{where}': {message}") from None

    def check(self, field: FieldSpec) -> None:
        """Reject a declaration that cannot work on ``field`` (beyond its kind), at task
        load; raise a :class:`UserError` (the caller names the field)."""

    def cost(self, field: FieldSpec) -> int:
        """How costly scoring ``field`` over many record pairs is, relative to its siblings:
        record alignment scores the cheapest children first, so that costly ones see only
        the pairs that can still reach the match threshold."""
        if field.kind == "label_set":
            return 2
        return 0 if self.cheap and field.kind in NUMERIC_KINDS else 1

    # -- scoring -------------------------------------------------------------------------

    def prepare_gold(self, field: FieldSpec, values: list[Any], policy: Policy) -> Any:
        """Precompute what scoring needs from one gold column (done once, reused for every
        model). The default keeps the values as an object array; a metric that overrides
        it must override :meth:`score` too. Arrays (or tuples of arrays) only: record
        alignment gathers them by pair."""
        return objects(values, len(values))

    def score_value(self, field: FieldSpec, pred: Any, gold: Any, policy: Policy) -> float:
        """One prediction against one (raw) gold value."""
        return float(
            self.score(field, objects([pred], 1), self.prepare_gold(field, [gold], policy), policy)[
                0
            ]
        )

    def score(self, field: FieldSpec, preds: np.ndarray, gold: Any, policy: Policy) -> np.ndarray:
        """A whole column: ``preds`` against prepared ``gold``; float64, ``len(preds)``."""
        out = np.zeros(len(preds))
        for i, (p, g) in enumerate(zip(preds.tolist(), gold.tolist(), strict=True)):
            if p is MISSING or g is MISSING:
                continue
            try:
                out[i] = self.score_value(field, p, g, policy)
            except _CAUGHT:
                out[i] = 0.0
        return out

    def score_gathered(
        self, field: FieldSpec, preds: Gathered, gold: Any, policy: Policy
    ) -> np.ndarray:
        """Record pairs (see :class:`~fieldwise.metrics.Gathered`); override to do per-value
        work once per predicted value instead of once per pair."""
        return self.score(field, preds.values(), gold, policy)
