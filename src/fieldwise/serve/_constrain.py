"""Schema-constrained decoding for ``response_format`` with xgrammar (optional extra).

A ``json_schema`` response format is compiled once per schema into a token mask that the
model cannot step outside of, so a tiny or freshly fine-tuned model still returns JSON
that validates, in the compact layout fine-tunes are trained on
(:data:`~fieldwise.tasks.prompts.JSON_SEPARATORS`). Compilation happens when the request
arrives (a bad schema is the client's 400, not a failed batch); the batch reuses the
cached grammar.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections import OrderedDict
from typing import Any

from fieldwise.tasks.prompts import JSON_SEPARATORS


class ConstraintError(ValueError):
    """The request asks for a format this server cannot enforce (becomes HTTP 400)."""


def available() -> bool:
    return importlib.util.find_spec("xgrammar") is not None


class Constrainer:
    """Compiles response formats for one tokenizer, caching the grammars (the engine masks
    each row with them, see ``serve/_rows.py``)."""

    def __init__(self, tokenizer: Any, vocab_size: int, cache_size: int = 64) -> None:
        if not available():
            raise ConstraintError(
                "response_format needs schema-constrained decoding, which needs the "
                "'xgrammar' package on the server: pip install 'fieldwise[constrained]'"
            )
        import xgrammar as xgr

        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size)
        self._compiler = xgr.GrammarCompiler(info)
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def compile(self, response_format: dict[str, Any]) -> Any:
        """The compiled grammar for a ``json_object`` or ``json_schema`` response format."""
        key = json.dumps(response_format, sort_keys=True)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        kind = response_format.get("type")
        try:
            if kind == "json_object":
                grammar = self._compiler.compile_builtin_json_grammar()
            elif kind == "json_schema":
                spec = response_format.get("json_schema")
                schema = spec.get("schema") if isinstance(spec, dict) else None
                if not isinstance(schema, dict):
                    raise ConstraintError("response_format.json_schema.schema must be an object")
                strict = bool(spec.get("strict", False)) if isinstance(spec, dict) else False
                grammar = self._compiler.compile_json_schema(
                    json.dumps(schema),
                    any_whitespace=False,
                    separators=JSON_SEPARATORS,
                    strict_mode=strict,
                )
            else:
                raise ConstraintError(f"unsupported response_format type: {kind!r}")
        except ConstraintError:
            raise
        except Exception as exc:  # xgrammar raises its own types for bad schemas
            raise ConstraintError(f"cannot compile response_format: {exc}") from exc
        with self._lock:
            self._cache[key] = grammar
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return grammar
