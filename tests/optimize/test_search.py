"""The optimiser on the simulated model: what it finds, what it spends, what it never sees."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from rich.console import Console

from fieldwise import registry
from fieldwise.errors import UserError
from fieldwise.models import register_backend
from fieldwise.models._model import Generation
from fieldwise.models._simulated_world import ISAF_WORLD
from fieldwise.models.simulated import SimulatedModel, SimulatedOptimizer
from fieldwise.optimize import OptimizeResult, OptimizeSettings, optimize
from fieldwise.store import Store
from fieldwise.tasks import Example, Task
from fieldwise.tasks.named_prompts import PromptSpec
from fieldwise.tasks.prompts import load_template

SEEN: list[str] = []
"""Every message any recording model was sent, in order."""


class RecordingModel(SimulatedModel):
    provider: ClassVar[str] = "recording"

    async def generate(self, batch: list[Example]) -> list[Generation]:
        SEEN.extend(m["content"] for ex in batch for m in self.messages(ex))
        return await super().generate(batch)


class RecordingOptimizer(SimulatedOptimizer):
    provider: ClassVar[str] = "recording-optimizer"

    async def generate(self, batch: list[Example]) -> list[Generation]:
        SEEN.extend(m["content"] for ex in batch for m in self.messages(ex))
        return await super().generate(batch)


@pytest.fixture(scope="module", autouse=True)
def _recording_backends() -> Iterator[None]:
    """Registered for this module's tests only: the registry is process-wide, and other
    tests (the generated docs page) list every registered backend."""
    register_backend("recording", RecordingModel)
    register_backend("recording-optimizer", RecordingOptimizer)
    yield
    registry.models.unregister("recording")
    registry.models.unregister("recording-optimizer")


HIDDEN = [c for c in ISAF_WORLD if not c.written]


def run(
    task: Task,
    splits: tuple[list[Example], list[Example], list[Example]],
    folder: Path,
    *,
    budget: int = 500,
    seed: int = 0,
    options: dict[str, Any] | None = None,
    spec: str = "recording/isaf",
    console: Console | None = None,
) -> OptimizeResult:
    train, val, test = splits
    return optimize(
        task,
        spec,
        train,
        val,
        store=Store(folder),
        name="isaf-opt",
        settings=OptimizeSettings(budget=budget, seed=seed),
        options={"few_shot": 1} if options is None else options,
        optimizer_spec="recording-optimizer/isaf",
        test=test,
        console=console or Console(file=io.StringIO()),
        quiet=console is None,
    )


@pytest.fixture(scope="module")
def first(isaf: Task, splits: tuple, tmp_path_factory: pytest.TempPathFactory) -> OptimizeResult:
    SEEN.clear()
    return run(isaf, splits, tmp_path_factory.mktemp("first"))


def _text(spec: PromptSpec, task: Task) -> str:
    return spec.instruction + "\n" + "\n".join(spec.rule_list(task))


def test_it_recovers_a_hidden_convention_and_beats_the_original(
    first: OptimizeResult, isaf: Task
) -> None:
    seed, best = first.outcome.candidates[0], first.best
    assert best.val_score >= seed.val_score + 0.02
    stated = [c.name for c in HIDDEN if c.stated_in(_text(best.spec, isaf))]
    assert stated, "the optimised prompt states no hidden convention"
    assert best.spec.content_hash() == first.saved.hash


def test_from_a_short_prompt_it_finds_examples_and_rules(
    isaf: Task, splits: tuple, tmp_path: Path
) -> None:
    short = PromptSpec(template=load_template().source, rules=())
    result = run(isaf, splits, tmp_path, options={"prompt": short}, budget=500)
    seed, best = result.outcome.candidates[0], result.best
    assert best.spec.shots.k > 0  # examples fix the answers' layout
    assert best.val_score > seed.val_score + 0.1
    assert any(c.stated_in(_text(best.spec, isaf)) for c in ISAF_WORLD)


def test_the_budget_estimate_is_within_ten_percent_of_the_calls_made(first: OptimizeResult) -> None:
    made, estimated = first.spend.calls, first.plan.calls
    assert made <= first.plan.budget
    assert abs(made - estimated) <= 0.1 * made
    assert first.spend.optimizer_calls > 0 and first.spend.tokens > 0


def test_no_test_row_ever_reaches_a_prompt(first: OptimizeResult, splits: tuple) -> None:
    _, _, test = splits
    assert SEEN, "nothing was recorded"
    prompts = "\n".join(SEEN)
    assert not [ex.id for ex in test if ex.text.strip() in prompts]
    assert first.saved.record["data"]["test"] == {
        "rows_checked": len(test),
        "fingerprint": first.saved.record["data"]["test"]["fingerprint"],
        "shared_with_optimiser": 0,
    }


def test_a_test_row_among_the_training_rows_is_refused(
    isaf: Task, splits: tuple, tmp_path: Path
) -> None:
    train, val, test = splits
    with pytest.raises(UserError, match="test rows repeat"):
        run(isaf, (train + test[:1], val, test), tmp_path)
    with pytest.raises(UserError, match="validation rows repeat a training row"):
        run(isaf, (train, val + train[:1], test), tmp_path)


def test_a_fixed_seed_reproduces_the_search_and_a_rerun_replays_the_store(
    first: OptimizeResult, isaf: Task, splits: tuple, tmp_path: Path
) -> None:
    again = run(isaf, splits, tmp_path / "fresh")
    assert [c.to_json() for c in again.outcome.candidates] == [
        c.to_json() for c in first.outcome.candidates
    ]
    replay = run(isaf, splits, first.saved.path.parents[2])
    assert replay.spend.cached == replay.spend.calls == first.spend.calls
    assert replay.saved.version == first.saved.version == 1
    other = run(isaf, splits, tmp_path / "other-seed", seed=7)
    assert [c.to_json() for c in other.outcome.candidates] != [
        c.to_json() for c in first.outcome.candidates
    ]


def test_too_small_budgets_warn_or_refuse(isaf: Task, splits: tuple, tmp_path: Path) -> None:
    n_val = len(splits[1])
    with pytest.raises(UserError, match="cannot evaluate even the original"):
        run(isaf, splits, tmp_path, budget=n_val - 1)
    out = io.StringIO()
    result = run(isaf, splits, tmp_path, budget=n_val + 5, console=Console(file=out, width=300))
    assert "too small to try more than one candidate" in out.getvalue()
    assert len(result.outcome.candidates) == 1
