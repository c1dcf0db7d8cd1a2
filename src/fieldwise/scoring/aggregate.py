"""Score many rows of one model: parse once, score every profile, aggregate, bootstrap.

``score_outputs`` is the whole scoring stage for one model. Gold rows can be passed as
plain dicts or as a :class:`GoldTable` from :func:`prepare_golds`, which precomputes each
profile's view of the gold (label sets, normalised dates) once so that scoring ten models
against the same gold does that work once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import is_not, itemgetter
from typing import Any

import numpy as np

from fieldwise._gc import gc_paused
from fieldwise._json import exact_loads
from fieldwise.errors import UserError
from fieldwise.scoring._nested import GoldNode, NestedResult, PredCache, score_nested
from fieldwise.scoring._profile import MISSING, Profile, bools, is_null, nulls_are_values
from fieldwise.scoring._profile import objects as as_objects
from fieldwise.scoring._types import ModelScore, ParsedOutput, ParseStatus, RowValues
from fieldwise.scoring.parse import STATUSES, parse_failure, parse_status
from fieldwise.scoring.profiles import get_profile
from fieldwise.scoring.stats import Resamples, bootstrap_ci, resampled_means, row_resamples
from fieldwise.tasks import Task, load_task
from fieldwise.tasks._task import FieldSpec

__all__ = [
    "DEFAULT_PROFILES",
    "check_profiles",
    "GoldTable",
    "prepare_golds",
    "score_outputs",
    "score_parsed",
    "summarise",
]

DEFAULT_PROFILES: tuple[str, ...] = ("reference", "strict")
_NO_OBJECT: dict[str, Any] = {}


@dataclass
class GoldTable:
    """Gold answers for one task, column by column, with per-profile preparations cached.

    A gold row without a field (or with ``null`` there) leaves that cell unscored (NaN)
    for every model: no gold, no score. An optional field (``X | None``) is the exception:
    there ``null`` is a gold value, right only when the prediction is ``null`` too.
    """

    task: Task
    rows: int
    columns: dict[str, list[Any]]
    present: dict[str, np.ndarray]
    absent: dict[str, np.ndarray | None]
    texts: list[str] | None = None
    """The source texts, row by row: needed only by a profile with ``require_grounding``."""
    _prepared: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)
    _nodes: dict[str, GoldNode] = field(default_factory=dict, repr=False)
    _nulls: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def prepared(self, profile: Profile, spec: FieldSpec) -> Any:
        key = (profile.name, spec.name)
        if key not in self._prepared:
            self._prepared[key] = profile.prepare_gold(spec, self.columns[spec.name])
        return self._prepared[key]

    def node(self, spec: FieldSpec) -> GoldNode:
        """The gold tree of a nested field, shared by every profile and model."""
        if spec.name not in self._nodes:
            col = self.columns[spec.name]
            self._nodes[spec.name] = GoldNode(spec, as_objects(col, len(col)))
        return self._nodes[spec.name]

    def nulls(self, spec: FieldSpec) -> np.ndarray:
        """Rows whose gold is ``null`` (only an optional field keeps ``null`` as gold)."""
        if spec.name not in self._nulls:
            col = self.columns[spec.name]
            self._nulls[spec.name] = is_null(as_objects(col, len(col)))
        return self._nulls[spec.name]


def prepare_golds(
    task: Task | str,
    golds: Sequence[Mapping[str, Any]] | GoldTable,
    texts: Sequence[str] | None = None,
) -> GoldTable:
    """Check the gold rows and lay them out by field for fast repeated scoring (a
    :class:`GoldTable` is returned as it is); ``texts`` (one per row) let a ``+grounding``
    profile check each value against its text."""
    if isinstance(golds, GoldTable):
        return golds
    task = load_task(task)
    if len(golds) == 0:
        raise UserError("nothing to score: there are no gold rows")
    if texts is not None and len(texts) != len(golds):
        raise UserError(f"{len(texts)} texts for {len(golds)} gold rows")
    for i, gold in enumerate(golds):
        if not isinstance(gold, Mapping):
            raise UserError(f"gold row {i} is not a JSON object (got {type(gold).__name__})")
    columns: dict[str, list[Any]] = {}
    present: dict[str, np.ndarray] = {}
    for spec in task.fields:
        col = [g.get(spec.name) for g in golds]
        if spec.optional:  # null is a value: every row has gold
            present[spec.name] = np.ones(len(col), dtype=bool)
            columns[spec.name] = col
            continue
        present[spec.name] = bools(map(is_not, col, repeat(None)))
        columns[spec.name] = [MISSING if v is None else v for v in col]
    absent = {k: (None if mask.all() else ~mask) for k, mask in present.items()}
    return GoldTable(
        task, len(golds), columns, present, absent, None if texts is None else list(texts)
    )


def score_outputs(
    task: Task | str,
    golds: Sequence[Mapping[str, Any]] | GoldTable,
    outputs: Sequence[str | None],
    profiles: Sequence[str] = DEFAULT_PROFILES,
    n_boot: int = 1000,
    seed: int = 0,
    resamples: Resamples | None = None,
    strip_fences: bool = False,
) -> dict[str, ModelScore]:
    """Parse each raw output once and score it under every profile (name → score).

    Unparseable rows score 0 on every field in every profile (they are not abstentions).
    ``fenced`` outputs (an object in a Markdown code fence) are unparseable too, unless
    ``strip_fences``: then profiles that accept it (``strict``, never ``reference``) score
    the object inside. CIs come from ``resamples`` (a run's shared, possibly clustered,
    bootstrap) or, when it is not given, from ``n_boot`` row resamples seeded with
    ``seed`` (0: no CIs).
    """
    with gc_paused():
        boot = _resamples(outputs, n_boot, seed, resamples)
        return _score_raw(task, golds, outputs, profiles, boot, strip_fences)


def _resamples(
    rows: Sequence[Any], n_boot: int, seed: int, resamples: Resamples | None
) -> Resamples:
    if resamples is None:
        return row_resamples(len(rows), max(0, n_boot), seed)
    if resamples.n != len(rows):
        raise UserError(f"resamples are for {resamples.n} rows, not {len(rows)}")
    return resamples


def check_profiles(task: Task, profiles: Sequence[str] | str) -> list[Profile]:
    """The named profiles, each checked against ``task``: an unknown name, or a profile
    that cannot score one of the task's metrics, is a :class:`UserError` now, before any
    prediction is paid for, never a silent fallback at scoring time."""
    chosen = [
        get_profile(name) for name in ((profiles,) if isinstance(profiles, str) else profiles)
    ]
    for profile in chosen:
        profile.check(task)
    return chosen


def _plan(
    task: Task, profiles: Sequence[str] | str
) -> tuple[list[tuple[Profile, list[FieldSpec]]], list[str]]:
    """Each chosen profile with the fields it scores, and every field name needed."""
    chosen = check_profiles(task, profiles)
    plan = [(profile, list(profile.fields(task))) for profile in chosen]
    names = list(dict.fromkeys(spec.name for _, specs in plan for spec in specs))
    return plan, names


def _fields_of(names: list[str]) -> Any:
    """A function from a parsed object to the tuple of its ``names`` values (KeyError if
    one is absent): one C call per row instead of one lookup per field."""
    if not names:
        return lambda o: ()
    if len(names) == 1:
        name = names[0]
        return lambda o: (o[name],)
    return itemgetter(*names)


def _score_raw(
    task: Task | str,
    golds: Sequence[Mapping[str, Any]] | GoldTable,
    outputs: Sequence[str | None],
    profiles: Sequence[str],
    resamples: Resamples,
    strip_fences: bool,
) -> dict[str, ModelScore]:
    task = load_task(task)
    plan, names = _plan(task, profiles)
    validity = dict.fromkeys(STATUSES, 0)
    fenced: list[int] = []
    # Each parsed object is reduced to its scored values at once and then freed: keeping
    # all of them alive until a second pass cost ~40% more than the parse itself
    # (allocator and cache pressure), more than all the field scoring together.
    getter = _fields_of(names)
    nothing = (MISSING,) * len(names)
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    loads = exact_loads(outputs)  # json.loads' values, at orjson's speed where they agree
    failed: dict[int, ParseStatus] = {}  # row → status, for the rows that are not "ok"
    for raw in outputs:
        # Inlined fast path of ``parse_status`` (same outcomes): valid objects first.
        if type(raw) is str:
            try:
                value = loads(raw)
            except (ValueError, RecursionError):
                status, value = parse_failure(raw)
                validity[status] += 1
                failed[len(rows)] = status
                if value is None or not strip_fences:
                    append(nothing)
                    continue
                fenced.append(len(rows))  # scored only by profiles that accept it
                try:
                    append(getter(value))
                except KeyError:
                    append(tuple(map(value.get, names, repeat(MISSING))))
                continue
            if type(value) is dict:
                validity["ok"] += 1
                try:
                    append(getter(value))
                except KeyError:
                    append(tuple(map(value.get, names, repeat(MISSING))))
                continue
        status, _ = parse_status(raw)
        validity[status] += 1
        failed[len(rows)] = status
        append(nothing)
    statuses: list[ParseStatus] = ["ok"] * len(rows)
    for row, status in failed.items():
        statuses[row] = status
    return _score_rows(task, golds, rows, names, validity, plan, resamples, fenced, statuses)


def score_parsed(
    task: Task | str,
    golds: Sequence[Mapping[str, Any]] | GoldTable,
    parsed: Sequence[ParsedOutput],
    profiles: Sequence[str] = DEFAULT_PROFILES,
    n_boot: int = 1000,
    seed: int = 0,
    resamples: Resamples | None = None,
    strip_fences: bool = False,
) -> dict[str, ModelScore]:
    """Like :func:`score_outputs` for outputs already parsed with ``parse_output``."""
    boot = _resamples(parsed, n_boot, seed, resamples)
    task = load_task(task)
    plan, names = _plan(task, profiles)
    getter = _fields_of(names)
    validity = dict.fromkeys(STATUSES, 0)
    rows: list[tuple[Any, ...]] = []
    fenced: list[int] = []
    for p in parsed:
        validity[p.status] = validity.get(p.status, 0) + 1
        readable = p.status == "ok" or (p.status == "fenced" and strip_fences)
        value = p.value if readable and p.value is not None else _NO_OBJECT
        if p.status == "fenced" and value is not _NO_OBJECT:
            fenced.append(len(rows))
        try:
            rows.append(getter(value))
        except KeyError:
            rows.append(tuple(map(value.get, names, repeat(MISSING))))
    with gc_paused():
        statuses = [p.status for p in parsed]
        return _score_rows(task, golds, rows, names, validity, plan, boot, fenced, statuses)


def _score_rows(
    task: Task,
    golds: Sequence[Mapping[str, Any]] | GoldTable,
    rows: list[tuple[Any, ...]],
    names: list[str],
    validity: dict[str, int],
    plan: list[tuple[Profile, list[FieldSpec]]],
    resamples: Resamples,
    fenced: list[int] | None = None,
    statuses: list[ParseStatus] | None = None,
) -> dict[str, ModelScore]:
    """Score the rows' field values under every profile. ``fenced`` rows hold the object
    read inside a code fence: profiles that do not accept it see nothing there. With each
    row's ``statuses``, every score keeps the values read (``ModelScore.values``)."""
    table = golds if isinstance(golds, GoldTable) else prepare_golds(task, golds)
    if table.task.name != task.name:
        raise UserError(f"gold rows were prepared for task '{table.task.name}', not '{task.name}'")
    if len(rows) != table.rows:
        raise UserError(
            f"{len(rows)} predictions for {table.rows} gold rows",
            hint="predictions and gold must be aligned row by row",
        )
    n = len(rows)
    # ``zip(*rows)`` transposes in C: one object array per field.
    columns = (
        {name: as_objects(col, n) for name, col in zip(names, zip(*rows, strict=True), strict=True)}
        if n
        else {name: as_objects([], 0) for name in names}
    )
    unfenced = _without_rows(columns, fenced) if fenced else columns
    scores: dict[str, ModelScore] = {}
    cache = PredCache()  # pred-side work on nested fields, shared by the profiles
    grounded: dict[int, tuple[dict[str, np.ndarray], dict[str, np.ndarray]]] = {}
    done: list[tuple[str, list[str], np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]]
    done = []
    for profile, specs in plan:
        cols = columns if profile.accepts_fenced else unfenced
        per_row = np.empty((table.rows, len(specs)), dtype=np.float64)
        paths: dict[str, np.ndarray] = {}
        records: dict[str, np.ndarray] = {}
        abstained: dict[str, np.ndarray] = {}
        if profile.require_grounding:  # aligned once per set of columns, for every profile
            if id(cols) not in grounded:
                grounded[id(cols)] = _grounded_columns(task, table, cols, names)
            cols, abstained = grounded[id(cols)]
        for j, spec in enumerate(specs):
            preds = cols[spec.name]
            absent = table.absent[spec.name]
            if spec.is_leaf:
                out = profile.score(spec, preds, table.prepared(profile, spec))
                if spec.optional:
                    nulls_are_values(out, preds, table.nulls(spec))
                if spec.name in abstained:
                    out[abstained[spec.name]] = np.nan
                per_row[:, j] = out
                if absent is not None:
                    per_row[absent, j] = np.nan
                paths[spec.path] = per_row[:, j]
                continue
            result = score_nested(profile, spec, preds, table.node(spec), cache)
            per_row[:, j] = result.scores
            if absent is not None:
                per_row[absent, j] = np.nan
            skip = absent if result.abstained is None else result.abstained
            if absent is not None and result.abstained is not None:
                skip = absent | result.abstained
            _nested_rows(result, table.node(spec), skip, paths, records)
        order = [leaf.path for leaf in task.leaves() if leaf.path in paths]
        paths = {k: paths[k] for k in [*order, *(k for k in paths if k not in order)]}
        done.append((profile.name, [s.name for s in specs], per_row, paths, records))
    # Every profile's intervals from one pass over the resamples (columns side by side).
    means = _resampled_columns([per_row for _, _, per_row, _, _ in done], resamples)
    for (name, fields, per_row, paths, records), mean in zip(done, means, strict=True):
        score = scores[name] = summarise(
            name, fields, per_row, table.present, validity, resamples, mean
        )
        score.path_rows = paths
        score.paths = {k: _nanmean(v) for k, v in paths.items()}
        score.records_rows = records
        score.records = {
            k: dict(zip(RECORD_METRICS, map(_nanmean, v.T), strict=True))
            for k, v in records.items()
        }
    if statuses is not None:
        values = RowValues(statuses, unfenced)
        for score in scores.values():
            score.values = values
    return scores


