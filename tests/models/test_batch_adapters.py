"""The batch adapters' result parsing: a provider's odd line is that request's error (or a
request not run), never a crash."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from fieldwise.errors import UserError
from fieldwise.models import Generation, Model, create_model
from fieldwise.models.batch import batch_api_for, describe_error, parse_result_lines
from fieldwise.models.batch._anthropic import _generation
from fieldwise.models.batch._openai import parse_result
from fieldwise.tasks import Example, load_task


def _lines(*items: object) -> bytes:
    return b"".join((x if isinstance(x, bytes) else json.dumps(x).encode()) + b"\n" for x in items)


def test_openai_result_lines() -> None:
    body = {
        "choices": [{"message": {"content": '{"a": 1}'}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3},
    }
    ok = {"custom_id": "k1", "response": {"status_code": 200, "body": body}}
    no_choices = {"custom_id": "k2", "response": {"status_code": 200, "body": {"choices": []}}}
    refused = {"custom_id": "k3", "response": {"status_code": 400, "body": {"error": {
        "message": "too long", "type": "invalid_request_error"}}}}  # fmt: skip
    expired = {"custom_id": "k4", "response": None, "error": {"code": "batch_expired",
                                                              "message": "expired"}}  # fmt: skip
    cut = json.dumps({"custom_id": "k5", "response": {"status_code": 200, "body": body}})[:60]
    junk = [b"not json", b"[1, 2]", b'{"custom_id": 5}', b"", b'{"custom_id": "k6", "resp']
    found = parse_result_lines(
        _lines(ok, no_choices, refused, expired, cut.encode(), *junk), parse_result
    )
    gen = found["k1"]
    assert (gen.output, gen.input_tokens, gen.output_tokens, gen.finish_reason) == (
        '{"a": 1}', 7, 3, "length",
    )  # fmt: skip
    assert "malformed" in (found["k2"].error or "")
    assert found["k3"].error == "HTTP 400: invalid_request_error: too long"
    assert found["k4"].error == "batch_expired: expired"
    # A line cut short is the error of the request it names; lines naming none are skipped.
    assert "malformed result line" in (found["k5"].error or "")
    assert "malformed result line" in (found["k6"].error or "")
    assert set(found) == {"k1", "k2", "k3", "k4", "k5", "k6"}


def test_anthropic_results() -> None:
    message = SimpleNamespace(
        content=[SimpleNamespace(type="text", text="hi")],
        usage=SimpleNamespace(input_tokens=4, output_tokens=1),
        stop_reason="end_turn",
    )
    gen = _generation(SimpleNamespace(type="succeeded", message=message))
    assert (gen.output, gen.input_tokens, gen.finish_reason, gen.error) == (
        "hi",
        4,
        "end_turn",
        None,
    )
    assert "malformed" in (_generation(SimpleNamespace(type="succeeded", message=None)).error or "")
    assert "expired" in (_generation(SimpleNamespace(type="expired")).error or "")
    assert "cancelled" in (_generation(SimpleNamespace(type="canceled")).error or "")
    assert "unknown result type" in (_generation(SimpleNamespace(type="odd")).error or "")


def test_describe_error_handles_nesting_and_odd_shapes() -> None:
    assert describe_error({"type": "error", "error": {"type": "x", "message": "m"}}) == "x: m"
    assert describe_error({"message": "only"}) == "only"
    assert describe_error(None) == "None"


def test_a_request_line_is_the_online_request() -> None:
    task = load_task("isaf")
    ex = Example("e1", "[doc-1] Forces detained two.")
    model = create_model("openai/m", task, {"base_url": "http://127.0.0.1:1/v1",
                                            "extra_body": {"top_k": 3}})  # fmt: skip
    line = json.loads(batch_api_for(model).encode("key", ex))
    want = model.request(ex)  # type: ignore[attr-defined]
    want.update(want.pop("extra_body"))
    assert line == {"custom_id": "key", "method": "POST", "url": "/v1/chat/completions",
                    "body": want}  # fmt: skip


class _OnlineOnly(Model):
    provider = "online"

    async def generate(self, batch: list[Example]) -> list[Generation]:
        return [Generation("{}") for _ in batch]


def test_a_backend_without_a_batch_api_says_so() -> None:
    with pytest.raises(UserError, match="provider 'online' has no batch API"):
        batch_api_for(_OnlineOnly("m", load_task("isaf")))
