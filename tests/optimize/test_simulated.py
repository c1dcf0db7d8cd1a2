"""The simulated models follow their documented rules (docs/optimize.md)."""

from __future__ import annotations

import asyncio
import json

from fieldwise.models import create_model
from fieldwise.models._simulated_world import ISAF_WORLD, derive
from fieldwise.optimize._feedback import RowResult, score_rows
from fieldwise.optimize._reflect import read_proposal, reflection_prompt
from fieldwise.tasks import Example, Task
from fieldwise.tasks.named_prompts import PromptSpec, Shot, ShotPolicy
from fieldwise.tasks.prompts import load_template

RAID = next(c for c in ISAF_WORLD if c.name == "targeted-raids")


def _answers(task: Task, rows: list[Example], **options: object) -> list[str]:
    model = create_model("simulated/m", task, dict(options))
    return [g.output or "" for g in asyncio.run(model.generate(rows))]


def _spec(instruction: str = "", shots: tuple[Example, ...] = ()) -> PromptSpec:
    policy = ShotPolicy(
        source="random" if shots else "none",
        k=len(shots),
        examples=tuple(Shot.of(s) for s in shots),
    )
    return PromptSpec(template=load_template().source, instruction=instruction, shots=policy)


def _raid_rows(rows: list[Example]) -> list[Example]:
    return [ex for ex in rows if RAID.needed_by(ex.text.lower()) and ex.gold]


def test_a_hidden_convention_applies_only_once_the_prompt_states_it(
    isaf: Task, splits: tuple
) -> None:
    rows = _raid_rows(splits[0])[:10]
    assert len(rows) == 10
    cold = [json.loads(a) for a in _answers(isaf, rows, prompt=_spec(), layout_error=0)]
    told = [
        json.loads(a) for a in _answers(isaf, rows, prompt=_spec(RAID.statement), layout_error=0)
    ]
    golds = [ex.gold["killcaptureraid"] for ex in rows]  # type: ignore[index]
    assert [a["killcaptureraid"] for a in cold] == [not g for g in golds]
    assert [a["killcaptureraid"] for a in told] == golds


def test_an_example_showing_the_same_phrase_teaches_it(isaf: Task, splits: tuple) -> None:
    train, val, _ = splits
    shot = next(ex for ex in _raid_rows(train) if "targeting" in ex.text.lower())
    rows = [ex for ex in _raid_rows(val) if "targeting" in ex.text.lower()][:5]
    shown = [json.loads(a) for a in _answers(isaf, rows, prompt=_spec(shots=(shot,)))]
    assert [a["killcaptureraid"] for a in shown] == [ex.gold["killcaptureraid"] for ex in rows]  # type: ignore[index]


def test_without_examples_some_answers_come_fenced_and_with_them_none(
    isaf: Task, splits: tuple
) -> None:
    rows = splits[0]
    bare = _answers(isaf, rows, layout_error=0.25)
    fenced = sum(a.startswith("Here is") and "```json" in a for a in bare)
    assert 0.12 * len(rows) < fenced < 0.4 * len(rows)
    copied = _answers(isaf, rows, prompt=_spec(shots=(splits[1][0],)))
    assert not any("```" in a for a in copied)
    assert all(json.loads(a) for a in copied)


def test_base_errors_are_the_same_under_any_prompt_and_unlabelled_rows_get_nulls(
    isaf: Task, splits: tuple
) -> None:
    rows = splits[1][:20]
    first = _answers(isaf, rows, few_shot=0, layout_error=0, base_error=0.3)
    again = _answers(isaf, rows, prompt=_spec("unrelated words"), layout_error=0, base_error=0.3)
    assert first == again
    assert first != _answers(isaf, rows, layout_error=0, base_error=0.3, seed=1)
    (blank,) = _answers(isaf, [Example("u", "no label here")])
    assert set(json.loads(blank).values()) == {None}


def test_the_simulated_optimiser_states_what_the_failures_point_to(
    isaf: Task, splits: tuple
) -> None:
    rows = _raid_rows(splits[0])[:3]
    outputs = _answers(isaf, rows, prompt=_spec(), layout_error=0)
    scored = score_rows(isaf, rows, outputs, "reference")
    results = [
        RowResult(ex, out, s, f) for ex, out, (s, f) in zip(rows, outputs, scored, strict=True)
    ]
    prompt = reflection_prompt(isaf, "instruction", "Be careful.", results)
    assert "killcaptureraid: predicted" in prompt
    optimizer = create_model("simulated-optimizer/m", isaf, {"template": "reflect"})
    (gen,) = asyncio.run(optimizer.generate([Example("r", prompt)]))
    assert read_proposal(gen.output) == f"Be careful.\n{RAID.statement}"
    # Nothing left to add: the text comes back as it was.
    stated = reflection_prompt(isaf, "instruction", RAID.statement, results)
    (same,) = asyncio.run(optimizer.generate([Example("s", stated)]))
    assert read_proposal(same.output) == RAID.statement


def test_other_tasks_get_conventions_from_their_quoted_rules(isaf: Task) -> None:
    from dataclasses import replace

    task = replace(
        isaf, name="other", instructions='- min_killed: "a dozen" means 12\n- plain rule'
    )
    (conv,) = derive(task)
    assert conv.triggers == ("a dozen",) and conv.fields == ("min_killed",)
    assert conv.naive == "zero"
