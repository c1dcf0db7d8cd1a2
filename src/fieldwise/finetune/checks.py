"""Special-token checks run before and after a fine-tune.

Most silent fine-tuning failures are token bookkeeping: no EOS at the end of the target
(the model never learns to stop), PAD equal to EOS with a collator that masks every PAD
id (so EOS is masked too) or that trains on padding, a chat template that loses text, or
labels that cover the prompt. Each is cheap to detect on the tokenised examples, so the
run stops before training with a message saying what is wrong and how to fix it.

After training, a few greedy generations show whether the model stops and emits JSON.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fieldwise.errors import UserError
from fieldwise.finetune.encode import IGNORE, Encoded, Layout, prompt_ids


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    message: str = ""
    hint: str | None = None


def _fail(name: str, message: str, hint: str | None = None) -> CheckResult:
    return CheckResult(name, False, message, hint)


def _squash(text: str) -> str:
    return " ".join(text.split())


def check_tokenizer(tokenizer: Any, layout: Layout) -> list[CheckResult]:
    """Checks that need no examples: an EOS token exists, a chat template exists."""
    results: list[CheckResult] = []
    eos, eos_id = tokenizer.eos_token, tokenizer.eos_token_id
    if eos is None or eos_id is None:
        results.append(
            _fail(
                "eos_token",
                "tokenizer has no EOS token",
                "set tokenizer.eos_token or pass eos_token in the config",
            )
        )
    elif tokenizer.unk_token_id is not None and eos_id == tokenizer.unk_token_id:
        results.append(
            _fail(
                "eos_token",
                f"EOS token {eos!r} is not in the tokenizer's vocabulary",
                "pass an eos_token that the tokenizer knows as one token",
            )
        )
    else:
        results.append(CheckResult("eos_token", True))
    if layout == "chat_template" and not getattr(tokenizer, "chat_template", None):
        results.append(
            _fail(
                "chat_template",
                "tokenizer has no chat template",
                "set layout: template-free, or pass chat_template in the config",
            )
        )
    return results


def check_eos_appended(tokenizer: Any, encoded: Sequence[Encoded]) -> CheckResult:
    """Every target's last trained token is EOS."""
    eos_id = tokenizer.eos_token_id
    bad = [e.example_id for e in encoded if not e.labels or e.labels[-1] != eos_id]
    if bad:
        return _fail(
            "eos_appended",
            f"{len(bad)} of {len(encoded)} targets do not end with the EOS token "
            f"(first: {bad[0]}); the model would never learn to stop",
            "make sure the tokenizer's eos_token is a single special token",
        )
    return CheckResult("eos_appended", True)


def check_round_trip(tokenizer: Any, encoded: Sequence[Encoded]) -> CheckResult:
    """render → tokenize → decode keeps every message and the target (up to whitespace)."""
    for enc in encoded:
        decoded = _squash(tokenizer.decode(enc.input_ids, skip_special_tokens=False))
        for text in [m["content"] for m in enc.messages] + [enc.target]:
            if _squash(text) not in decoded:
                return _fail(
                    "round_trip",
                    f"example {enc.example_id}: text is lost in render → tokenize → decode "
                    f"(missing {text[:60]!r})",
                    "check the chat template and that the tokenizer covers the text's characters",
                )
    return CheckResult("round_trip", True)


def check_labels(tokenizer: Any, encoded: Sequence[Encoded]) -> CheckResult:
    """Labels are -100 on the prompt and equal to the input ids on the completion only."""
    for enc in encoded:
        prompt, completion = enc.labels[: enc.prompt_len], enc.labels[enc.prompt_len :]
        problem = ""
        if any(label != IGNORE for label in prompt):
            problem = "prompt tokens are trained on"
        elif not completion or completion != enc.input_ids[enc.prompt_len :]:
            problem = "completion tokens are masked or differ from the inputs"
        elif enc.target not in tokenizer.decode(completion, skip_special_tokens=True):
            problem = "the trained tokens do not contain the target"
        if problem:
            return _fail(
                "labels",
                f"example {enc.example_id}: {problem}",
                "labels must cover exactly the completion",
            )
    return CheckResult("labels", True)


