"""Schema-constrained decoding for ``response_format`` with xgrammar (optional extra).

A ``json_schema`` response format is compiled once per schema into a token mask that the
model cannot step outside of, so a tiny or freshly fine-tuned model still returns JSON
that validates, in the compact layout fine-tunes are trained on
(:data:`~fieldwise.tasks.prompts.JSON_SEPARATORS`).

A schema is the client's input, and compiling one costs CPU and memory in proportion to
its size (an ``anyOf`` of 1,500 objects is seconds and tens of MB per schema on a real
vocabulary). So every schema is measured against :class:`SchemaLimits` before anything
compiles it (a 400 that names the limit), and compilation itself runs in the bounded
pool of ``serve/_compile.py``, never on a request thread or the generation thread.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from typing import Any

from fieldwise.tasks.prompts import JSON_SEPARATORS


class ConstraintError(ValueError):
    """The request asks for a format this server cannot enforce (becomes HTTP 400)."""


class SchemaLimitError(ConstraintError):
    """A schema over one of :class:`SchemaLimits` (``limit`` names which)."""

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(message)
        self.limit = limit


OPEN_OBJECT_COST = 50
OPEN_NAME_CHAR_COST = 30
"""Complexity of an object that admits undeclared properties: its base, plus this much per
character of its declared property names (xgrammar builds "any key but these" from
them). Measured with xgrammar 0.2.9 on a 32k-token vocabulary, a unit is about 1 ms of
compile time; a closed object's subschema costs 1. See docs/serving.md."""


@dataclass(frozen=True)
class SchemaLimits:
    """The largest ``response_format`` schema the server compiles (``docs/serving.md``).

    The defaults admit any extraction schema we have seen (the nested invoice test schema
    is under 2 kB and costs 37 units strict, 3,274 with open objects: 2.8 s to compile on
    a 32k vocabulary) and refuse what
    makes compiling expensive: sheer size, a high complexity estimate (objects that admit
    undeclared properties cost 30-100x a closed one), wide choices, deep nesting.
    """

    max_bytes: int = 64 * 1024
    """Size of the schema as compact JSON."""
    max_complexity: int = 10_000
    """Estimated compile cost: 1 per subschema and ``enum`` value, an open object more
    (:data:`OPEN_OBJECT_COST`); about 10 s of compiling on a 32k vocabulary."""
    max_branches: int = 256
    """Choices in any one ``anyOf``/``oneOf``/``allOf``/``enum``/``type`` list."""
    max_depth: int = 64
    """Nesting of JSON objects and lists (xgrammar recurses on it)."""

    def check(self, schema: Any, strict: bool = False) -> int:
        """Raise :class:`SchemaLimitError` naming the first limit ``schema`` exceeds;
        return its complexity. ``strict`` is the request's flag: xgrammar's strict mode
        closes objects that do not say ``additionalProperties``."""
        size = len(json.dumps(schema, separators=(",", ":"), ensure_ascii=False).encode())
        if size > self.max_bytes:
            raise SchemaLimitError(
                "max_schema_bytes",
                f"the response_format schema is {size:,} bytes; this server compiles "
                f"schemas up to {self.max_bytes:,} bytes (serve --max-schema-bytes)",
            )
        cost = 0
        stack: list[tuple[Any, int, str]] = [(schema, 1, "#")]
        while stack:
            value, depth, where = stack.pop()
            if depth > self.max_depth:
                raise SchemaLimitError(
                    "max_schema_depth",
                    f"the response_format schema nests deeper than {self.max_depth} levels "
                    f"(at {where})",
                )
            if isinstance(value, dict):
                self._check_branches(value, where)
                cost += _node_cost(value, strict)
                stack.extend((v, depth + 1, f"{where}/{k}") for k, v in value.items())
            elif isinstance(value, list):
                stack.extend((v, depth + 1, f"{where}/{i}") for i, v in enumerate(value))
            if cost > self.max_complexity:
                raise SchemaLimitError(
                    "max_schema_complexity",
                    f"the response_format schema's estimated compile cost is over "
                    f"{self.max_complexity:,} (objects that admit undeclared properties cost "
                    "most: set additionalProperties false or strict true); "
                    "serve --max-schema-complexity raises the limit",
                )
        return cost

    def _check_branches(self, node: dict[str, Any], where: str) -> None:
        for key in ("anyOf", "oneOf", "allOf", "enum", "type"):
            choices = node.get(key)
            if isinstance(choices, list) and len(choices) > self.max_branches:
                raise SchemaLimitError(
                    "max_schema_branches",
                    f"{where}/{key} of the response_format schema has {len(choices):,} "
                    f"choices; this server allows up to {self.max_branches:,} "
                    "(serve --max-schema-branches)",
                )


