"""The batch adapters' result parsing: a provider's odd line is that request's error (or a
request not run), never a crash."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from fieldwise.errors import UserError
from fieldwise.models import Generation, Model, create_model
from fieldwise.models.batch import batch_api_for, describe_error
from fieldwise.models.batch._anthropic import _generation
from fieldwise.models.batch._openai import parse_result_line
from fieldwise.tasks import Example, load_task


def test_openai_result_lines() -> None:
    body = {
        "choices": [{"message": {"content": '{"a": 1}'}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3},
    }
    ok = {"custom_id": "k1", "response": {"status_code": 200, "body": body}}
    key, gen = parse_result_line(json.dumps(ok).encode()) or ("", None)
    assert key == "k1" and gen is not None
    assert (gen.output, gen.input_tokens, gen.output_tokens, gen.finish_reason) == (
        '{"a": 1}', 7, 3, "length",
    )  # fmt: skip
    no_choices = {"custom_id": "k2", "response": {"status_code": 200, "body": {"choices": []}}}
    assert (
        "malformed" in (parse_result_line(json.dumps(no_choices).encode()) or ("", None))[1].error
    )  # type: ignore[union-attr,operator]
    refused = {"custom_id": "k3", "response": {"status_code": 400, "body": {"error": {
        "message": "too long", "type": "invalid_request_error"}}}}  # fmt: skip
    assert parse_result_line(json.dumps(refused).encode())[1].error == (  # type: ignore[index]
        "HTTP 400: invalid_request_error: too long"
    )
    expired = {"custom_id": "k4", "response": None, "error": {"code": "batch_expired",
                                                              "message": "expired"}}  # fmt: skip
    assert parse_result_line(json.dumps(expired).encode())[1].error == "batch_expired: expired"  # type: ignore[index]
    for junk in (b"not json", b"[1, 2]", b'{"custom_id": 5}', b""):
        assert parse_result_line(junk) is None


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
