"""Token log-probabilities from the hf backend: the recorded numbers are the model's own
(checked against a forward pass over prompt + output), the token ends rebuild the output,
and collecting them changes neither the output nor the cache key."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from fieldwise.models import create_model
from fieldwise.models.hf import HFModel
from tests.models.conftest import SMALL_TASK, examples

pytest.importorskip("torch")
pytest.importorskip("transformers")


def hf(path: Path, **options: Any) -> HFModel:
    model = create_model(f"hf/{path}", SMALL_TASK, options)
    assert isinstance(model, HFModel)
    return model


@pytest.mark.slow
def test_logprobs_are_the_models_own(tiny_model_dir: Path) -> None:
    import torch

    model = hf(tiny_model_dir, max_tokens=12, batch_size=3)
    rows = examples(3)
    gens = asyncio.run(model.generate(rows))
    tok, net = model._tokenizer, model._model
    for ex, gen in zip(rows, gens, strict=True):
        assert gen.output is not None and gen.signals is not None
        logprobs = gen.signals["tokens"]["logprob"]
        # An independent forward pass over the unpadded prompt and the output's tokens
        # (the greedy output re-tokenises to the tokens generated).
        ids = tok(model.prompt_text(ex), add_special_tokens=False).input_ids
        out_ids = tok(gen.output, add_special_tokens=False).input_ids
        assert len(out_ids) == len(logprobs) == gen.output_tokens
        with torch.inference_mode():
            logits = net(torch.tensor([ids + out_ids])).logits[0].float()
        expected = torch.log_softmax(logits, dim=-1)
        want = [expected[len(ids) - 1 + k, t].item() for k, t in enumerate(out_ids)]
        assert logprobs == pytest.approx(want, abs=2e-3)


@pytest.mark.slow
def test_token_ends_rebuild_sampled_outputs(tiny_model_dir: Path) -> None:
    """Sampled outputs hold varied tokens, some of them half a UTF-8 character."""
    model = hf(tiny_model_dir, max_tokens=12, batch_size=3, temperature=1.0, seed=3)
    for gen in asyncio.run(model.generate(examples(3))):
        assert gen.output is not None and gen.signals is not None
        ends = gen.signals["tokens"]["end"]
        assert len(ends) == gen.output_tokens == len(gen.signals["tokens"]["logprob"])
        assert ends == sorted(ends) and ends[-1] == len(gen.output)


@pytest.mark.slow
def test_collecting_logprobs_changes_no_output_and_no_key(tiny_model_dir: Path) -> None:
    on = hf(tiny_model_dir, max_tokens=10)
    off = hf(tiny_model_dir, max_tokens=10, logprobs=False)
    rows = examples(4)
    with_lp = asyncio.run(on.generate(rows))
    without = asyncio.run(off.generate(rows))
    assert [g.output for g in with_lp] == [g.output for g in without]
    assert all(g.signals for g in with_lp) and not any(g.signals for g in without)
    assert on.identity() == off.identity()


@pytest.mark.slow
def test_constrained_logprobs_are_those_after_the_mask(tiny_model_dir: Path) -> None:
    pytest.importorskip("xgrammar")
    model = hf(tiny_model_dir, max_tokens=40, constrained=True)
    (gen,) = asyncio.run(model.generate(examples(1)))
    assert gen.signals is not None
    # Under the mask the first token must be "{"-ish and near-certain for a random model:
    # its probability is renormalised over the few tokens the schema allows.
    first = gen.signals["tokens"]["logprob"][0]
    assert first > -3.0