def _node_cost(node: dict[str, Any], strict: bool) -> int:
    """One subschema's share of :attr:`SchemaLimits.max_complexity`."""
    enum = node.get("enum")
    cost = 1 + (len(enum) if isinstance(enum, list) else 0)
    properties = node.get("properties")
    is_object = node.get("type") == "object" or isinstance(properties, dict)
    extra = node.get("additionalProperties", None if strict else True)
    if is_object and extra not in (None, False):
        names = properties if isinstance(properties, dict) else {}
        cost += OPEN_OBJECT_COST + OPEN_NAME_CHAR_COST * sum(len(str(k)) for k in names)
    return cost


def available() -> bool:
    return importlib.util.find_spec("xgrammar") is not None


def format_key(response_format: dict[str, Any]) -> str:
    """sha256 of the canonical response format: what compiled grammars are cached by."""
    text = json.dumps(response_format, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def json_schema_of(response_format: dict[str, Any]) -> tuple[dict[str, Any], bool] | None:
    """The schema and strict flag of a ``json_schema`` format (``None`` for
    ``json_object``); ConstraintError for any other shape."""
    kind = response_format.get("type")
    if kind == "json_object":
        return None
    if kind != "json_schema":
        raise ConstraintError(f"unsupported response_format type: {kind!r}")
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(spec, dict) or not isinstance(schema, dict):
        raise ConstraintError("response_format.json_schema.schema must be an object")
    return schema, bool(spec.get("strict", False))


class Constrainer:
    """Compiles response formats for one tokenizer (the engine masks each row with the
    grammar, see ``serve/_rows.py``). It keeps no cache: ``serve/_compile.py`` does,
    bounded in bytes, and xgrammar's own unbounded cache is switched off."""

    def __init__(self, tokenizer: Any, vocab_size: int) -> None:
        if not available():
            raise ConstraintError(
                "response_format needs schema-constrained decoding, which needs the "
                "'xgrammar' package on the server: pip install 'fieldwise[constrained]'"
            )
        import xgrammar as xgr

        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size)
        # One thread per compile: the pool's worker count is then the CPU a flood of
        # schemas can take (xgrammar's default is 8 threads each).
        self._compiler = xgr.GrammarCompiler(info, max_threads=1, cache_enabled=False)
        self._builtin: Any = None

    def compile(self, response_format: dict[str, Any]) -> Any:
        """The compiled grammar for a ``json_object`` or ``json_schema`` response format
        (uncached, on the calling thread: call it from the compile pool)."""
        found = json_schema_of(response_format)
        try:
            if found is None:
                if self._builtin is None:
                    self._builtin = self._compiler.compile_builtin_json_grammar()
                return self._builtin
            schema, strict = found
            return self._compiler.compile_json_schema(
                json.dumps(schema),
                any_whitespace=False,
                separators=JSON_SEPARATORS,
                strict_mode=strict,
            )
        except Exception as exc:  # xgrammar raises its own types for bad schemas
            raise ConstraintError(f"cannot compile response_format: {exc}") from exc