RECORD_METRICS = ("precision", "recall", "f1")


def _resampled_columns(matrices: list[np.ndarray], resamples: Resamples) -> list[np.ndarray | None]:
    """``resampled_means`` of each matrix, computed side by side in one pass (each
    column's means are its own: the same numbers as one call per matrix); ``None`` each
    where there is nothing to resample."""
    if resamples.count <= 0 or not matrices or resamples.n != matrices[0].shape[0]:
        return [None] * len(matrices)
    widths = [m.shape[1] for m in matrices]
    if not sum(widths):
        return [None] * len(matrices)
    both = resampled_means(np.hstack(matrices), resamples)
    cuts = np.cumsum(widths)[:-1]
    return list(np.split(both, cuts, axis=1))


def _grounded_columns(
    task: Task, table: GoldTable, columns: dict[str, np.ndarray], names: list[str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The columns a ``require_grounding`` profile scores, and per field the rows that
    abstain (see :func:`fieldwise.trust.grounding.ungrounded_as_abstentions`)."""
    if table.texts is None:
        raise UserError(
            "a +grounding profile needs each row's text to check values against",
            hint="pass texts to prepare_golds (the CLI and fieldwise run do)",
        )
    from fieldwise.trust.grounding import ungrounded_as_abstentions

    return ungrounded_as_abstentions(task, table.texts, columns, names)


def _without_rows(columns: dict[str, np.ndarray], rows: list[int]) -> dict[str, np.ndarray]:
    """Copies of ``columns`` with ``rows`` set to :data:`MISSING` (as if unparseable)."""
    idx = np.asarray(rows, dtype=np.intp)
    out = {}
    for name, col in columns.items():
        col = col.copy()
        col[idx] = MISSING
        out[name] = col
    return out


def _nanmean(values: np.ndarray) -> float:
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else float("nan")


def _nested_rows(
    result: NestedResult,
    gold: GoldNode,
    skip: np.ndarray | None,
    paths: dict[str, np.ndarray],
    records: dict[str, np.ndarray],
) -> None:
    """Per-row leaf scores (sum over gold occurrences / their count) and per-row records
    precision, recall and F1 of one nested field; rows in ``skip`` (no gold, abstained)
    are NaN, as is a leaf in a row where it has no gold occurrence."""
    counts = gold.counts()
    for path, sums in result.sums.items():
        n = counts[path]
        row = np.divide(sums, n, out=np.full(len(n), np.nan), where=n > 0)
        if skip is not None:
            row[skip] = np.nan
        paths[path] = row
    for path, rc in result.records.items():
        table = np.full((len(rc.tp), 3), np.nan)
        np.divide(rc.tp, rc.n_pred, out=table[:, 0], where=rc.n_pred > 0)
        np.divide(rc.tp, rc.n_gold, out=table[:, 1], where=rc.n_gold > 0)
        table[rc.present, 2] = rc.f1[rc.present]
        if skip is not None:
            table[skip] = np.nan
        records[path] = table


def summarise(
    profile: str,
    names: Sequence[str],
    per_row: np.ndarray,
    present: Mapping[str, np.ndarray],
    validity: dict[str, int],
    resamples: Resamples,
    resampled: np.ndarray | None = None,
) -> ModelScore:
    """A :class:`ModelScore` from a per-row score matrix (columns in ``names`` order);
    ``resampled``: its resampled column means, when already computed.

    Also used for a model's per-row mean over repeats; ``present[name]`` marks the rows
    that have gold for that column (coverage is answered / with gold).
    """
    valid = ~np.isnan(per_row)
    answered = valid.sum(axis=0)
    totals = np.where(valid, per_row, 0.0).sum(axis=0)
    means = np.divide(totals, answered, out=np.full(len(names), np.nan), where=answered > 0)
    defined = means[~np.isnan(means)]
    aggregate = float(defined.mean() * 100.0) if defined.size else float("nan")
    names = list(names)
    field_ci, aggregate_ci = bootstrap_ci(per_row, resamples, means=resampled)
    coverage = {}
    for j, name in enumerate(names):
        with_gold = int(present[name].sum())
        coverage[name] = float(answered[j] / with_gold) if with_gold else float("nan")
    return ModelScore(
        profile=profile,
        rows=per_row.shape[0],
        field_names=names,
        per_row=per_row,
        fields={name: float(means[j]) for j, name in enumerate(names)},
        aggregate=aggregate,
        field_ci=dict(zip(names, field_ci, strict=True)),
        aggregate_ci=aggregate_ci,
        validity=dict(validity),
        coverage=coverage,
    )
