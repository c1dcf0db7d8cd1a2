"""One base model with any number of LoRA adapters, generating for a batch of requests.

All adapters stay loaded in one peft model; a batch runs with one adapter active (or with
adapters disabled for the base model), so switching costs nothing and memory holds the
base weights once. Prompts are left-padded so every row's continuation starts at the same
position, which lets one ``generate`` call serve the whole batch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import threading
from pathlib import Path
from typing import Any

from fieldwise.errors import UserError, require
from fieldwise.models._local import check_adapter_folder, require_model_folder
from fieldwise.models._logprobs import logprob_recorder, signals_for_tokens
from fieldwise.serve._constrain import Constrainer
from fieldwise.serve._rows import Row, RowControl, grammar_processor, stopping_criterion
from fieldwise.serve._types import Completion, CompletionRequest
from fieldwise.tasks.prompts import render_prompt_text

__all__ = ["Completion", "CompletionRequest", "Engine"]

log = logging.getLogger(__name__)


_ADAPTER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-:/]{0,127}")


def check_adapter_name(name: str) -> None:
    """Adapter names are model names in URLs and keys in peft's module tree: letters,
    digits and ``_ - : /`` only (peft refuses a ``.``, and ``..`` would read as a path)."""
    if not _ADAPTER_NAME.fullmatch(name):
        raise UserError(
            f"bad adapter name '{name}'",
            hint="use letters, digits and _ - : / (no dots or spaces): --adapter NAME=DIR",
        )


class Engine:
    """Loads the base model and adapters once; :meth:`generate` runs one batched call."""

    def __init__(
        self,
        base_model: str,
        adapters: dict[str, str] | None = None,
        *,
        base_name: str | None = None,
        device: str | None = None,
        tokenizer: str | None = None,
    ) -> None:
        require("torch", "hf")
        require("transformers", "hf")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        adapters = dict(adapters or {})
        self.base_model = base_model
        self.base_name = base_name or Path(base_model.rstrip("/")).name or base_model
        if self.base_name in adapters:
            raise UserError(f"adapter name '{self.base_name}' clashes with the base model name")
        for name, path in adapters.items():
            check_adapter_name(name)
            check_adapter_folder(path, f"adapter '{name}': ")
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        require_model_folder(base_model)
        try:
            tok: Any = AutoTokenizer.from_pretrained(tokenizer or base_model)
            model: Any = AutoModelForCausalLM.from_pretrained(base_model, dtype=dtype)
        except OSError as exc:
            raise UserError(f"cannot load base model {base_model}: {exc}") from exc
        tok.padding_side = "left"
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        self.tokenizer = tok
        self.adapters = adapters
        self._warn_on_tokenizer_mismatch()
        if adapters:
            require("peft", "hf")
            from peft import PeftModel

            first, *rest = adapters.items()
            model = PeftModel.from_pretrained(model, first[1], adapter_name=first[0])
            for name, path in rest:
                model.load_adapter(path, adapter_name=name)
        self.model = model.to(self.device).eval()
        self._lock = threading.Lock()
        self._constrainer: Constrainer | None = None
        self._constrainer_lock = threading.Lock()

    def constrainer(self) -> Constrainer:
        """The schema compiler, created on first use; ConstraintError without xgrammar.
        Compiling is the caller's cost: the app compiles in its pool (``serve/_compile``)."""
        with self._constrainer_lock:
            if self._constrainer is None:
                vocab = int(self.model.config.vocab_size)
                self._constrainer = Constrainer(self.tokenizer, vocab)
            return self._constrainer

    def _warn_on_tokenizer_mismatch(self) -> None:
        """Adapters saved with their own chat template are served with the shared one."""
        ours = getattr(self.tokenizer, "chat_template", None)
        for name, path in self.adapters.items():
            config = Path(path) / "tokenizer_config.json"
            if not config.is_file():
                continue
            try:
                theirs = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
            except (OSError, json.JSONDecodeError):
                continue
            template_file = Path(path) / "chat_template.jinja"
            if theirs is None and template_file.is_file():
                theirs = template_file.read_text(encoding="utf-8")
            if theirs and ours and theirs.strip() != str(ours).strip():
                log.warning(
                    "adapter %s was saved with a different chat template; serving it with "
                    "the shared tokenizer (pass tokenizer=%s if it should win)",
                    name,
                    path,
                )

    @property
    def names(self) -> list[str]:
        """Model names clients may ask for: the base first, then the adapters."""
        return [self.base_name, *self.adapters]

    def resolve(self, name: str) -> str | None:
        """The adapter for a requested model name (``None`` = base); KeyError if unknown."""
        if name in (self.base_name, self.base_model):
            return None
        if name in self.adapters:
            return name
        raise KeyError(name)

    def prompt(self, messages: list[dict[str, str]]) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, tokenize=False
            )
            return str(text)
        return render_prompt_text(messages)

    @property
    def context_length(self) -> int | None:
        """Prompt plus completion tokens the model can attend to (None if it does not say)."""
        config = self.model.config
        for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
            value = getattr(config, key, None)
            if isinstance(value, int) and value > 0:
                return value
        return None

    def prompt_length(self, messages: list[dict[str, str]]) -> int:
        """Tokens the rendered prompt takes, counted as :meth:`generate` will encode it."""
        templated = bool(getattr(self.tokenizer, "chat_template", None))
        ids = self.tokenizer(self.prompt(messages), add_special_tokens=not templated)["input_ids"]
        return len(ids)

    def generate(
        self,
        requests: list[CompletionRequest],
        controls: list[RowControl | None] | None = None,
        deadline: float = math.inf,
    ) -> list[Completion]:
        """Run requests that share a :meth:`CompletionRequest.group_key` as one batch.

        ``controls`` (one per request) stream text and cancel rows; rows still running
        at ``deadline`` (``time.monotonic()``) end with finish reason ``length``.
        """
        import torch
        from transformers import LogitsProcessorList, StoppingCriteriaList

        head = requests[0]
        adapter = self.resolve(head.model)
        # Chat templates carry their own BOS; plain prompts get the tokenizer's, as in training.
        templated = bool(getattr(self.tokenizer, "chat_template", None))
        enc = self.tokenizer(
            [self.prompt(r.messages) for r in requests],
            return_tensors="pt",
            padding=True,
            add_special_tokens=not templated,
        ).to(self.device)
        eos = self.tokenizer.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos])
        rows = [
            Row(r, self.tokenizer, eos_ids, c, deadline)
            for r, c in zip(requests, controls or [None] * len(requests), strict=True)
        ]
        kwargs: dict[str, Any] = {
            "max_new_tokens": max(r.max_tokens for r in requests),
            "pad_token_id": self.tokenizer.pad_token_id,
            "eos_token_id": self.tokenizer.eos_token_id,
            "stopping_criteria": StoppingCriteriaList([stopping_criterion(rows)]),
        }
        if head.temperature > 0:
            kwargs.update(do_sample=True, temperature=head.temperature, top_p=head.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        processors = []
        if head.response_format is not None:
            grammar = head.grammar or self.constrainer().compile(head.response_format)
            processors.append(grammar_processor(grammar, rows))
        recorder = logprob_recorder() if any(r.logprobs for r in requests) else None
        if recorder is not None:
            processors.append(recorder)  # after the grammar's mask
        if processors:
            kwargs["logits_processor"] = LogitsProcessorList(processors)
        with self._lock, torch.inference_mode():
            if adapter is None:
                ctx = self.model.disable_adapter() if self.adapters else contextlib.nullcontext()
            else:
                self.model.set_adapter(adapter)
                ctx = contextlib.nullcontext()
            with ctx:
                out = self.model.generate(**enc, **kwargs)
        prompt_lengths = enc["attention_mask"].sum(dim=1).tolist()
        done = [row.complete(int(n)) for row, n in zip(rows, prompt_lengths, strict=True)]
        if recorder is not None:
            table = recorder.finish(out)
            for i, (row, completion) in enumerate(zip(rows, done, strict=True)):
                if row.request.logprobs:
                    completion.logprobs = self._token_logprobs(row, table[i], completion.text)
        return done

    def _token_logprobs(
        self, row: Row, logprobs: list[float], text: str
    ) -> list[tuple[str, float]]:
        """Each kept token's piece of ``text`` (so the pieces rebuild it exactly, a stop
        string's cut included) and its log-probability."""
        signals = signals_for_tokens(self.tokenizer, row.tokens, logprobs[: len(row.tokens)], text)
        if signals is None:
            return []
        ends, values = signals["tokens"]["end"], signals["tokens"]["logprob"]
        starts = [0, *ends[:-1]]
        return [(text[s:e], lp) for s, e, lp in zip(starts, ends, values, strict=True)]