def check_padding(
    tokenizer: Any, encoded: Sequence[Encoded], collator: Callable[[list[dict[str, Any]]], Any]
) -> CheckResult:
    """Collate a long and a short sequence: padding must be masked, the final EOS must not.

    This is where PAD == EOS bites: a collator that masks labels by token id also masks
    the EOS; one that does not mask padding at all trains the model on runs of EOS.
    """
    if not encoded:
        return CheckResult("padding", True)
    long = encoded[0]
    cut = min(4, long.prompt_len)
    short = {"input_ids": long.input_ids[cut:], "labels": long.labels[cut:]}
    batch = collator([long.as_row(), short])
    labels = batch["labels"].tolist()
    n_short = len(short["input_ids"])
    same = tokenizer.pad_token_id == tokenizer.eos_token_id
    note = " (PAD == EOS)" if same else ""
    hint = "set pad_token in the config to a token distinct from EOS"
    if any(label != IGNORE for label in labels[1][n_short:]):
        return _fail("padding", f"padding tokens are trained on{note}", hint)
    if labels[0][len(long.input_ids) - 1] == IGNORE or labels[1][n_short - 1] == IGNORE:
        return _fail("padding", f"the EOS ending each target is masked in the labels{note}", hint)
    return CheckResult("padding", True)


def pre_checks(
    tokenizer: Any, encoded: Sequence[Encoded], collator: Callable[[list[dict[str, Any]]], Any]
) -> list[CheckResult]:
    """All example-level checks (run :func:`check_tokenizer` first, before encoding)."""
    return [
        check_eos_appended(tokenizer, encoded),
        check_labels(tokenizer, encoded),
        check_round_trip(tokenizer, encoded),
        check_padding(tokenizer, encoded, collator),
    ]


def raise_for(results: Sequence[CheckResult]) -> None:
    """Stop the run on the first failed check, saying how many others failed."""
    failed = [r for r in results if not r.ok]
    if not failed:
        return
    first = failed[0]
    more = f" (and {len(failed) - 1} more failed check(s))" if len(failed) > 1 else ""
    raise UserError(f"fine-tuning check '{first.name}' failed: {first.message}{more}", first.hint)


def show_example(tokenizer: Any, enc: Encoded, prompt_tail: int = 12) -> str:
    """One tokenised example in compact text: the end of the masked prompt, then the
    trained tokens, each as ``id:token``."""

    def render(ids: Sequence[int]) -> str:
        return " ".join(f"{i}:{tokenizer.convert_ids_to_tokens(i)!r}" for i in ids)

    trained = enc.input_ids[enc.prompt_len :]
    tail = enc.input_ids[max(0, enc.prompt_len - prompt_tail) : enc.prompt_len]
    return (
        f"example {enc.example_id}: {len(enc.input_ids)} tokens = {enc.prompt_len} prompt "
        f"(label -100) + {len(trained)} completion (trained)\n"
        f"  masked, last {len(tail)}: {render(tail)}\n"
        f"  trained: {render(trained)}"
    )


@dataclass
class PostCheck:
    """Greedy generations on training prompts after training."""

    n: int = 0
    stopped: int = 0
    parsed: int = 0
    exact: int = 0
    max_new_tokens: int = 0
    samples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.n == 0 or (self.stopped == self.n and self.parsed == self.n)

    @property
    def message(self) -> str:
        return (
            f"{self.stopped}/{self.n} generations stopped before {self.max_new_tokens} tokens, "
            f"{self.parsed}/{self.n} parse as a JSON object, {self.exact}/{self.n} match the target"
        )


def post_check(
    model: Any, tokenizer: Any, encoded: Sequence[Encoded], layout: Layout, n: int = 3
) -> PostCheck:
    """Generate greedily for ``n`` training prompts; count stops and parseable JSON."""
    import torch

    chosen = list(encoded[:n])
    if not chosen:
        return PostCheck()
    longest = max(len(e.input_ids) - e.prompt_len for e in chosen)
    result = PostCheck(n=len(chosen), max_new_tokens=int(longest * 1.5) + 8)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for enc in chosen:
            ids = torch.tensor([prompt_ids(tokenizer, enc.messages, layout)], device=device)
            out = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=result.max_new_tokens,
                do_sample=False,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
            )
            new = out[0, ids.shape[1] :].tolist()
            text = tokenizer.decode(new, skip_special_tokens=True).strip()
            result.stopped += tokenizer.eos_token_id in new
            result.exact += text == enc.target
            with contextlib.suppress(ValueError):
                result.parsed += isinstance(json.loads(text), dict)
            result.samples.append(text[:200])
    if was_training:
        model.train()
    return result
