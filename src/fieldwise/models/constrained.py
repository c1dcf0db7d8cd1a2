"""Schema-constrained decoding for local transformers models, with xgrammar.

The task's Pydantic JSON schema is compiled once per model into a grammar over the
tokenizer's vocabulary; at every step a logits processor masks the tokens that would
leave the grammar, so the output is JSON of the task's shape whatever the weights say
(provided it ends before ``max_tokens``), laid out compactly as fine-tuning targets are
(:data:`~fieldwise.tasks.prompts.JSON_SEPARATORS`). That makes a small or freshly
fine-tuned model comparable on content rather than on JSON syntax.

xgrammar's processors hold per-row matcher state and are single-use, so
:meth:`SchemaConstraint.processor` hands out a fresh one for every ``generate`` call.
"""

from __future__ import annotations

import importlib.util
import json
import time
from typing import Any

from fieldwise.errors import UserError
from fieldwise.tasks.prompts import JSON_SEPARATORS


def require_xgrammar() -> None:
    """Raise the install hint when constrained decoding is asked for without xgrammar."""
    if importlib.util.find_spec("xgrammar") is None:
        raise UserError(
            "constrained=true needs the 'xgrammar' package",
            hint="pip install 'fieldwise[constrained]'",
        )


class SchemaConstraint:
    """A JSON schema compiled for one tokenizer; hands out fresh logits processors.

    ``mask_seconds`` accumulates the time spent inside the processors (grammar matching
    and masking), which is the constrained-decoding overhead the benchmark reports.
    """

    def __init__(self, tokenizer: Any, vocab_size: int, schema: dict[str, Any]) -> None:
        require_xgrammar()
        import xgrammar as xgr

        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size)
        try:
            self.grammar = xgr.GrammarCompiler(info).compile_json_schema(
                json.dumps(schema),
                any_whitespace=False,
                separators=JSON_SEPARATORS,
                strict_mode=True,
            )
        except Exception as exc:  # xgrammar raises its own error types for bad schemas
            raise UserError(f"cannot compile the task's JSON schema into a grammar: {exc}") from exc
        self.mask_seconds = 0.0
        self.mask_calls = 0

    def processor(self) -> Any:
        """A fresh, timed logits processor for one ``generate`` call."""
        from xgrammar.contrib.hf import LogitsProcessor

        constraint = self

        class _Timed(LogitsProcessor):  # type: ignore[misc]
            def __call__(self, input_ids: Any, scores: Any) -> Any:
                start = time.perf_counter()
                try:
                    return super().__call__(input_ids, scores)
                finally:
                    constraint.mask_seconds += time.perf_counter() - start
                    constraint.mask_calls += 1

        return _Timed(self.grammar)
