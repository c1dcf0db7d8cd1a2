"""Special-token checks on a tiny real tokenizer, healthy and deliberately broken."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from fieldwise.errors import UserError
from fieldwise.finetune import checks
from fieldwise.finetune.encode import IGNORE, Encoded, encode_example
from fieldwise.tasks import Example, Task
from fieldwise.tasks.prompts import render_prompt_text


def _tokenizer(tiny_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_dir)


def _trl_collator(tokenizer: Any) -> Any:
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    return DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id)


@pytest.mark.parametrize("layout", ["chat_template", "template-free"])
def test_labels_cover_only_the_completion(
    tiny_dir: Path, mini_task: Task, examples: list[Example], layout: Any
) -> None:
    tok = _tokenizer(tiny_dir)
    enc = encode_example(tok, mini_task, examples[0], layout)
    assert 0 < enc.prompt_len < len(enc.input_ids) == len(enc.labels)
    assert all(label == IGNORE for label in enc.labels[: enc.prompt_len])
    completion = enc.labels[enc.prompt_len :]
    assert completion == enc.input_ids[enc.prompt_len :]
    assert completion[-1] == tok.eos_token_id and completion.count(tok.eos_token_id) == 1
    assert tok.decode(completion, skip_special_tokens=True).strip() == enc.target
    prompt = tok.decode(enc.input_ids[: enc.prompt_len])
    assert enc.target not in prompt and examples[0].text in prompt
    if layout == "template-free":
        assert prompt == render_prompt_text(enc.messages)
    results = checks.pre_checks(tok, [enc], _trl_collator(tok))
    assert all(r.ok for r in results), results


def test_show_example_marks_masked_and_trained_tokens(
    tiny_dir: Path, mini_task: Task, examples: list[Example]
) -> None:
    tok = _tokenizer(tiny_dir)
    enc = encode_example(tok, mini_task, examples[1], "chat_template")
    text = checks.show_example(tok, enc)
    assert f"{enc.prompt_len} prompt (label -100)" in text
    assert text.rstrip().endswith(f"{tok.eos_token_id}:'</s>'")


def test_missing_eos_stops_the_run_with_a_fix(tiny_dir: Path) -> None:
    tok = _tokenizer(tiny_dir)
    tok.eos_token = None
    results = checks.check_tokenizer(tok, "chat_template")
    assert [r.name for r in results if not r.ok] == ["eos_token"]
    with pytest.raises(UserError) as err:
        checks.raise_for(results)
    assert "tokenizer has no EOS token" in str(err.value)
    assert "pass eos_token in the config" in str(err.value)


def test_target_without_eos_is_caught(
    tiny_dir: Path, mini_task: Task, examples: list[Example]
) -> None:
    tok = _tokenizer(tiny_dir)
    enc = encode_example(tok, mini_task, examples[0], "chat_template")
    broken = Encoded(
        enc.example_id,
        enc.input_ids[:-1],
        enc.labels[:-1],
        enc.prompt_len,
        enc.messages,
        enc.target,
    )
    result = checks.check_eos_appended(tok, [enc, broken])
    assert not result.ok and "1 of 2 targets do not end with the EOS token" in result.message


def test_pad_equal_to_eos_is_caught_with_an_id_masking_collator(
    tiny_dir: Path, mini_task: Task, examples: list[Example]
) -> None:
    from transformers import DataCollatorForLanguageModeling

    tok = _tokenizer(tiny_dir)
    tok.pad_token = tok.eos_token
    encoded = [encode_example(tok, mini_task, ex, "chat_template") for ex in examples[:2]]
    # transformers' collator labels every PAD id -100: with PAD == EOS the EOS goes too
    hf_collator = DataCollatorForLanguageModeling(tok, mlm=False)
    masks_eos = checks.check_padding(
        tok, encoded, lambda rows: hf_collator([{"input_ids": r["input_ids"]} for r in rows])
    )
    assert not masks_eos.ok
    assert (
        "EOS ending each target is masked" in masks_eos.message
        and "PAD == EOS" in masks_eos.message
    )

    def unmasked(rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = max(len(r["input_ids"]) for r in rows)
        pad = [[tok.pad_token_id] * (width - len(r["labels"])) for r in rows]
        return {"labels": torch.tensor([r["labels"] + p for r, p in zip(rows, pad, strict=True)])}

    trains_padding = checks.check_padding(tok, encoded, unmasked)
    assert (
        not trains_padding.ok
        and "padding tokens are trained on (PAD == EOS)" in trains_padding.message
    )
    # the collator the fine-tuner uses masks padding by position, so PAD == EOS is safe
    assert checks.check_padding(tok, encoded, _trl_collator(tok)).ok


def test_chat_template_problems_are_caught(
    tiny_dir: Path, mini_task: Task, examples: list[Example]
) -> None:
    tok = _tokenizer(tiny_dir)
    drops_system = (
        "{% for m in messages %}{% if m['role'] != 'system' %}"
        "{{ '<|' + m['role'] + '|>\n' + m['content'] + '</s>\n' }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
    )
    tok.chat_template = drops_system
    enc = encode_example(tok, mini_task, examples[0], "chat_template")
    result = checks.check_round_trip(tok, [enc])
    assert not result.ok and "lost in render" in result.message
    tok.chat_template = None
    failed = [r for r in checks.check_tokenizer(tok, "chat_template") if not r.ok]
    assert failed and failed[0].message == "tokenizer has no chat template"
    assert "layout: template-free" in (failed[0].hint or "")
    assert all(r.ok for r in checks.check_tokenizer(tok, "template-free"))


def test_labels_covering_the_prompt_are_caught(
    tiny_dir: Path, mini_task: Task, examples: list[Example]
) -> None:
    tok = _tokenizer(tiny_dir)
    enc = encode_example(tok, mini_task, examples[0], "chat_template")
    leaky = Encoded(
        enc.example_id, enc.input_ids, list(enc.input_ids), enc.prompt_len, enc.messages, enc.target
    )
    result = checks.check_labels(tok, [leaky])
    assert not result.ok and "prompt tokens are trained on" in result.message


def test_post_check_reports_an_untrained_model(
    tiny_dir: Path, mini_task: Task, examples: list[Example]
) -> None:
    from transformers import AutoModelForCausalLM

    tok = _tokenizer(tiny_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    encoded = [encode_example(tok, mini_task, ex, "chat_template") for ex in examples[:2]]
    post = checks.post_check(model, tok, encoded, "chat_template", n=2)
    assert post.n == 2 and len(post.samples) == 2
    assert post.parsed == 0 and not post.ok  # random weights do not write JSON
    assert (
        f"{post.stopped}/2 generations stopped before {post.max_new_tokens} tokens" in post.message
    )
