"""Turn examples into token ids and labels, with the loss on the completion only.

The tokenised examples are built here rather than inside TRL so that the special-token
checks inspect exactly the ids that get trained, and so that inference can rebuild the
same prompt ids with :func:`prompt_ids`. Prompt tokens are labelled ``-100``; the
completion is the target JSON followed by the end-of-sequence token, because a model that
never sees EOS in training never learns to stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from fieldwise.errors import UserError
from fieldwise.tasks import Example, Task
from fieldwise.tasks.prompts import (
    Message,
    PromptTemplate,
    render_messages,
    render_prompt_text,
    render_target,
)

IGNORE = -100
Layout = Literal["chat_template", "template-free"]


@dataclass(frozen=True)
class Encoded:
    """One training sequence: ``input_ids`` = prompt + completion; ``labels`` mask the prompt."""

    example_id: str
    input_ids: list[int]
    labels: list[int]
    prompt_len: int
    messages: list[Message]
    target: str

    def as_row(self) -> dict[str, Any]:
        return {"input_ids": self.input_ids, "labels": self.labels}


def _ids(tokenizer: Any, text: str, *, special: bool) -> list[int]:
    return list(tokenizer(text, add_special_tokens=special)["input_ids"])


def _chat_text(tokenizer: Any, messages: list[Message], *, generation_prompt: bool) -> str:
    try:
        text = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=generation_prompt
        )
    except Exception as exc:  # noqa: BLE001 - jinja and tokenizer errors have many types
        raise UserError(
            f"the chat template failed to render: {exc}",
            hint="fix chat_template in the config, or use layout: template-free",
        ) from exc
    return str(text)


def prompt_ids(tokenizer: Any, messages: list[Message], layout: Layout) -> list[int]:
    """The prompt exactly as training saw it, ready for generation."""
    if layout == "chat_template":
        text = _chat_text(tokenizer, messages, generation_prompt=True)
        return _ids(tokenizer, text, special=False)
    return _ids(tokenizer, render_prompt_text(messages), special=True)


def completion_ids(
    tokenizer: Any, messages: list[Message], target: str, layout: Layout
) -> list[int]:
    """The target's ids ending with one EOS; text after the first EOS is dropped."""
    eos_id = tokenizer.eos_token_id
    if layout == "chat_template":
        prompt = _chat_text(tokenizer, messages, generation_prompt=True)
        full = _chat_text(
            tokenizer,
            [*messages, {"role": "assistant", "content": target}],
            generation_prompt=False,
        )
        if not full.startswith(prompt):
            raise UserError(
                "the chat template renders the prompt differently once the answer is appended",
                hint="use layout: template-free or set chat_template in the config",
            )
        ids = _ids(tokenizer, full[len(prompt) :], special=False)
    else:
        ids = _ids(tokenizer, target, special=False)
    if eos_id is None:
        return ids
    if eos_id in ids:
        return ids[: ids.index(eos_id) + 1]
    return [*ids, eos_id]


def encode_example(
    tokenizer: Any,
    task: Task,
    example: Example,
    layout: Layout,
    template: PromptTemplate | None = None,
) -> Encoded:
    """Tokenise one labelled example for training."""
    if example.gold is None:
        raise UserError(f"example '{example.id}' has no label; fine-tuning needs targets")
    messages = render_messages(task, example, template)
    target = render_target(task, example.gold)
    prompt = prompt_ids(tokenizer, messages, layout)
    completion = completion_ids(tokenizer, messages, target, layout)
    return Encoded(
        example_id=example.id,
        input_ids=prompt + completion,
        labels=[IGNORE] * len(prompt) + completion,
        prompt_len=len(prompt),
        messages=messages,
        target=target,
    )


def encode_all(
    tokenizer: Any,
    task: Task,
    examples: list[Example],
    layout: Layout,
    template: PromptTemplate | None,
    max_seq_length: int,
) -> tuple[list[Encoded], list[str]]:
    """Encode every example; those longer than ``max_seq_length`` are skipped and named.

    Truncating instead would cut the completion and its EOS, teaching the model to stop
    mid-answer, so a sequence that does not fit is left out (and counted in the run card).
    """
    kept: list[Encoded] = []
    skipped: list[str] = []
    lengths: list[int] = []
    for example in examples:
        encoded = encode_example(tokenizer, task, example, layout, template)
        if len(encoded.input_ids) > max_seq_length:
            skipped.append(f"{example.id} ({len(encoded.input_ids)} tokens)")
            lengths.append(len(encoded.input_ids))
        else:
            kept.append(encoded)
    if not kept:
        raise UserError(
            f"no example fits in max_seq_length={max_seq_length} tokens "
            f"(the shortest has {min(lengths)})",
            hint="raise max_seq_length in the config",
        )
    return kept, skipped
