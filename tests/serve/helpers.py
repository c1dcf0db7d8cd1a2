"""Prompts and small helpers shared by the serve tests."""

from __future__ import annotations

MAX_TOKENS = 12
PROMPTS = [
    "An Afghan and coalition security force detained several suspected insurgents.",
    "Coalition forces killed two insurgents in Kandahar province.",
    "A weapons cache was found near Kabul.",
    "Security forces arrested a Taliban leader in Helmand.",
]


def messages(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "Extract JSON."}, {"role": "user", "content": text}]
