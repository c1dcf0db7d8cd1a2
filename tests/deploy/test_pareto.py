"""Pareto dominance on hand-made (cost, accuracy) vectors."""

from __future__ import annotations

import math

from fieldwise.deploy import dominated, frontier


def test_dominance_by_hand() -> None:
    #          A: cheap, good   B: dear, worse  C: dear, best  D: cheapest, worst
    costs = [1.0, 3.0, 5.0, 0.5]
    accs = [80.0, 70.0, 90.0, 60.0]
    assert dominated(costs, accs) == [False, True, False, False]
    assert frontier(["A", "B", "C", "D"], dominated(costs, accs)) == ["A", "C", "D"]


def test_ties_do_not_dominate_but_a_strict_gain_on_one_axis_does() -> None:
    assert dominated([1.0, 1.0], [80.0, 80.0]) == [False, False]  # identical: both stay
    assert dominated([1.0, 1.0], [80.0, 81.0]) == [True, False]  # same cost, more accurate
    assert dominated([1.0, 2.0], [80.0, 80.0]) == [False, True]  # same accuracy, dearer


def test_unknown_costs_are_not_placed_at_zero() -> None:
    # an unknown cost must not make a model look free (it would dominate everything)
    flags = dominated([None, 2.0, math.nan], [99.0, 70.0, 95.0])
    assert flags == [None, False, None]


def test_one_model_is_its_own_frontier() -> None:
    assert dominated([3.0], [50.0]) == [False]
    assert dominated([], []) == []
