"""Token log-probabilities from a transformers ``generate`` call, for the local backends
(``hf``) and the server (``fieldwise serve``).

``output_scores=True`` would keep a (rows x vocabulary) tensor per generated token until
the call ends: with a 150,000-token vocabulary, 8 rows and 500 tokens that is 2.4 GB.
:func:`logprob_recorder` instead keeps one step's log-softmax at a time and, when the
next step shows which token was chosen, only that token's log-probability. It runs after
a schema constraint's mask (so the probability is the constrained model's) and before
temperature, top-p and top-k (it is the model's own distribution, not the sampler's).

torch and transformers are imported only when a recorder is made.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fieldwise.models._signals import ends_by_prefix, ends_from_pieces, token_signals

__all__ = ["logprob_recorder", "signals_for_tokens"]


def logprob_recorder() -> Any:
    """A ``LogitsProcessor`` that records each row's chosen-token log-probabilities;
    call ``.finish(sequences)`` after ``generate`` for a (rows, steps) list of lists."""
    import torch
    from transformers import LogitsProcessor

    class _Recorder(LogitsProcessor):
        def __init__(self) -> None:
            self.steps: list[Any] = []
            self._last: Any = None

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            if self._last is not None:
                self.steps.append(self._last.gather(1, input_ids[:, -1:]).squeeze(1))
            self._last = torch.log_softmax(scores.float(), dim=-1)
            return scores

        def finish(self, sequences: Any) -> list[list[float]]:
            """Per row, the log-probability of every generated token (padding included:
            the caller keeps the tokens it keeps)."""
            if self._last is not None:
                self.steps.append(self._last.gather(1, sequences[:, -1:]).squeeze(1))
                self._last = None
            if not self.steps:
                return [[] for _ in range(int(sequences.shape[0]))]
            table: list[list[float]] = torch.stack(self.steps, dim=1).cpu().tolist()
            return table

    return _Recorder()


def signals_for_tokens(
    tokenizer: Any, ids: Sequence[int], logprobs: Sequence[float], output: str
) -> dict[str, Any] | None:
    """The ``tokens`` signal of one output: its token ends (each token decoded alone when
    that rebuilds the text, else by prefixes) and their log-probabilities."""
    ids = list(ids)
    if len(ids) != len(logprobs):
        return None
    pieces = tokenizer.batch_decode([[t] for t in ids], skip_special_tokens=True)
    ends = ends_from_pieces(pieces, output)
    if ends is None:
        decode: Callable[[list[int]], str] = lambda p: tokenizer.decode(  # noqa: E731
            p, skip_special_tokens=True
        )
        ends = ends_by_prefix(decode, ids, output)
    return token_signals(ends, logprobs)
