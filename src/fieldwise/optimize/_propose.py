"""Proposals: how a candidate prompt is changed into a new one, one component at a time.

- ``instruction`` and ``rules``: reflection. The optimiser model reads the minibatch rows
  the parent got wrong, with the scorer's feedback, and rewrites the component.
- ``shots``: the next untried few-shot policy from a menu of (source, k): ``random``
  rows, ``bootstrapped`` rows (training rows some candidate already answered perfectly)
  or ``knn`` (each input's nearest training rows), each with a few sizes.
- ``ablation``: one rule dropped. Rules that change nothing on the data cost tokens on
  every call; a rule that matters shows its worth when it is missing.

Only training rows ever reach a proposal: they are the few-shot pool, the bootstrapped
pool and the rows whose failures the optimiser model reads.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from fieldwise.optimize._feedback import RowResult
from fieldwise.optimize._reflect import read_proposal, reflection_prompt
from fieldwise.tasks import Example, Task
from fieldwise.tasks.named_prompts import (
    PromptSpec,
    Shot,
    ShotPolicy,
    join_rules,
    split_rules,
)

COMPONENTS = ("instruction", "shots", "rules", "instruction", "shots", "rules", "ablation")
"""The round robin of components: ablation least often (an accepted ablation costs a full
validation for a few saved tokens)."""
SHOT_MENU: tuple[tuple[str, int], ...] = (
    ("knn", 2),
    ("knn", 4),
    ("bootstrapped", 2),
    ("bootstrapped", 4),
    ("random", 2),
    ("random", 4),
    ("knn", 8),
)


def shot_policy(
    source: str,
    k: int,
    train: Sequence[Example],
    perfect: Sequence[Example],
    rng: random.Random,
    max_pool: int,
) -> ShotPolicy:
    """A few-shot policy drawn from the training rows (never from anything else)."""
    labelled = [ex for ex in train if ex.gold is not None]
    if source == "knn":
        return ShotPolicy(
            source="knn", k=k, examples=tuple(Shot.of(ex) for ex in labelled[:max_pool])
        )
    if source == "bootstrapped":
        chosen = rng.sample(list(perfect), min(k, len(perfect)))
        rest = [ex for ex in labelled if ex not in chosen]
        chosen += rng.sample(rest, min(k - len(chosen), len(rest)))
    else:
        chosen = rng.sample(labelled, min(k, len(labelled)))
    return ShotPolicy(source=source, k=len(chosen), examples=tuple(Shot.of(ex) for ex in chosen))  # type: ignore[arg-type]


def ablations(spec: PromptSpec, task: Task) -> list[tuple[PromptSpec, str]]:
    """Every one-rule-shorter version of ``spec``, with what was dropped."""
    rules = spec.rule_list(task)
    return [
        (
            spec.model_copy(update={"rules": tuple(rules[:i] + rules[i + 1 :])}),
            f"rules: drop '{_short(rule)}'",
        )
        for i, rule in enumerate(rules)
    ]


def reflective_prompt(task: Task, spec: PromptSpec, component: str, rows: list[RowResult]) -> str:
    current = spec.instruction if component == "instruction" else join_rules(spec.rule_list(task))
    return reflection_prompt(task, component, current, rows)


def apply_reflection(
    task: Task, spec: PromptSpec, component: str, reply: str | None
) -> tuple[PromptSpec, str] | None:
    """The child prompt the optimiser's reply proposes, or ``None`` when it proposes
    nothing new."""
    text = read_proposal(reply)
    if text is None:
        return None
    if component == "instruction":
        if text == spec.instruction.strip():
            return None
        return spec.model_copy(update={"instruction": text}), "instruction: reflection"
    rules = tuple(split_rules(text))
    if list(rules) == spec.rule_list(task):
        return None
    old = set(spec.rule_list(task))
    added = [r for r in rules if r not in old]
    dropped = [r for r in old if r not in set(rules)]
    what = ", ".join([f"+'{_short(r)}'" for r in added] + [f"-'{_short(r)}'" for r in dropped])
    return spec.model_copy(update={"rules": rules}), f"rules: reflection ({what or 'reordered'})"


def _short(text: str, width: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
