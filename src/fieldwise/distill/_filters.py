"""Which teacher labels are good enough to train on: one small class per filter.

A filter sees every label source for a row (each teacher, each of its k samples) and
keeps or drops the row. Filters run in the order given, each on the rows the previous
ones kept, so the counts of dropped rows add up: ``rows = kept + sum(dropped)``.

Built in:

- ``valid``: the primary teacher's first answer loads as a gold label of the task (JSON
  object, every scored field present, values of the declared types). Always applied
  first: an answer that is not a label cannot be trained on.
- ``agree``: every source gives the same label on every scored field (scored by the
  field's own metric, so ``["a", "b"]`` agrees with ``["b", "a"]``). Needs two or more
  sources: several ``--teacher``, or ``--samples K``.
- ``confidence``: the trust signals of ``fieldwise.trust``: every value the teacher gave
  for a field whose task declares grounding ``required`` must be found in the text
  (an evidence span). Errors when this build has no ``fieldwise.trust``.

A new filter is one subclass registered in :data:`fieldwise.registry.label_filters`
(``fieldwise.label_filters`` entry points for other packages).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from fieldwise import registry
from fieldwise.errors import UserError
from fieldwise.tasks import Example, Task

__all__ = ["LabelFilter", "LabelSet", "apply_filters", "get_filter"]


@dataclass
class LabelSet:
    """The rows to label and every source's answer for them.

    ``raw[s][i]`` is source s's raw output for row i; ``golds[s][i]`` the same answer
    loaded as a gold label, ``None`` when it does not load. Source 0 is the primary
    teacher's first sample: its label is the one a kept row trains with."""

    task: Task
    examples: list[Example]
    sources: list[str]
    raw: list[list[str | None]]
    golds: list[list[dict[str, Any] | None]]

    def labelled(self, rows: np.ndarray) -> list[Example]:
        """The examples of ``rows`` carrying the primary teacher's label."""
        out = []
        for i in np.flatnonzero(rows):
            gold = self.golds[0][i]
            assert gold is not None, "a kept row always has a valid label"
            ex = self.examples[i]
            out.append(Example(ex.id, ex.text, gold, ex.group))
        return out


class LabelFilter(ABC):
    """Keeps the rows whose labels pass; ``name`` is its ``--filter`` name."""

    name: ClassVar[str]
    ablatable: ClassVar[bool] = True
    """Whether a student can be trained without this filter (to measure its effect)."""

    def check(self, labels: LabelSet) -> None:  # noqa: B027 - optional
        """Refuse, before anything is trained, a filter that cannot apply here."""

    @abstractmethod
    def keep(self, labels: LabelSet, rows: np.ndarray) -> np.ndarray:
        """A boolean mask over all rows: True where the row passes (``rows``: the rows
        still in play, so a filter may skip work on the others)."""


class ValidFilter(LabelFilter):
    name: ClassVar[str] = "valid"
    ablatable: ClassVar[bool] = False

    def keep(self, labels: LabelSet, rows: np.ndarray) -> np.ndarray:
        return np.array([g is not None for g in labels.golds[0]], dtype=bool)


class AgreeFilter(LabelFilter):
    name: ClassVar[str] = "agree"

    def check(self, labels: LabelSet) -> None:
        if len(labels.sources) < 2:
            raise UserError(
                "--filter agree needs two label sources",
                hint="give a second --teacher, or --samples K (with temperature > 0)",
            )

    def keep(self, labels: LabelSet, rows: np.ndarray) -> np.ndarray:
        from fieldwise.scoring import prepare_golds, score_outputs

        keep = rows.copy()
        idx = np.flatnonzero(rows)
        reference = [labels.golds[0][i] or {} for i in idx]
        table = prepare_golds(labels.task, reference)
        for raw in labels.raw[1:]:
            scores = score_outputs(
                labels.task, table, [raw[i] for i in idx], ("reference",), n_boot=0
            )
            per_row = scores["reference"].per_row
            agree = np.all(np.nan_to_num(per_row, nan=0.0) >= 1.0, axis=1)
            keep[idx[~agree]] = False
        return keep


class ConfidenceFilter(LabelFilter):
    name: ClassVar[str] = "confidence"

    def check(self, labels: LabelSet) -> None:
        _trust()

    def keep(self, labels: LabelSet, rows: np.ndarray) -> np.ndarray:
        trust = _trust()
        required = {
            spec.path
            for spec in labels.task.walk()
            if getattr(spec, "grounding_mode", None) == "required"
        }
        keep = rows.copy()
        for i in np.flatnonzero(rows):
            gold = labels.golds[0][i]
            evidence = trust.align_row(labels.task, labels.examples[i].text, gold)
            for path, ev in evidence.items():
                leaf = trust.field_path(path)
                if (leaf in required or leaf.rstrip("[]") in required) and not ev.grounded:
                    keep[i] = False
                    break
        return keep


def _trust() -> Any:
    try:
        import fieldwise.trust as trust
    except ModuleNotFoundError:
        raise UserError(
            "--filter confidence needs the trust signals (fieldwise.trust), which this "
            "build does not have",
            hint="use --filter valid,agree",
        ) from None
    return trust


registry.label_filters.configure(check=LabelFilter)
registry.label_filters.register("valid", ValidFilter)
registry.label_filters.register("agree", AgreeFilter)
registry.label_filters.register("confidence", ConfidenceFilter)


def get_filter(name: str) -> LabelFilter:
    cls: type[LabelFilter] = registry.label_filters.get(name)
    return cls()


def parse_filters(text: str | None) -> list[str]:
    """``valid,agree`` into names (``valid`` first, always), each checked to exist."""
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    ordered = ["valid", *[n for n in dict.fromkeys(names) if n != "valid"]]
    for name in ordered:
        registry.label_filters.get(name)  # one error for an unknown name
    return ordered


def apply_filters(
    labels: LabelSet, names: list[str], skip: str | None = None
) -> tuple[np.ndarray, dict[str, int]]:
    """Run the filters in order (all but ``skip``); the kept rows and, per filter, how
    many rows it dropped that the ones before it had kept."""
    rows = np.ones(len(labels.examples), dtype=bool)
    dropped: dict[str, int] = {}
    for name in names:
        if name == skip:
            continue
        passed = get_filter(name).keep(labels, rows) & rows
        dropped[name] = int(rows.sum() - passed.sum())
        rows = passed
    return rows, dropped
