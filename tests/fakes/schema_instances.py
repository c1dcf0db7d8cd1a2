"""Random JSON instances of a JSON schema: what a schema-constrained model may write.

A fake server that answers with these behaves like a provider enforcing the schema it
was sent, so a test can check that *anything* the sent schema allows also validates
against the task's Pydantic model (the promise of strict mode and xgrammar). Covers
the subset Pydantic emits: ``$ref``/``$defs``, ``anyOf``, objects, arrays, enums,
``const``, scalar types with ``minimum``/``maximum``/``minItems``/``maxItems``, dates.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any


def instance(schema: dict[str, Any], rng: random.Random, *, null_rate: float = 0.3) -> Any:
    """One random value that ``schema`` accepts (optional properties dropped at random)."""
    defs = schema.get("$defs", {})

    def gen(node: dict[str, Any], depth: int) -> Any:
        if "$ref" in node:
            return gen(defs[str(node["$ref"]).rsplit("/", 1)[-1]], depth)
        if "anyOf" in node:
            options = node["anyOf"]
            nulls = [o for o in options if o.get("type") == "null"]
            if nulls and rng.random() < null_rate:
                return None
            rest = [o for o in options if o.get("type") != "null"] or options
            return gen(rng.choice(rest), depth)
        if "const" in node:
            return node["const"]
        if "enum" in node:
            return rng.choice(node["enum"])
        kind = node.get("type")
        if isinstance(kind, list):
            kind = rng.choice(kind)
        if kind == "object":
            required = set(node.get("required", []))
            return {
                k: gen(v, depth + 1)
                for k, v in node.get("properties", {}).items()
                if k in required or rng.random() < 0.5
            }
        if kind == "array":
            lo = int(node.get("minItems", 0))
            hi = int(node.get("maxItems", lo + 3)) if depth < 6 else lo  # recursive models end
            return [gen(node.get("items", {}), depth + 1) for _ in range(rng.randint(lo, hi))]
        if kind == "string":
            if node.get("format") == "date":
                return (dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(2000))).isoformat()
            return rng.choice(["", "x", "Acme Ltd", "ünïcode ✓", "a\nb"])
        if kind == "integer":
            lo = int(node.get("minimum", -5))
            return rng.randint(lo, int(node.get("maximum", lo + 50)))
        if kind == "number":
            lo = float(node.get("minimum", -5.0))
            return round(rng.uniform(lo, float(node.get("maximum", lo + 500.0))), 2)
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "null":
            return None
        raise ValueError(f"schema node not covered by the generator: {node}")

    return gen(schema, 0)


def walk_objects(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Every object node of a schema (``$defs`` included), for checks at every level."""
    found: list[dict[str, Any]] = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" or "properties" in node:
                found.append(node)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema)
    return found
