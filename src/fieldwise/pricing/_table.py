"""The shipped, dated price table (``prices.json``) and how a model spec finds its row.

A spec finds its host from its provider (``anthropic/``, ``together/``, ``fireworks/``)
or, for ``openai/`` (any OpenAI-compatible server), from its base URL: api.openai.com is
OpenAI, api.together.xyz is Together, api.fireworks.ai is Fireworks, anything else is a
server the user runs, which has no list price (price it by the hour in the config).
Names match exactly first, then without a snapshot date (``claude-3-5-haiku-20241022``
finds ``claude-3-5-haiku``; ``gpt-4o-2024-05-13`` keeps its own, dearer row) and without
``-latest``. OpenAI fine-tunes (``ft:gpt-4o-mini-2024-07-18:org::id``) find the host's
fine-tuned rate (``ft:gpt-4o-mini``).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from fieldwise.pricing._price import Price

TABLE_PATH = Path(__file__).with_name("prices.json")
_DATE = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")
_HOSTS_BY_DOMAIN = {
    "api.openai.com": "openai",
    "api.anthropic.com": "anthropic",
    "api.together.xyz": "together",
    "api.together.ai": "together",
    "api.fireworks.ai": "fireworks",
}
_PROVIDER_HOSTS = {"anthropic": "anthropic", "together": "together", "fireworks": "fireworks"}


@dataclass(frozen=True)
class PriceTable:
    """The table's date and, per host, its rows (``Price`` objects keyed by lower-cased
    model name, aliases included)."""

    as_of: str
    hosts: dict[str, dict[str, Price]]
    names: dict[str, str]
    sources: dict[str, str]
    prefixes: dict[str, str]
    listing: list[tuple[str, str, Price]]
    """(host, model as the host spells it, price) per row, aliases left out."""

    def find(self, host: str, name: str) -> Price | None:
        """The row of ``name`` on ``host`` (see the module docstring for matching)."""
        rows = self.hosts.get(host)
        if rows is None:
            return None
        prefix = self.prefixes.get(host, "")
        for candidate in _candidates(name, prefix):
            price = rows.get(candidate)
            if price is not None:
                return price
        return None

    def rows(self) -> list[tuple[str, str, Price]]:
        """(host, model, price) for every row, aliases left out, for listings."""
        return list(self.listing)


def _candidates(name: str, prefix: str) -> list[str]:
    name = name.strip().lower()
    if prefix and name.startswith(prefix):
        name = name[len(prefix) :]
    out = [name]
    if name.startswith("ft:"):
        base = name[3:].split(":", 1)[0]
        out += [f"ft:{c}" for c in _candidates(base, "")]
        return out
    stripped = name.removesuffix("-latest")
    stripped = _DATE.sub("", stripped)
    if stripped != name:
        out.append(stripped)
    return out


@lru_cache(maxsize=1)
def price_table() -> PriceTable:
    """The shipped table, read once."""
    data = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    return parse_table(data)


def parse_table(data: dict[str, Any]) -> PriceTable:
    as_of = str(data["as_of"])
    hosts: dict[str, dict[str, Price]] = {}
    names, sources, prefixes = {}, {}, {}
    listing: list[tuple[str, str, Price]] = []
    for host, spec in data["hosts"].items():
        names[host] = str(spec.get("name", host))
        sources[host] = str(spec.get("source", ""))
        prefixes[host] = str(spec.get("prefix", "")).lower()
        discount = spec.get("batch_discount")
        rows: dict[str, Price] = {}
        for model, row in spec["models"].items():
            price = Price(
                input_per_mtok=float(row["input"]),
                output_per_mtok=float(row["output"]),
                cached_input_per_mtok=_maybe(row.get("cached_input")),
                batch_discount=_maybe(row.get("batch_discount", discount)),
                source="table",
                as_of=as_of,
                verified=str(row.get("verified", "unverified")),
                note=str(row.get("note", "")),
            )
            listing.append((host, model, price))
            for key in [model, *row.get("aliases", [])]:
                rows[key.lower()] = price
        hosts[host] = rows
    return PriceTable(as_of, hosts, names, sources, prefixes, listing)


def _maybe(value: Any) -> float | None:
    return None if value is None else float(value)


def host_of(provider: str, base_url: str | None = None) -> str | None:
    """The price-table host serving ``provider``'s models (``None``: no list price, a
    server the user runs). ``base_url`` matters for ``openai/`` specs only; without it
    the ``OPENAI_BASE_URL`` the backend would use decides, as it does for the backend."""
    if provider in _PROVIDER_HOSTS:
        return _PROVIDER_HOSTS[provider]
    if provider != "openai":
        return None
    url = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
    domain = (urlparse(url).hostname or "").lower()
    return _HOSTS_BY_DOMAIN.get(domain)


def table_price(spec: str, base_url: str | None = None) -> Price | None:
    """The shipped table's price of a ``provider/name`` spec, or ``None`` (unknown)."""
    provider, _, name = spec.partition("/")
    host = host_of(provider, base_url)
    if host is None or not name:
        return None
    return price_table().find(host, name)
