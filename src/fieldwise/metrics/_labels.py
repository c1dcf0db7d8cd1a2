"""Label normalisation shared by the strict profile and the label audit.

The published ISAF labels contain spelling quirks (``"sar-e pul"``, ``"criminal"``,
``"aq;taliban"``). Normalising both gold and prediction the same way lets the strict
profile score what a model meant, and lets the audit tell a user which labels differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from fieldwise.tasks._task import FieldSpec

__all__ = ["LabelNormaliser", "normaliser", "split_label"]

_SQUASH = re.compile(r"[\s_\-]+")
_MEMO_LIMIT = 50_000


def split_label(value: str) -> list[str]:
    """Split one ``;``-joined label into stripped parts (empty parts kept)."""
    return [part.strip() for part in value.split(";")]


@dataclass(frozen=True)
class LabelNormaliser:
    """Maps a raw label to its canonical spelling for one field.

    Order: lowercase + strip, then the field's aliases, then a spelling that differs from
    an enum label only in spaces, hyphens or underscores (``"day kundi"`` → ``day_kundi``).
    Unknown labels pass through lowercased, so they simply fail to match.
    """

    labels: frozenset[str]
    aliases: dict[str, str]
    squashed: dict[str, str]
    memo: dict[Any, frozenset[str] | None] = field(default_factory=dict, compare=False)
    memo_one: dict[str, str] = field(default_factory=dict, compare=False)

    def one(self, value: str) -> str:
        label = " ".join(value.lower().split())
        label = self.aliases.get(label, label)
        if label in self.labels or not self.labels:
            return label
        return self.squashed.get(_SQUASH.sub("", label), label)

    def one_cached(self, value: Any) -> str | None:
        """:meth:`one` of a string, memoised across calls; ``None`` for a non-string."""
        if type(value) is not str:
            return None
        try:
            return self.memo_one[value]
        except KeyError:
            if len(self.memo_one) >= _MEMO_LIMIT:
                self.memo_one.clear()
            label = self.memo_one[value] = self.one(value)
            return label

    def many(self, value: Any) -> frozenset[str] | None:
        """A label set from a list or bare string; ``None`` when the shape is wrong.

        ``;``-joined strings are split and empty labels dropped, so ``[""]``, ``[]`` and
        ``"none"`` (an ISAF alias of ``""``) all mean "no label".
        """
        if type(value) is str:
            items: list[Any] = [value]
        elif type(value) is list:
            items = value
        else:
            return None
        out: set[str] = set()
        for item in items:
            if type(item) is not str:
                return None
            for part in item.split(";"):
                label = self.one(part)
                if label:
                    out.add(label)
        return frozenset(out)

    def many_cached(self, value: Any) -> frozenset[str] | None:
        """:meth:`many`, memoised across calls: models repeat the same few label lists."""
        key = tuple(value) if type(value) is list else value
        try:
            return self.memo[key]
        except KeyError:
            if len(self.memo) >= _MEMO_LIMIT:
                self.memo.clear()
            result = self.memo[key] = self.many(value)
            return result
        except TypeError:  # unhashable element (a nested list or object): wrong shape
            return None


@lru_cache(maxsize=256)
def _build(labels: tuple[str, ...], alias_items: tuple[tuple[str, str], ...]) -> LabelNormaliser:
    aliases = {" ".join(k.lower().split()): v for k, v in alias_items}
    squashed = {_SQUASH.sub("", label): label for label in labels if label}
    return LabelNormaliser(frozenset(labels), aliases, squashed)


def normaliser(spec: FieldSpec) -> LabelNormaliser:
    """The (cached) normaliser for a field, built from its labels and aliases."""
    return _build(tuple(spec.labels), tuple(sorted(spec.aliases.items())))
