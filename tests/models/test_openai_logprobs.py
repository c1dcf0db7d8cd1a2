"""Log-probabilities from OpenAI-compatible servers: asked for where they are free,
mapped onto the output text by the tokens' bytes (a character may be split over tokens),
and never trusted when the tokens do not rebuild the output."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fieldwise.models import Generation, create_model
from fieldwise.models.openai_backend import logprob_signals
from fieldwise.tasks import Example, load_task
from tests.fakes.openai_server import FakeServer
from tests.fakes.openai_server import fake_openai as fake_openai  # noqa: F401 - fixture

DOC = Example("e1", "On 3 May 2011 coalition forces detained two insurgents in Kandahar.")
REPLY = '{"name": "Zürich 😀 raid", "min_killed": 2}'


def _generate(server: FakeServer, **options: Any) -> tuple[Generation, dict[str, Any]]:
    model = create_model("openai/m", load_task("isaf"), {"base_url": server.url, **options})

    async def main() -> Generation:
        try:
            return (await model.generate([DOC]))[0]
        finally:
            await model.aclose()

    gen = asyncio.run(main())
    body = server.log[-1].body
    assert body is not None
    return gen, body


@pytest.mark.parametrize("transport", ["auto", "sdk"])
def test_local_server_gets_asked_and_bytes_place_every_token(
    fake_openai: FakeServer, transport: str
) -> None:
    fake_openai.behaviour.reply = lambda text: REPLY
    fake_openai.behaviour.token_logprob = lambda c, at, token: -0.5 if b"2" in token else -0.01
    gen, body = _generate(fake_openai, transport=transport)
    assert body["logprobs"] is True  # a loopback server: on by default
    assert gen.output == REPLY and gen.signals is not None
    ends, logprobs = gen.signals["tokens"]["end"], gen.signals["tokens"]["logprob"]
    data = REPLY.encode()
    assert len(ends) == len(logprobs) == -(-len(data) // 3)
    assert ends[-1] == len(REPLY) and ends == sorted(ends)
    # Every character is in the token holding its first byte.
    starts = [0, *ends[:-1]]
    for j in range(len(REPLY)):
        k = len(REPLY[:j].encode()) // 3
        assert starts[k] <= j < ends[k], (j, REPLY[j], k)
    # The digit tokens carry the low probability the server gave them.
    digits = [k for k, t in enumerate(data[i : i + 3] for i in range(0, len(data), 3)) if b"2" in t]
    assert [logprobs[k] for k in digits] == [-0.5] * len(digits)


def test_off_by_option_and_in_tools_mode(fake_openai: FakeServer) -> None:
    fake_openai.behaviour.reply = lambda text: REPLY
    gen, body = _generate(fake_openai, logprobs=False)
    assert "logprobs" not in body and gen.signals is None
    gen, body = _generate(fake_openai, output_mode="tools")
    assert "logprobs" not in body and gen.signals is None


def test_remote_hosts_are_not_asked_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-000000000000000000000")
    model = create_model("openai/gpt-x", load_task("isaf"), {})
    assert "logprobs" not in model.request(DOC)  # type: ignore[attr-defined]
    model = create_model("openai/gpt-x", load_task("isaf"), {"logprobs": True})
    assert model.request(DOC)["logprobs"] is True  # type: ignore[attr-defined]
    assert model.identity() == create_model("openai/gpt-x", load_task("isaf"), {}).identity()


def test_tokens_that_do_not_rebuild_the_output_are_dropped() -> None:
    content = [{"token": "{}", "logprob": -0.1, "bytes": list(b"{}")}]
    assert logprob_signals({"content": content}, "{}") is not None
    assert logprob_signals({"content": content}, '{"a": 1}') is None  # tool arguments
    assert logprob_signals({"content": [{"token": 3, "logprob": -1}]}, "3") is None
    assert logprob_signals(None, "{}") is None
    # Without bytes, the token texts must rebuild the output.
    plain = [{"token": "{", "logprob": -0.1}, {"token": "}", "logprob": -0.2}]
    assert logprob_signals({"content": plain}, "{}") == {
        "tokens": {"end": [1, 2], "logprob": [-0.1, -0.2]}
    }
