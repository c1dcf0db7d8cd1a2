"""Prompt optimisation: make a prompted model compete at its best, with its price shown.

``optimize(task, model_spec, train, val, store=..., name=..., settings=...)`` searches
over the prompt's components (instruction by reflection, annotation rules kept, dropped
or rewritten, few-shot examples: how many and which) with GEPA's reflective, Pareto-kept
search, scores every candidate with fieldwise's own scorer, sends every call through the
runner, and saves the best as a named, versioned prompt (``prompt: NAME``). See
docs/optimize.md.
"""

from __future__ import annotations

from fieldwise.optimize._budget import BudgetPlan, plan_budget
from fieldwise.optimize._run import (
    OptimizeResult,
    OptimizeSettings,
    check_no_leakage,
    optimize,
    original_spec,
)
from fieldwise.optimize._search import Candidate

__all__ = [
    "BudgetPlan",
    "Candidate",
    "OptimizeResult",
    "OptimizeSettings",
    "check_no_leakage",
    "optimize",
    "original_spec",
    "plan_budget",
]
