"""Compare models across runs from the store: "did my new training data help?".

Each side is a stored run (by id) or a model label (all its runs, newest first, so the
folds of a cross-validated model come together). Its predictions are found again by
their cache keys (model identity + text + repeat), on the dataset the run recorded.
Sides are compared, paired, on the examples they share (same id and text); if the gold
answers of a shared example differ, the comparison is refused unless one side's gold is
chosen, because a "gain" might then be a relabelling.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldwise._hashing import prediction_key
from fieldwise.data.splits import group_key
from fieldwise.errors import UserError
from fieldwise.scoring import prepare_golds, score_outputs
from fieldwise.scoring.stats import (
    AGGREGATE,
    DEFAULT_RESAMPLES,
    PairwiseTable,
    Resamples,
    mean_over_repeats,
    pairwise,
)
from fieldwise.store import Store
from fieldwise.tasks import Example, Task, load_task

__all__ = ["RunComparison", "Side", "compare_runs", "load_side"]


@dataclass
class Side:
    """One side of a comparison: a name, its task and, per example id, the example and
    its outputs (one per repeat found, ``None`` where a repeat is missing)."""

    name: str
    task: str
    runs: list[int]
    fingerprints: list[str]
    examples: dict[str, Example]
    outputs: dict[str, list[str | None]]
    keys: dict[str, list[str]] = field(default_factory=dict)
    """Per example id, the prediction keys of its repeats (``outputs``' order), by which
    the store also holds each prediction's confidence signals."""


@dataclass
class RunComparison:
    """The paired table over the shared examples, plus what was left out and why."""

    sides: list[str]
    table: PairwiseTable
    shared: int
    profile: str
    warnings: list[str] = field(default_factory=list)

    def changes(self) -> list[dict[str, Any]]:
        """Per pair (later side minus earlier): targets that improved or regressed
        significantly after Holm's correction."""
        out = []
        for i, first in enumerate(self.sides):
            for second in self.sides[i + 1 :]:
                rows = [self.table.get(second, first, t) for t in self.table.targets]
                found = [c for c in rows if c is not None and c.significant]
                out.append(
                    {
                        "from": first,
                        "to": second,
                        "improved": [c.target for c in found if c.diff > 0],
                        "regressed": [c.target for c in found if c.diff < 0],
                    }
                )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "sides": self.sides,
            "shared_examples": self.shared,
            "warnings": self.warnings,
            "changes": self.changes(),
            **self.table.to_json(),
        }


def load_side(store: Store, ref: str) -> Side:
    """A run id (``12``) or a model label (every run recorded under it, newest first)."""
    runs = store.runs()
    if ref.isdigit():
        chosen = [r for r in runs if r["id"] == int(ref)]
        if not chosen:
            raise UserError(f"no run {ref} in {store.path}", hint="see fieldwise store runs")
        name = f"{chosen[0]['label']}#{ref}"
    else:
        chosen = [r for r in reversed(runs) if r["label"] == ref]
        if not chosen:
            labels = ", ".join(sorted({r["label"] for r in runs})) or "none"
            raise UserError(f"no run of a model named '{ref}' in {store.path}",
                            hint=f"recorded models: {labels}")  # fmt: skip
        name = ref
    tasks = {r["task"] for r in chosen}
    if len(tasks) > 1:
        raise UserError(f"'{ref}' has runs on several tasks ({', '.join(sorted(tasks))})")
    examples: dict[str, Example] = {}
    outputs: dict[str, list[str | None]] = {}
    keys_of: dict[str, list[str]] = {}
    datasets: dict[str, list[Example]] = {}
    for run in chosen:
        fp = run["dataset_fingerprint"]
        if fp not in datasets:
            datasets[fp] = store.load_dataset(fp)
        identity = json.loads(run["identity_json"])
        repeats = int(json.loads(run["config_json"] or "{}").get("repeats", 1) or 1)
        todo = [ex for ex in datasets[fp] if ex.id not in outputs]
        keys = [[prediction_key(identity, ex, r) for r in range(repeats)] for ex in todo]
        found = store.predictions_by_key([k for ks in keys for k in ks])
        for ex, ks in zip(todo, keys, strict=True):
            rows = [found.get(k) for k in ks]
            if rows[0] is None or rows[0].error is not None:
                continue  # this run never predicted the example
            outputs[ex.id] = [r.output if r is not None and r.error is None else None for r in rows]
            examples[ex.id] = ex
            keys_of[ex.id] = ks
    if not outputs:
        raise UserError(f"no stored predictions for '{ref}'")
    return Side(
        name, tasks.pop(), [r["id"] for r in chosen], sorted(datasets), examples, outputs, keys_of
    )


def compare_runs(
    store: Store,
    refs: list[str],
    *,
    task: Task | str | None = None,
    profile: str = "reference",
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    gold_from: int | None = None,
    strip_fences: bool = False,
) -> RunComparison:
    """Compare two or more stored runs (or model labels) on the examples all share.

    ``gold_from`` (an index into ``refs``) scores every side against that side's gold
    when the gold differs; by default differing gold is refused. ``strip_fences`` lets
    a profile that accepts it read fenced outputs (see ``score_outputs``).
    """
    if len(refs) < 2:
        raise UserError("compare needs at least two runs or model names")
    sides = [load_side(store, ref) for ref in refs]
    names = [s.name for s in sides]
    if len(set(names)) != len(names):
        raise UserError("the same run or model is named twice")
    task_names = {s.task for s in sides}
    if task is None and len(task_names) > 1:
        raise UserError(f"the runs are on different tasks: {', '.join(sorted(task_names))}")
    task_obj = load_task(task or task_names.pop())
    warnings: list[str] = []
    shared = _shared(sides, warnings)
    golds = _golds(sides, shared, gold_from, warnings)
    examples = [sides[0].examples[i] for i in shared]
    resamples = Resamples.for_rows(len(shared), bootstrap, seed, [group_key(ex) for ex in examples])
    table_golds = prepare_golds(task_obj, golds, [ex.text for ex in examples])
    fields: list[str] = []
    matrices = {}
    for side in sides:
        m, fields = _scores(task_obj, table_golds, side, shared, profile, strip_fences)
        matrices[side.name] = m
    pairs = [(names[j], names[i]) for i in range(len(names)) for j in range(i + 1, len(names))]
    table = pairwise(matrices, fields, resamples, pairs=pairs)
    return RunComparison(names, table, len(shared), profile, warnings)


