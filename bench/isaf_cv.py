"""Group-aware k-fold cross-validation of the baseline on the ISAF dev rows.

    PYTHONPATH=src python bench/isaf_cv.py [--data PATH] [--folds 5] [--seed 0] [--errors FIELD]

Prints per-field and aggregate reference-profile scores (0-100), training time per fold,
prediction rows/s (one core, whole held-out fold per call) and peak memory. Rows sharing a
text stay in one fold. Uses ``fieldwise.scoring.score_outputs`` and
``fieldwise.data.splits.group_kfold`` when they exist, a local equivalent otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fieldwise.models.baseline import BaselineModel
from fieldwise.tasks import Example
from fieldwise.tasks.isaf import ISAF

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "isaf" / "dev.jsonl"


def load(path: Path) -> list[Example]:
    rows = [
        json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()
    ]
    out = []
    for r in rows:
        gold = {k: v for k, v in r.items() if k not in ("id", "text")}
        out.append(Example(id=r["id"], text=r["text"], gold=gold))
    return out


def group_kfold(examples: list[Example], k: int, seed: int) -> list[list[int]]:
    try:
        from fieldwise.data.splits import group_kfold as lib_kfold  # type: ignore

        pos = {ex.id: i for i, ex in enumerate(examples)}
        return [[pos[ex.id] for ex in test] for _, test in lib_kfold(examples, k, seed)]
    except ImportError:
        pass
    groups: dict[str, list[int]] = {}
    for i, ex in enumerate(examples):
        groups.setdefault(ex.text, []).append(i)
    keys = list(groups)
    random.Random(seed).shuffle(keys)
    folds: list[list[int]] = [[] for _ in range(k)]
    for key in sorted(keys, key=lambda g: -len(groups[g])):
        min(folds, key=len).extend(groups[key])
    return folds


def _as_list(v: Any) -> list[Any] | None:
    if isinstance(v, str):
        return [v]
    if isinstance(v, list):
        return v
    return None


def reference_scores(
    golds: list[dict[str, Any]], outputs: list[str | None]
) -> list[dict[str, float]]:
    """Per-row reference-profile scores, straight from ISAF_TASK.md."""
    rows = []
    for gold, raw in zip(golds, outputs, strict=True):
        try:
            pred = json.loads(raw) if raw else None
        except ValueError:
            pred = None
        row = {}
        for spec in ISAF.scored_fields:
            f = spec.name
            if not isinstance(pred, dict) or f not in pred:
                row[f] = 0.0
                continue
            p, g = pred[f], gold[f]
            try:
                if spec.metric == "exact":
                    row[f] = float(bool(p) and p == g)
                elif spec.metric == "set_equal":
                    pl = _as_list(p)
                    row[f] = float(pl is not None and set(pl) == set(g))
                elif spec.metric == "set_recall":
                    pl = _as_list(p)
                    row[f] = len(set(pl) & set(g)) / len(set(g)) if pl is not None else 0.0
                elif spec.metric == "int_equal":
                    row[f] = float(isinstance(p, int) and p == g)
                else:
                    row[f] = float(p == g)
            except TypeError:
                row[f] = 0.0
        rows.append(row)
    return rows


def score(golds: list[dict[str, Any]], outputs: list[str | None]) -> dict[str, float]:
    """Reference-profile scores (0-100) from the scoring package, cross-checked locally."""
    per_row = reference_scores(golds, outputs)
    local = {f.name: 100 * statistics.fmean(r[f.name] for r in per_row) for f in ISAF.scored_fields}
    local["aggregate"] = statistics.fmean(local.values())
    try:
        from fieldwise.scoring import score_outputs
    except ImportError:
        return local
    ms = score_outputs(ISAF, golds, outputs, profiles=("reference",), n_boot=0)["reference"]
    lib = {k: 100 * v for k, v in ms.fields.items()}
    lib["aggregate"] = ms.aggregate
    if abs(lib["aggregate"] - local["aggregate"]) > 0.01:
        print(f"note: local reference re-implementation gives {local['aggregate']:.2f}")
    return lib


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--errors", default="", help="print mistakes on this field")
    args = ap.parse_args()
    examples = load(args.data)
    folds = group_kfold(examples, args.folds, args.seed)
    outputs: list[str | None] = [None] * len(examples)
    train_s, rates = [], []
    for k, held in enumerate(folds):
        held_set = set(held)
        train = [ex for i, ex in enumerate(examples) if i not in held_set]
        test = [examples[i] for i in held]
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            BaselineModel.train(ISAF, train, Path(tmp), None)
            train_s.append(time.perf_counter() - t0)
            model = BaselineModel(tmp, ISAF)
            t0 = time.perf_counter()
            gens = asyncio.run(model.generate(test))
            rates.append(len(test) / (time.perf_counter() - t0))
        for i, gen in zip(held, gens, strict=True):
            outputs[i] = gen.output
        print(f"fold {k}: train {train_s[-1]:.1f}s, {rates[-1]:.0f} rows/s", file=sys.stderr)
    golds = [ex.gold or {} for ex in examples]
    scores = score(golds, outputs)
    for name, value in scores.items():
        print(f"{name:22s} {value:6.2f}")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"train_s median {statistics.median(train_s):.1f} (max {max(train_s):.1f})")
    print(f"predict rows/s median {statistics.median(rates):.0f}")
    print(f"peak RSS {peak_mib:.0f} MiB")
    if args.errors:
        for ex, out in zip(examples, outputs, strict=True):
            pred = json.loads(out or "{}").get(args.errors)
            gold = (ex.gold or {}).get(args.errors)
            if pred != gold:
                print("=" * 80, f"\n{ex.id} gold={gold!r} pred={pred!r}\n{ex.text[:900]}")


if __name__ == "__main__":
    main()
