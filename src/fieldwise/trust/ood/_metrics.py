"""How one model behaves on out-of-domain probes (the report's out-of-domain section).

On off-topic texts (no answer anywhere), over the cells probe x required field (fields whose
grounding is ``required``: their values are copied from the text, so on a text without an
answer any value there is made up; an ``optional`` field such as a count may rightly say
0. A task without required fields uses its optional ones):

- ``nonnull``: cells where the model gave a value at all;
- ``ungrounded``: cells where it gave a value the aligner cannot find in the text (both
  are hallucination rates: the first counts every answer, the second only invented ones);
- ``abstention``: probes where it gave no value in any of those fields (a JSON object of
  nulls, or a reply that is not JSON at all, such as a refusal).

On perturbed test texts, per target value: ``follows_removed`` (the removed value is no
longer given) and ``still_removed`` (it still is); ``follows_changed`` (the new value is
given) and ``stuck_changed`` (the old one still is). "Given" means the profile's leaf
metric gives the model's value for that field full credit against it (so, under the
strict profile, "Kandahar" gives ``kandahar``). ``validity`` is the share of all probes
answered with a JSON object. Every rate has a 95% bootstrap interval over probes (probes
made from one test row resample together).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fieldwise.scoring._profile import Profile
from fieldwise.scoring.parse import parse_status
from fieldwise.tasks._task import Task
from fieldwise.trust._align import Leaf, align_row, field_path, leaf_values
from fieldwise.trust._document import Document
from fieldwise.trust._rates import Rate, rate
from fieldwise.trust.grounding import value_correctness

if TYPE_CHECKING:
    from fieldwise.trust.ood import Probe

__all__ = ["OodResult", "Rate", "ood_metrics"]

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
RATES = (
    "validity",
    "nonnull",
    "ungrounded",
    "abstention",
    "follows_removed",
    "still_removed",
    "follows_changed",
    "stuck_changed",
)


@dataclass
class OodResult:
    """One model's out-of-domain rates (see the module), and probes per kind."""

    label: str
    probes: dict[str, int]
    rates: dict[str, Rate] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "probes": self.probes,
            **{name: r.to_json() for name, r in self.rates.items()},
        }


def ood_metrics(
    task: Task,
    probes: Sequence[Probe],
    outputs: Sequence[str | None],
    profile: Profile,
    label: str = "",
    seed: int = 0,
) -> OodResult:
    """One model's out-of-domain rates from its raw ``outputs`` (one per probe)."""
    fields = [s.path for s in task.leaves() if s.grounding_mode == "required"] or [
        s.path for s in task.leaves() if s.grounding_mode == "optional"
    ]
    rows: dict[str, list[tuple[float, float, str]]] = {name: [] for name in RATES}
    for probe, raw in zip(probes, outputs, strict=True):
        status, answer = parse_status(raw)
        answer = answer if status == "ok" else None  # as the report reads outputs
        group = probe.source or probe.id
        rows["validity"].append((float(status == "ok"), 1.0, group))
        leaves = leaf_values(task, answer)
        if probe.probe == "offtopic":
            evidence = align_row(task, Document(probe.text), answer) if leaves else {}
            given = {field_path(leaf.path) for leaf in leaves} & set(fields)
            invented = {field_path(p) for p, e in evidence.items() if not e.grounded}
            invented &= set(fields)
            rows["nonnull"].append((float(len(given)), float(len(fields)), group))
            rows["ungrounded"].append((float(len(invented)), float(len(fields)), group))
            rows["abstention"].append((float(not given), 1.0, group))
            continue
        for target in probe.targets:
            was = _gives(task, profile, leaves, target.field, target.path, target.was)
            if probe.probe == "removed":
                rows["follows_removed"].append((float(not was), 1.0, group))
                rows["still_removed"].append((float(was), 1.0, group))
            else:
                now = _gives(task, profile, leaves, target.field, target.path, target.now)
                rows["follows_changed"].append((float(now), 1.0, group))
                rows["stuck_changed"].append((float(was), 1.0, group))
    counts = {k: sum(1 for p in probes if p.probe == k) for k in ("offtopic", "removed", "changed")}
    rates = {
        name: rate([h for h, _, _ in r], [t for _, t, _ in r], [g for _, _, g in r], seed=seed)
        for name, r in rows.items()
    }
    return OodResult(label, counts, rates)


def _gives(
    task: Task, profile: Profile, leaves: list[Leaf], field: str, path: str, value: Any
) -> bool:
    """Whether one of the model's values of ``field`` gets full credit against ``value``."""
    mine = [leaf for leaf in leaves if field_path(leaf.path) == field]
    if not mine or value is None:
        return False
    ok = value_correctness(task, profile, [mine], [_gold_with(path, value)])
    return any(ok[0].values())


def _gold_with(path: str, value: Any) -> dict[str, Any]:
    """A gold object holding only ``value`` at ``path`` (indices collapse to one item)."""
    steps = [m.group(1) or int(m.group(2)) for m in _STEP.finditer(path)]
    node: Any = value
    for step in reversed(steps):
        node = [node] if isinstance(step, int) else {step: node}
    return node  # type: ignore[no-any-return]