def _shared(sides: list[Side], warnings: list[str]) -> list[str]:
    ids = [i for i in sides[0].outputs if all(i in s.outputs for s in sides[1:])]
    same_text = [i for i in ids if len({s.examples[i].text for s in sides}) == 1]
    if len(same_text) < len(ids):
        warnings.append(
            f"{len(ids) - len(same_text)} shared ids have different texts and are left out"
        )
    if not same_text:
        raise UserError("the runs share no examples (same id and text)")
    fps = {fp for s in sides for fp in s.fingerprints}
    if len(fps) > 1 or any(len(s.outputs) != len(same_text) for s in sides):
        sizes = ", ".join(f"{s.name}: {len(s.outputs)}" for s in sides)
        warnings.append(
            f"different datasets ({', '.join(sorted(fps))}); comparing the "
            f"{len(same_text)} examples all share ({sizes})"
        )
    return same_text


def _golds(
    sides: list[Side], shared: list[str], gold_from: int | None, warnings: list[str]
) -> list[dict[str, Any]]:
    def canon(side: Side, i: str) -> str:
        return json.dumps(side.examples[i].gold, sort_keys=True)

    differ = [i for i in shared if len({canon(s, i) for s in sides}) > 1]
    if differ and gold_from is None:
        raise UserError(
            f"the gold answers differ on {len(differ)} of {len(shared)} shared examples "
            f"(e.g. '{differ[0]}'): a difference in scores could be a relabelling",
            hint="choose one side's gold with --gold-from N (1 = the first run named)",
        )
    source = sides[gold_from or 0]
    if differ:
        warnings.append(f"gold differs on {len(differ)} examples; scored against {source.name}'s")
    golds = [source.examples[i].gold for i in shared]
    if any(g is None for g in golds):
        raise UserError(f"{source.name}'s dataset is not labelled; nothing to score against")
    return [g or {} for g in golds]


def _scores(
    task: Task,
    golds: Any,
    side: Side,
    shared: list[str],
    profile: str,
    strip_fences: bool,
) -> tuple[np.ndarray, list[str]]:
    """The side's per-row scores over ``shared`` (mean over the repeats it has)."""
    repeats = max(len(side.outputs[i]) for i in shared)
    per_repeat = []
    fields: list[str] = []
    for r in range(repeats):
        outs = [(side.outputs[i] + [None] * repeats)[r] for i in shared]
        scores = score_outputs(task, golds, outs, (profile,), n_boot=0, strip_fences=strip_fences)
        score = scores[profile]
        matrix = score.per_row.copy()
        missing = np.array([r >= len(side.outputs[i]) or side.outputs[i][r] is None
                            for i in shared])  # fmt: skip
        if r > 0:
            matrix[missing] = np.nan
        per_repeat.append(matrix)
        fields = score.field_names
    return mean_over_repeats(per_repeat), fields


def table_rows(
    data: dict[str, Any], show_all: bool = False
) -> tuple[dict[str, list[dict[str, str]]], int]:
    """Readable rows from a pairwise table's JSON (the report's ``pairwise.json`` or
    :meth:`RunComparison.to_json`), grouped by pair (``a − b``), one dict per row keyed
    by :data:`TABLE_COLUMNS` plus ``n`` and ``test``: every aggregate comparison and the
    field comparisons significant after correction (all with ``show_all``), and how many
    were left out.

    Each interval is the one matching its verdict (adjusted to the level Holm tested it
    at, :func:`~fieldwise.scoring.stats.holm_interval`), never the unadjusted bootstrap
    one, which can exclude 0 beside a tie."""
    pairs: dict[str, list[dict[str, str]]] = {}
    hidden = 0
    for c in data["comparisons"]:
        if not show_all and c["target"] != AGGREGATE and not c["significant"]:
            hidden += 1
            continue
        lo, hi = c.get("ci_holm", (None, None))  # None: a table from before it was stored
        pairs.setdefault(f"{c['a']} − {c['b']}", []).append(
            {
                "target": c["target"],
                "diff": _signed(c["diff"]),
                "Holm CI": f"[{_signed(lo)}, {_signed(hi)}]",
                "p": _p(c["p"]),
                "Holm p": _p(c["p_holm"]),
                "verdict": c["outcome"],
                "MDE": "—" if c["mde"] is None else f"{c['mde']:.2f}",
                "n": str(c["n"]),
                "test": c["test"],
            }
        )
    return pairs, hidden


TABLE_COLUMNS = ("target", "diff", "Holm CI", "p", "Holm p", "verdict", "MDE")
"""The columns of each pair's table (``n`` joins them when it varies within a pair)."""


def _signed(x: float | None) -> str:
    return "—" if x is None else f"{x:+.2f}"


def _p(x: float | None) -> str:
    return "—" if x is None else ("<0.001" if x < 0.001 else f"{x:.3f}")
