"""The budget, said up front: how many calls, tokens and dollars a run will spend.

A run evaluates the original prompt on every validation row, then repeats one step while
at least one *probe* still fits (the parent and a proposal on a minibatch of training
rows, ``2m`` calls, plus one optimiser call for a reflective proposal): a proposal that
beats its parent on the minibatch is then validated on every validation row. The run
stops when no probe fits, or when an accepted proposal cannot be validated within what is
left. So the calls made fall short of the budget by less than a probe, or, when a late
acceptance ends the run, by less than a probe and one validation; the estimate is the
budget less half of that (its expected shortfall), within 10% of what a run makes when
the budget is at least five times a probe plus a validation.

A budget that cannot validate the original and one more candidate cannot search at all:
the run would "succeed" with the original prompt or one untested change. That is the
known trap this module warns about before anything is spent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fieldwise.errors import UserError
from fieldwise.report._optimize import usd
from fieldwise.runner import Price

__all__ = ["BudgetPlan", "plan_budget", "usd"]

ASSUMED_ACCEPTANCE = 0.25
"""Share of probes assumed to pass the minibatch test (for the token estimate only)."""
REFLECTIVE_SHARE = 0.5
"""Share of steps that ask the optimiser model (instruction and rules, not shots or
ablation)."""


@dataclass(frozen=True)
class BudgetPlan:
    budget: int
    n_val: int
    minibatch: int
    calls: int
    task_calls: int
    optimizer_calls: int
    tokens: int
    cost: float | None
    warnings: tuple[str, ...] = ()

    @property
    def probe(self) -> int:
        return 2 * self.minibatch + 1


def plan_budget(
    budget: int,
    n_val: int,
    minibatch: int,
    task_tokens: tuple[float, float],
    optimizer_tokens: tuple[float, float],
    price: Price | None,
    optimizer_price: Price | None,
) -> BudgetPlan:
    """Estimate a run's calls, tokens and cost; ``*_tokens`` are (in, out) per call."""
    if budget < 1:
        raise UserError("--budget must be at least 1 call")
    if n_val < 1:
        raise UserError("optimisation needs validation rows to select a prompt (--val)")
    if budget < n_val:
        raise UserError(
            f"budget {budget} cannot evaluate even the original prompt on the {n_val} "
            f"validation rows (that takes {n_val} calls)",
            hint=f"raise --budget well above {n_val}, or use fewer validation rows",
        )
    probe = 2 * minibatch + 1
    warnings = []
    if budget < 2 * n_val + probe:
        warnings.append(
            f"budget {budget} is too small to try more than one candidate: the original "
            f"prompt takes {n_val} calls on the validation rows and each further candidate "
            f"up to {probe + n_val} (a {minibatch}-row minibatch probe and {n_val} "
            f"validation calls); the result would look like a success without a search. "
            f"Give at least {2 * n_val + probe}, better {n_val + 10 * (probe + n_val)}"
        )
    if budget < 5 * (probe + n_val):
        warnings.append(
            f"with a budget under {5 * (probe + n_val)} calls the estimate may be off by up "
            f"to {probe + n_val} calls: the run stops early when a late candidate cannot be "
            "validated in full"
        )
    calls = n_val if budget - n_val < probe else max(n_val, budget - (probe + n_val) // 2)
    steps = (calls - n_val) / (2 * minibatch + REFLECTIVE_SHARE + ASSUMED_ACCEPTANCE * n_val)
    optimizer_calls = math.ceil(max(0.0, steps) * REFLECTIVE_SHARE)
    task_calls = calls - optimizer_calls
    tokens = task_calls * sum(task_tokens) + optimizer_calls * sum(optimizer_tokens)
    cost = _cost(task_calls, task_tokens, price)
    opt_cost = _cost(optimizer_calls, optimizer_tokens, optimizer_price)
    total = None if cost is None or opt_cost is None else cost + opt_cost
    return BudgetPlan(
        budget,
        n_val,
        minibatch,
        calls,
        task_calls,
        optimizer_calls,
        round(tokens),
        total,
        tuple(warnings),
    )


def _cost(calls: int, tokens: tuple[float, float], price: Price | None) -> float | None:
    if calls == 0:
        return 0.0
    if price is None:
        return None
    return calls * (tokens[0] * price.input_per_mtok + tokens[1] * price.output_per_mtok) / 1e6
