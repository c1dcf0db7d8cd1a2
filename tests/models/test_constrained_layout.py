"""The grammar's JSON layout is the training targets' layout (compact, no spaces).

A fine-tuned model writes the layout it was trained on; a grammar that demanded another
(xgrammar's default is ``", "`` and ``": "``) masks out the model's own next token at every
separator and pushes it off what it learned, so it rambles until ``max_tokens``. These tests
train a tiny model on compact targets and check that constraining it changes nothing, and
check both grammars (hf's and serve's) token by token against the two layouts.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from fieldwise.models import create_model
from fieldwise.models.hf import HFModel
from fieldwise.tasks import Example
from fieldwise.tasks.prompts import JSON_SEPARATORS, render_target
from tests.models.conftest import SMALL_TASK, TEXTS

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("xgrammar")

GOLDS = [
    {"event": "detention", "killq": False, "airstrike": False},
    {"event": "airstrike", "killq": True, "airstrike": True},
]
SHORT_TEMPLATE = (
    "{% block system %}Return JSON.{% endblock %}{% block user %}{{ text }}{% endblock %}"
)
"""Short prompts keep the training below a few seconds on a loaded 2-core machine."""


def _examples() -> list[Example]:
    return [Example(f"t{i}", TEXTS[i], GOLDS[i]) for i in range(2)]


def _train(out: Path, template: Path) -> Path:
    """A tiny model trained (full fine-tune, CPU) until it reproduces its compact targets,
    tokenised by the fine-tuner's own encoder, as ``fieldwise finetune`` would."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fieldwise.finetune.encode import encode_example
    from fieldwise.finetune.tiny import build_tiny_model
    from fieldwise.tasks.prompts import load_template

    rows = _examples()
    targets = [render_target(SMALL_TASK, ex.gold or {}) for ex in rows]
    build_tiny_model(out, TEXTS + targets, vocab_size=300, hidden_size=32, num_layers=1)
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    prompt = load_template(str(template))
    encoded = [encode_example(tokenizer, SMALL_TASK, ex, "chat_template", prompt) for ex in rows]
    width = max(len(e.input_ids) for e in encoded)
    pad = [width - len(e.input_ids) for e in encoded]
    ids = torch.tensor([e.input_ids + [0] * n for e, n in zip(encoded, pad, strict=True)])
    labels = torch.tensor([e.labels + [-100] * n for e, n in zip(encoded, pad, strict=True)])
    mask = (labels != -100) | (ids != 0)
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(300):
        loss = model(input_ids=ids, attention_mask=mask.long(), labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if float(loss.detach()) < 0.005:
            break
    model.save_pretrained(out, safe_serialization=True)
    return out


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "short.jinja"
    path.write_text(SHORT_TEMPLATE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory: pytest.TempPathFactory, template: Path) -> Path:
    return _train(tmp_path_factory.mktemp("compact") / "model", template)


def _hf(path: Path, template: Path, **options: Any) -> HFModel:
    opts = {"max_tokens": 40, "template": str(template), **options}
    model = create_model(f"hf/{path}", SMALL_TASK, opts)
    assert isinstance(model, HFModel)
    return model


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_model_trained_on_compact_targets_stays_valid_when_constrained(
    trained_dir: Path, template: Path
) -> None:
    rows = [Example(ex.id, ex.text) for ex in _examples()]
    targets = [render_target(SMALL_TASK, ex.gold or {}) for ex in _examples()]
    free = asyncio.run(_hf(trained_dir, template).generate(rows))
    assert [g.output for g in free] == targets  # it learned its targets, compact
    constrained = asyncio.run(_hf(trained_dir, template, constrained=True).generate(rows))
    for gen, target in zip(constrained, targets, strict=True):
        assert gen.finish_reason == "stop"
        assert gen.output == target
        SMALL_TASK.output_model.model_validate_json(gen.output)


def _complete(grammar: Any, text: str) -> bool:
    """Whether the compiled grammar accepts ``text`` as a whole output."""
    import xgrammar as xgr

    matcher = xgr.GrammarMatcher(grammar, terminate_without_stop_token=True)
    return bool(matcher.accept_string(text)) and bool(matcher.is_terminated())


@pytest.mark.parametrize("which", ["hf", "serve"])
def test_grammar_accepts_exactly_the_compact_layout(tiny_model_dir: Path, which: str) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    schema = SMALL_TASK.json_schema()
    if which == "hf":
        from fieldwise.models.constrained import SchemaConstraint

        grammar = SchemaConstraint(tokenizer, len(tokenizer), schema).grammar
    else:
        from fieldwise.serve._constrain import Constrainer

        fmt = {"type": "json_schema", "json_schema": {"name": "s", "schema": schema}}
        grammar = Constrainer(tokenizer, len(tokenizer)).compile(fmt)
    for gold in GOLDS:
        assert _complete(grammar, json.dumps(gold, separators=JSON_SEPARATORS))
        assert not _complete(grammar, json.dumps(gold))  # the spaced default layout
        assert not _complete(grammar, json.dumps(gold, indent=2))
    assert not _complete(grammar, '{"event":"detention"}')  # still the task's shape
