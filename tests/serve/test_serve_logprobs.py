"""``logprobs: true`` on ``fieldwise serve``: OpenAI's shape, pieces that rebuild the text,
the model's own numbers, and the ``openai/`` backend storing them as a signal."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from tests.serve.helpers import PROMPTS, SCHEMA_FORMAT, messages

pytest.importorskip("torch")


def test_logprobs_come_back_in_openais_shape(client: Any) -> None:
    plain = client.chat.completions.create(
        model="tiny", messages=messages(PROMPTS[0]), max_tokens=10, temperature=0
    )
    asked = client.chat.completions.create(
        model="tiny", messages=messages(PROMPTS[0]), max_tokens=10, temperature=0, logprobs=True
    )
    assert plain.choices[0].logprobs is None
    text = asked.choices[0].message.content
    assert text == plain.choices[0].message.content  # asking changes nothing else
    content = asked.choices[0].logprobs.content
    assert len(content) == asked.usage.completion_tokens
    assert "".join(t.token for t in content) == text
    assert b"".join(bytes(t.bytes) for t in content) == text.encode()
    assert all(t.logprob <= 0 and math.isfinite(t.logprob) for t in content)


def test_constrained_logprobs_are_renormalised_under_the_grammar(client: Any) -> None:
    reply = client.chat.completions.create(
        model="tiny",
        messages=messages(PROMPTS[1]),
        max_tokens=40,
        temperature=0,
        logprobs=True,
        response_format=SCHEMA_FORMAT,
    )
    free = client.chat.completions.create(
        model="tiny", messages=messages(PROMPTS[1]), max_tokens=2, temperature=0, logprobs=True
    )
    # A random model spreads its probability over the whole vocabulary (~600 tokens);
    # the grammar leaves a handful of ways to open the object, renormalised among them.
    assert free.choices[0].logprobs.content[0].logprob < -4
    assert reply.choices[0].logprobs.content[0].logprob > -3


def test_openai_backend_stores_serves_logprobs_as_a_signal(server: str) -> None:
    from fieldwise.models import create_model
    from fieldwise.tasks import Example, load_task

    model = create_model("openai/tiny", load_task("isaf"), {"base_url": server, "max_tokens": 8})

    async def main() -> Any:
        try:
            return await model.generate([Example("a", PROMPTS[2])])
        finally:
            await model.aclose()

    (gen,) = asyncio.run(main())
    assert gen.signals is not None  # a loopback server is asked by default
    ends = gen.signals["tokens"]["end"]
    assert ends[-1] == len(gen.output) and len(ends) == gen.output_tokens
