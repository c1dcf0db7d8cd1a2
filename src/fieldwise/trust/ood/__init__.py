"""Out-of-domain probes: texts that hold no answer, and test texts edited so the answer
must change. ``fieldwise data ood`` writes them; ``ood:`` in a project config (or
``fieldwise run --ood FILE``) runs every model on them and adds the out-of-domain section
to the report (``docs/trust.md``).

Three kinds of probe, one JSONL line each (``{"id", "text", "probe", ...}``):

- ``offtopic``: one of the texts shipped in ``offtopic.jsonl`` (written for fieldwise, in
  thirteen genres: recipes, weather, reviews, sports, gardening, science, travel, letters,
  how-tos, fiction, poems, nature, history), none of which holds an extraction answer. Its
  ``genre`` is kept.
- ``removed``: a test text without the sentences that write one required value (``source``
  names the test row; ``targets``: ``[{"path", "field", "was", "now": null}]``).
- ``changed``: a test text in which one required value is rewritten as another value of
  its field, with ``targets`` (``now``: the new value) and the expected changed ``gold``.

Python API::

    from fieldwise.trust.ood import build_probes, load_probes, ood_metrics, write_probes
"""

from __future__ import annotations

import contextlib
import json
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fieldwise.errors import UserError
from fieldwise.tasks._task import Example, Task
from fieldwise.trust.ood._metrics import OodResult, Rate, ood_metrics
from fieldwise.trust.ood._perturb import Target, candidates, change_value, remove_value

__all__ = [
    "OFFTOPIC",
    "OodResult",
    "OodRun",
    "Probe",
    "Rate",
    "Target",
    "build_probes",
    "load_probes",
    "offtopic_texts",
    "ood_metrics",
    "probe_examples",
    "write_probes",
]

OFFTOPIC = Path(__file__).with_name("offtopic.jsonl")
POOL_ROWS = 2000
"""Rows whose values are drawn on to rewrite a value (enough variety, bounded time)."""
ProbeKind = Literal["offtopic", "removed", "changed"]
KINDS: tuple[ProbeKind, ...] = ("offtopic", "removed", "changed")


@dataclass
class Probe:
    """One out-of-domain probe (see the module for the kinds and the line format)."""

    id: str
    text: str
    probe: ProbeKind
    genre: str | None = None
    source: str | None = None
    targets: list[Target] = field(default_factory=list)
    gold: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "text": self.text, "probe": self.probe}
        if self.genre is not None:
            out["genre"] = self.genre
        if self.source is not None:
            out["source"] = self.source
        if self.targets:
            out["targets"] = [t.to_json() for t in self.targets]
        if self.gold is not None:
            out["gold"] = self.gold
        return out


@dataclass
class OodRun:
    """Probes and each model's raw outputs on them, row by row (what a run hands the
    report; its out-of-domain section computes :func:`ood_metrics` from it)."""

    probes: list[Probe]
    outputs: dict[str, list[str | None]]
    source: str = ""


def offtopic_texts() -> list[dict[str, str]]:
    """The shipped off-topic texts: ``{"id", "genre", "text"}`` each."""
    with OFFTOPIC.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def build_probes(
    task: Task, examples: Sequence[Example], *, perturbed: int = 50, seed: int = 0
) -> list[Probe]:
    """Every off-topic text, then up to ``perturbed`` removed and ``perturbed`` changed
    probes from the labelled ``examples`` (drawn in a seeded order, one of each per row
    at most, each edit verified by the aligner)."""
    probes = [
        Probe(f"ood-{t['id']}", t["text"], "offtopic", genre=t["genre"]) for t in offtopic_texts()
    ]
    rng = random.Random(seed)
    labelled = [ex for ex in examples if ex.gold is not None]
    rng.shuffle(labelled)
    pool: dict[str, list[Any]] = {}  # other rows' values, for rewriting names and the like
    for ex in labelled[:POOL_ROWS]:
        for leaf in candidates(task, ex):
            pool.setdefault(leaf.spec.path, []).append(leaf.value)
    made = {"removed": 0, "changed": 0}
    for ex in labelled:
        if min(made.values()) >= perturbed:
            break
        leaves = candidates(task, ex)
        rng.shuffle(leaves)
        for kind in ("removed", "changed"):
            if made[kind] >= perturbed:
                continue
            for leaf in leaves[:4]:
                edit = (
                    remove_value(ex, leaf)
                    if kind == "removed"
                    else change_value(task, ex, leaf, pool, rng)
                )
                if edit is not None:
                    probes.append(
                        Probe(
                            f"ood-{kind}-{ex.id}",
                            edit.text,
                            kind,  # type: ignore[arg-type]
                            source=ex.id,
                            targets=[edit.target],
                            gold=edit.gold,
                        )
                    )
                    made[kind] += 1
                    break
    return probes


def write_probes(path: Path, probes: Sequence[Probe]) -> None:
    """``probes`` as JSONL at ``path``, whole or not at all (written beside it, then
    renamed); a path that cannot be written is a :class:`UserError`."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("w", encoding="utf-8") as fh:
            for p in probes:
                fh.write(json.dumps(p.to_json(), ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


def load_probes(path: Path) -> list[Probe]:
    """Probes from a file ``fieldwise data ood`` wrote; a malformed line is a one-line
    error naming it."""
    if not path.is_file():
        raise UserError(
            f"out-of-domain probes not found: {path}",
            hint="make them with fieldwise data ood --task T --data D --out FILE",
        )
    probes: list[Probe] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                probe = _probe(line, f"{path}:{n}")
                if probe.id in seen:
                    raise UserError(f"{path}:{n}: probe id '{probe.id}' appears twice")
                seen.add(probe.id)
                probes.append(probe)
    if not probes:
        raise UserError(f"{path} holds no probes")
    return probes


def _probe(line: str, where: str) -> Probe:
    from fieldwise.data.loading import parse_json

    row = parse_json(line, where)
    if not isinstance(row, dict):
        raise UserError(f"{where}: expected a JSON object")
    kind, text = row.get("probe"), row.get("text")
    if kind not in KINDS or not isinstance(text, str) or not isinstance(row.get("id"), str):
        raise UserError(f"{where}: a probe needs a string id and text and probe in {KINDS}")
    raw_targets = row.get("targets", [])
    if not isinstance(raw_targets, list) or not all(
        isinstance(t, dict) and isinstance(t.get("path"), str) for t in raw_targets
    ):
        raise UserError(f"{where}: targets must be a list of {{path, was, now}} objects")
    if kind != "offtopic" and not raw_targets:
        raise UserError(f"{where}: a {kind} probe needs its targets")
    gold = row.get("gold")
    if gold is not None and not isinstance(gold, dict):
        raise UserError(f"{where}: gold must be an object")
    return Probe(
        row["id"],
        text,
        kind,
        genre=row.get("genre"),
        source=row.get("source"),
        targets=[Target(t["path"], t.get("was"), t.get("now")) for t in raw_targets],
        gold=gold,
    )


def probe_examples(probes: Sequence[Probe]) -> list[Example]:
    """The probes as unlabelled examples to predict (probes made from one test row form
    one group, so intervals resample them together)."""
    return [Example(p.id, p.text, None, p.source or p.id) for p in probes]
