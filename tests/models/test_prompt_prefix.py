"""A prompted model renders its system prompt and few-shot pairs once, and the
messages are still exactly what :func:`render_messages` gives for every input: with the
task's template, with a named prompt's rules and instruction, with nearest-neighbour
examples chosen per input, and after switching prompts in place (the optimiser)."""

from __future__ import annotations

from fieldwise.data import load_examples
from fieldwise.models import create_model
from fieldwise.tasks import load_task
from fieldwise.tasks.named_prompts import PromptSpec, Shot, ShotPolicy
from fieldwise.tasks.prompts import load_template, render_messages

TASK = load_task("isaf")
ROWS = load_examples(TASK, "sample").examples


def _expected(model, spec: PromptSpec | None, ex) -> list[dict]:  # type: ignore[no-untyped-def]
    view = TASK if spec is None else spec.task_for(TASK)
    messages = render_messages(view, ex, model.template, model.shots_for(ex))
    if spec is not None and spec.instruction.strip():
        messages[0]["content"] += f"\n\n{spec.instruction.strip()}"
    return messages


def test_few_shot_messages_match_a_fresh_render_for_every_input() -> None:
    model = create_model("simulated/m", TASK, {"few_shot": 2})
    model.prepare(ROWS[:10])
    for ex in ROWS[10:14]:
        assert model.messages(ex) == _expected(model, None, ex)
    first = model.messages(ROWS[10])
    first[0]["content"] = "changed by a caller"  # a caller's edit must not reach the cache
    assert model.messages(ROWS[10]) == _expected(model, None, ROWS[10])


def test_named_prompts_per_input_examples_and_switching_in_place() -> None:
    pool = tuple(Shot.of(ex) for ex in ROWS[:12])
    knn = PromptSpec(
        template=load_template().source,
        rules=("Dates are ISO 8601.",),
        instruction="Answer with JSON only.",
        shots=ShotPolicy(source="knn", k=2, examples=pool),
    )
    model = create_model("simulated/m", TASK, {"prompt": knn})
    seen = set()
    for ex in ROWS[12:16]:
        messages = model.messages(ex)
        assert messages == _expected(model, knn, ex)
        assert messages[0]["content"].endswith("Answer with JSON only.")
        seen.add(tuple(m["content"] for m in messages[1:-1]))
    assert len(seen) > 1  # the examples differ by input: no prefix shared between them
    plain = PromptSpec(template=load_template().source, instruction="Be brief.")
    model.use_prompt(plain)
    messages = model.messages(ROWS[12])
    assert messages == _expected(model, plain, ROWS[12])
    assert messages[0]["content"].endswith("Be brief.") and len(messages) == 2
