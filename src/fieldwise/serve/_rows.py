"""Each request's own ending inside a shared ``generate`` call, and its text as it grows.

``generate`` runs a batch until its longest row ends. A stopping criterion sees every
step's new tokens, so each row here stops at its own EOS, ``max_tokens``, stop string,
deadline or cancellation (the client went away), and the batch ends as soon as all have.
Text is decoded incrementally over a short window of tokens (linear in the output length)
and handed to a listener, which is how ``stream: true`` gets tokens as they are made.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from fieldwise.serve._types import Completion, CompletionRequest


class RowControl:
    """What the HTTP side shares with one running request."""

    def __init__(self, on_text: Callable[[str], None] | None = None) -> None:
        self.cancelled = threading.Event()
        self.on_text = on_text  # called on the generation thread with each new piece of text


class Row:
    """One request's tokens, text and finish reason during a batched ``generate``."""

    def __init__(
        self,
        request: CompletionRequest,
        tokenizer: Any,
        eos_ids: set[int],
        control: RowControl | None,
        deadline: float,
    ) -> None:
        self.request = request
        self.control = control or RowControl()
        self.tokenizer = tokenizer
        self.eos_ids = eos_ids
        self.deadline = deadline
        self.tokens: list[int] = []
        self.finish: str | None = None  # "stop", "length", "timeout" or "cancelled"
        self.text = ""  # decoded so far (only when someone needs text before the end)
        self.sent = 0  # characters of ``text`` handed to ``on_text``
        self._incremental = self.control.on_text is not None or bool(request.stop)
        self._prefix = self._read = 0  # detokenizer window: tokens[_prefix:_read] are decoded
        self._hold = max((len(s) for s in request.stop), default=1) - 1

    @property
    def done(self) -> bool:
        return self.finish is not None

    def push(self, token: int, now: float) -> None:
        if self.done:
            return
        if self.control.cancelled.is_set():
            self.finish = "cancelled"
            return
        if token in self.eos_ids:
            self.finish = "stop"
            return
        self.tokens.append(token)
        if self._incremental:
            self._decode_step()
        if self.finish is None and len(self.tokens) >= self.request.max_tokens:
            self.finish = "length"
        if self.finish is None and now >= self.deadline:
            self.finish = "timeout"
        if self.control.on_text is not None:
            self._emit()

    def _decode_step(self) -> None:
        """Append the text of the newest tokens, once they decode to whole characters."""
        decode = self.tokenizer.decode
        before = decode(self.tokens[self._prefix : self._read], skip_special_tokens=True)
        after = decode(self.tokens[self._prefix :], skip_special_tokens=True)
        if len(after) <= len(before) or after.endswith("\ufffd"):
            return  # a partial UTF-8 sequence: wait for the next token
        start = len(self.text)
        self.text += after[len(before) :]
        self._prefix, self._read = self._read, len(self.tokens)
        for stop in self.request.stop:
            cut = self.text.find(stop, max(0, start - len(stop) + 1))
            if cut >= 0:
                self.text, self.finish = self.text[:cut], "stop"

    def _emit(self) -> None:
        """Hand on new text, holding back a tail that may turn out to start a stop string."""
        end = len(self.text) if self.done or not self.request.stop else self._safe_end()
        if end > self.sent:
            self._send(self.text[self.sent : end])
            self.sent = end

    def _safe_end(self) -> int:
        """Where streamed text may end: before any suffix that is a prefix of a stop string."""
        text = self.text
        for size in range(min(self._hold, len(text) - self.sent), 0, -1):
            tail = text[len(text) - size :]
            if any(stop.startswith(tail) for stop in self.request.stop):
                return len(text) - size
        return len(text)

    def _send(self, piece: str) -> None:
        assert self.control.on_text is not None
        try:
            self.control.on_text(piece)
        except Exception:  # the listener is gone (server shutting down): stop this row
            self.control.cancelled.set()

    def complete(self, n_prompt: int) -> Completion:
        """The final text (decoded in one go, as unbatched generation would) and counts."""
        finish = self.finish or "length"
        text = str(self.tokenizer.decode(self.tokens, skip_special_tokens=True))
        for stop in self.request.stop:
            cut = text.find(stop)
            if cut >= 0:
                text, finish = text[:cut], "stop"
        if self.control.on_text is not None and text.startswith(self.text[: self.sent]):
            if len(text) > self.sent:
                self._send(text[self.sent :])
            self.sent = len(text)
        reason = "length" if finish == "timeout" else finish
        return Completion(text, n_prompt, len(self.tokens), reason, timed_out=finish == "timeout")


def stopping_criterion(rows: list[Row]) -> Any:
    """A transformers ``StoppingCriteria`` that feeds each step's tokens to ``rows``."""
    import torch
    from transformers import StoppingCriteria

    class _RowsDone(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            now = time.monotonic()
            for row, token in zip(rows, input_ids[:, -1].tolist(), strict=True):
                row.push(int(token), now)
            return torch.tensor([r.done for r in rows], dtype=torch.bool, device=input_ids.device)

    return _RowsDone()


def grammar_processor(grammar: Any, rows: list[Row]) -> Any:
    """A logits processor masking each live row to its grammar, one matcher per row.

    xgrammar's bundled processor assumes every row runs until its grammar ends; here a row
    can stop early (its own ``max_tokens``, a deadline, a cancelled client), after which
    ``generate`` feeds it padding that no grammar accepts, so finished rows are skipped.
    """
    import xgrammar as xgr
    from transformers import LogitsProcessor

    vocab = grammar.tokenizer_info.vocab_size

    class _GrammarMask(LogitsProcessor):
        def __init__(self) -> None:
            self.matchers = [xgr.GrammarMatcher(grammar) for _ in rows]
            self.mask = xgr.allocate_token_bitmask(len(rows), vocab)
            self.first = True

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            last = input_ids[:, -1].tolist()
            for i, (row, matcher) in enumerate(zip(rows, self.matchers, strict=True)):
                if row.done or matcher.is_terminated():
                    self.mask[i].fill_(-1)  # anything: the row's output is already final
                    continue
                if not self.first and not matcher.accept_token(int(last[i])):
                    row.finish = row.finish or "stop"
                    self.mask[i].fill_(-1)
                    continue
                matcher.fill_next_token_bitmask(self.mask, i)
            self.first = False
            if scores.device.type in ("cpu", "cuda"):  # what xgrammar's kernels run on
                xgr.apply_token_bitmask_inplace(scores, self.mask.to(scores.device))
                return scores
            on_cpu = scores.to("cpu")
            xgr.apply_token_bitmask_inplace(on_cpu, self.mask)
            return on_cpu.to(scores.device)

    return _GrammarMask()
