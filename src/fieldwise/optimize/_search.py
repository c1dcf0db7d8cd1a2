"""The search: GEPA's reflective, Pareto-kept evolution, with few-shot and rule moves.

Each step (as in GEPA, Agrawal et al. 2025): pick a parent from the Pareto front over the
validation rows (every candidate that is best on at least one row and not dominated,
drawn in proportion to the rows it is best on, so a prompt that is the only one to get
some rows right survives even when its mean is lower); draw a minibatch of training rows
(epoch-shuffled); run the parent on it; propose a child by changing one component (round
robin over instruction, shots, rules, ablation); run the child on the same minibatch and
keep it only if it does better there (or, for a dropped rule, no worse), then score it on
every validation row and add it to the pool. The best candidate is the one with the
highest validation mean, fewer prompt tokens breaking ties.

Why not the ``gepa`` package itself: its budget counts metric calls only (not the
reflection model's) and is checked between iterations, so it cannot promise an estimate
within a few percent of what is spent; few-shot selection is not a text mutation; and its
resume path unpickles a state file. Here every call is a runner call (cached and stored),
so a rerun with the same seed replays the stored answers instead of unpickling anything.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fieldwise.optimize._evaluate import Evaluator
from fieldwise.optimize._feedback import RowResult, mean
from fieldwise.optimize._propose import (
    COMPONENTS,
    SHOT_MENU,
    ablations,
    apply_reflection,
    reflective_prompt,
    shot_policy,
)
from fieldwise.tasks import Example
from fieldwise.tasks.named_prompts import PromptSpec


@dataclass
class Candidate:
    id: int
    spec: PromptSpec
    parent: int | None
    change: str
    val_scores: list[float]
    prompt_tokens: float
    output_tokens: float

    @property
    def val_score(self) -> float:
        return mean(self.val_scores)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parent": self.parent,
            "change": self.change,
            "val_score": round(self.val_score, 6),
            "prompt_tokens": round(self.prompt_tokens, 1),
            "output_tokens": round(self.output_tokens, 1),
            "shots": self.spec.shots.describe(),
            "hash": self.spec.content_hash(),
        }


@dataclass
class SearchOutcome:
    candidates: list[Candidate]
    best: Candidate
    steps: int
    proposals: int
    accepted: int
    stopped: str
    log: list[dict[str, Any]] = field(default_factory=list)


def _tokens(results: list[RowResult], attr: str) -> float:
    values = [getattr(r, attr) for r in results if getattr(r, attr) is not None]
    return mean(values) if values else 0.0


def pareto_parent(pool: list[Candidate], rng: random.Random) -> Candidate:
    """GEPA's parent choice: undominated candidates on the per-row front, drawn in
    proportion to the validation rows on which each is (one of the) best."""
    rows = len(pool[0].val_scores)
    best = [max(c.val_scores[i] for c in pool) for i in range(rows)]
    fronts = [{c.id for c in pool if c.val_scores[i] >= best[i] - 1e-9} for i in range(rows)]
    on = sorted({cid for front in fronts for cid in front})
    by_id = {c.id: c for c in pool}

    def dominated(cid: int) -> bool:
        mine = by_id[cid].val_scores
        for other in on:
            pairs = list(zip(by_id[other].val_scores, mine, strict=True))
            if other != cid and all(t >= m for t, m in pairs) and any(t > m for t, m in pairs):
                return True
        return False

    keep = [cid for cid in on if not dominated(cid)] or on
    weights = [sum(cid in front for front in fronts) for cid in keep]
    return by_id[rng.choices(keep, weights=weights)[0]]


def best_of(pool: list[Candidate]) -> Candidate:
    return max(pool, key=lambda c: (c.val_score, -c.prompt_tokens, -c.id))


class Minibatches:
    """Epoch-shuffled minibatches of the training rows (GEPA's default sampler)."""

    def __init__(self, rows: list[Example], size: int, rng: random.Random) -> None:
        self.rows, self.size, self.rng = rows, min(size, len(rows)), rng
        self._order: list[Example] = []

    def next(self) -> list[Example]:
        if len(self._order) < self.size:
            fresh = list(self.rows)
            self.rng.shuffle(fresh)
            self._order += fresh
        batch, self._order = self._order[: self.size], self._order[self.size :]
        return batch


async def search(
    ev: Evaluator,
    seed: PromptSpec,
    train: list[Example],
    val: list[Example],
    *,
    minibatch: int,
    rng: random.Random,
    max_pool: int,
    on_candidate: Callable[[Candidate], None] | None = None,
) -> SearchOutcome:
    """Run the search until the budget in ``ev.spend`` allows no further probe."""
    pool: list[Candidate] = []

    async def validate(spec: PromptSpec, parent: int | None, change: str) -> Candidate:
        results = await ev.evaluate(spec, val)
        cand = Candidate(
            len(pool),
            spec,
            parent,
            change,
            [r.score for r in results],
            _tokens(results, "input_tokens"),
            _tokens(results, "output_tokens"),
        )
        pool.append(cand)
        if on_candidate:
            on_candidate(cand)
        return cand

    await validate(seed, None, "original")
    tried = {seed.content_hash()}
    perfect: dict[str, Example] = {}
    batches = Minibatches(train, minibatch, rng)
    menu = list(SHOT_MENU)
    rng.shuffle(menu)
    out = SearchOutcome(pool, pool[0], 0, 0, 0, "budget spent")
    step = 0
    idle = 0
    while ev.spend.remaining >= 2 * batches.size + 1:
        if all(s >= 1.0 - 1e-9 for s in best_of(pool).val_scores):
            out.stopped = "every validation row is answered perfectly"
            break
        if idle >= 4 * len(COMPONENTS):
            out.stopped = "no component could propose anything new"
            break
        component = COMPONENTS[step % len(COMPONENTS)]
        step += 1
        parent = pareto_parent(pool, rng)
        batch = batches.next()
        before = await ev.evaluate(parent.spec, batch)
        perfect.update({r.example.id: r.example for r in before if r.perfect})
        proposal = await _propose(
            ev, component, parent.spec, before, train, perfect, menu, rng, tried, max_pool, step
        )
        if proposal is None:
            idle += 1
            continue
        idle = 0
        child, change = proposal
        tried.add(child.content_hash())
        out.proposals += 1
        after = await ev.evaluate(child, batch)
        gain = sum(r.score for r in after) - sum(r.score for r in before)
        accepted = gain > 1e-9 or (component == "ablation" and gain >= -1e-9)
        out.log.append(
            {
                "step": step,
                "parent": parent.id,
                "change": change,
                "minibatch_gain": round(gain, 4),
                "accepted": accepted,
            }
        )
        if not accepted:
            continue
        if ev.spend.remaining < len(val):
            out.stopped = "an accepted candidate could not be validated within the budget"
            break
        out.accepted += 1
        await validate(child, parent.id, change)
    out.steps = step
    out.best = best_of(pool)
    return out


async def _propose(
    ev: Evaluator,
    component: str,
    spec: PromptSpec,
    before: list[RowResult],
    train: list[Example],
    perfect: dict[str, Example],
    menu: list[tuple[str, int]],
    rng: random.Random,
    tried: set[str],
    max_pool: int,
    step: int,
) -> tuple[PromptSpec, str] | None:
    task = ev.task
    if component in ("instruction", "rules"):
        failures = [r for r in before if not r.perfect]
        if not failures:
            return None  # GEPA skips a minibatch the parent already gets right
        prompt = reflective_prompt(task, spec, component, failures)
        found = apply_reflection(task, spec, component, await ev.reflect(prompt, step))
        return found if found and found[0].content_hash() not in tried else None
    if component == "shots":
        pool = [perfect[k] for k in sorted(perfect)]
        for source, k in menu:
            move = f"{spec.content_hash()}:{source}:{k}"
            if move in tried:
                continue
            tried.add(move)  # one draw per (parent, source, size): random draws never run out
            policy = shot_policy(source, k, train, pool, rng, max_pool)
            child = spec.model_copy(update={"shots": policy})
            if child.content_hash() not in tried:
                return child, f"shots: {policy.describe()}"
        return None
    options = [(c, why) for c, why in ablations(spec, task) if c.content_hash() not in tried]
    return rng.choice(options) if options else None
