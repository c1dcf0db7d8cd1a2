"""Imported models in a project run (``fieldwise run``): every way they come in.

- ``imports:`` files are read and stored before any model runs, so a ``models:`` entry
  may name them. A file may cover the whole dataset: only the ids in the evaluated split
  are scored, and one line says how many were outside it.
- A ``models:`` entry whose spec is ``import/NAME`` (or a bare ``name:`` registered as
  an import) is scored from the stored predictions of ``NAME``.
- Models imported earlier with ``fieldwise import`` join the report when they have
  predictions for the evaluated rows; one line says which.

Scoring is the caller's (``score(label, spec, kind, rows)``), so this module only
decides which rows each imported model has; the pipeline stays one loop over models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from fieldwise._gc import gc_paused
from fieldwise._hashing import prediction_keys
from fieldwise.config import ImportConfig, ModelConfig, ProjectConfig
from fieldwise.data import Dataset
from fieldwise.errors import UserError
from fieldwise.store import PredictionRow, Store
from fieldwise.store.imports import (
    IMPORT_PROVIDER,
    check_label_free,
    import_identity,
    import_prediction_dicts,
    load_prediction_records,
    read_predictions,
    record_import,
    stored_imports,
)
from fieldwise.tasks import Example

if TYPE_CHECKING:  # scoring (numpy, scipy) is imported only by the runs that score
    from fieldwise.scoring import ModelResult

__all__ = ["ProjectImports", "Score", "is_import_spec"]

Score = Callable[[str, str, str, list[list[PredictionRow]]], "ModelResult"]
"""``score(label, spec, kind, repeats)``: the pipeline's scoring of one model's rows."""

SPLIT_DOC = "docs/your-outputs.md#which-rows-are-scored"


def is_import_spec(spec: str) -> bool:
    return spec.split("/", 1)[0] == IMPORT_PROVIDER


def _check_free(label: str, models: set[str]) -> None:
    if label in models:
        raise UserError(
            f"'{label}' is both a configured model and an import",
            hint="rename the import (imports: name) or the model",
        )


@dataclass
class _Loaded:
    kind: str
    outputs: dict[str, str | None]
    """Example id → raw output, for the evaluated rows the file covers."""


class ProjectImports:
    """The imported models of one ``fieldwise run`` on ``test`` (the evaluated rows;
    ``train`` is what the run did not evaluate, used only to explain unmatched ids)."""

    def __init__(
        self,
        store: Store,
        config: ProjectConfig,
        task: str,
        train: list[Example],
        test: Dataset,
        console: Console,
    ) -> None:
        self.store, self.config, self.task = store, config, task
        self.train, self.test, self.console = train, test, console
        self._loaded: dict[str, _Loaded] = {}
        self._used: set[str] = set()
        self._ids: set[str] | None = None
        """Imports already scored under a ``models:`` entry (maybe under another label)."""
        self._by_id: dict[str, Example] | None = None
        """The evaluated examples by id (made on the first import)."""

    @gc_paused(keep=True)  # the outputs read are scored later in the run
    def load(self) -> None:
        """Read and store every ``imports:`` entry (before any model runs)."""
        taken = {mc.label for mc in self.config.models if not is_import_spec(mc.spec)}
        for imp in self.config.imports:
            source = self.config.resolve(imp.path) or imp.path
            if imp.name:
                _check_free(imp.name, taken)
                self._load_jsonl(imp, imp.name, Path(source))
            else:
                self._load_dicts(imp, source)
                for label in self._loaded:
                    _check_free(label, taken)

    def _load_jsonl(self, imp: ImportConfig, label: str, path: Path) -> None:
        check_label_free(self.store, [label])
        found = read_predictions(path)
        if self._by_id is None:  # once for all imports of the run
            self._by_id = {ex.id: ex for ex in self.test.examples}
        evaluated = self._by_id
        pairs = [(evaluated[i], out) for i, out in found.outputs.items() if i in evaluated]
        outside = len(found.outputs) - len(pairs)
        if not pairs:
            raise UserError(
                f"{path}: none of its {len(found.outputs)} ids is among the "
                f"{len(self.test)} rows this run evaluates ({self.test.source})",
                hint=f"check data: and the ids; see {SPLIT_DOC}",
            )
        source = {"path": str(path), "sha256": found.sha256}
        record_import(
            self.store, label, imp.kind, pairs, self.test, self.task, source, found.signals
        )
        # Every id of the file evaluated: its outputs are already the pairs, by id in order.
        outputs = found.outputs if not outside else {ex.id: out for ex, out in pairs}
        self._loaded[label] = _Loaded(imp.kind, outputs)
        self._say_coverage(label, str(path), len(pairs), list(found.outputs), outside)

    def _load_dicts(self, imp: ImportConfig, source: str) -> None:
        records = load_prediction_records(source)
        done = import_prediction_dicts(
            self.store, records, self.test, self.task, source=source, kinds=imp.kinds
        )
        for label in done:
            self._loaded[label] = _Loaded(imp.kinds.get(label, imp.kind), {})

    def _say_coverage(
        self, label: str, source: str, scored: int, ids: list[str], outside: int
    ) -> None:
        """One line when a file does not cover exactly the evaluated rows."""
        n = len(self.test)
        if scored == n and not outside:
            return
        parts = [f"imports: '{label}' ({source}): {scored} of {n} evaluated rows scored"]
        if scored < n:
            parts.append(f"{n - scored} have no prediction and score as missing output")
        if outside:
            in_train = len({ex.id for ex in self.train} & set(ids))
            where = [f"{in_train} train rows"] if in_train else []
            where += [f"{outside - in_train} in no data"] if outside > in_train else []
            parts.append(
                f"{outside} of its ids are outside the evaluated split ({', '.join(where)}; "
                "fieldwise data split shows the split)"
            )
        self.console.print("[yellow]note:[/] " + "; ".join(parts), highlight=False, soft_wrap=True)

    @gc_paused()
    def result(self, mc: ModelConfig, score: Score) -> ModelResult:
        """A ``models:`` entry that names imported predictions (``import/NAME``)."""
        name = mc.spec.split("/", 1)[1] if "/" in mc.spec else mc.label
        unused = [
            what
            for what, used in (
                ("options", bool(mc.options)),
                ("repeats", mc.repeats != 1),
                ("variants", mc.variant_of is not None),
                ("batch", mc.batch_config is not None),
                ("executor", mc.executor != "local"),
            )
            if used
        ]
        if unused:
            raise UserError(
                f"model '{mc.label}' is imported ({mc.spec}): {', '.join(unused)} cannot apply "
                "to outputs made elsewhere",
                hint="drop them from this entry",
            )
        self._used.add(name)
        loaded = self._loaded.get(name)
        kind = mc.kind or (loaded.kind if loaded else None)
        if loaded is not None and loaded.outputs:
            return score(mc.label, mc.spec, kind or "imported", [self._rows(loaded.outputs)])
        rows = self._stored_rows(name)
        if rows is None:
            shown = mc.label if mc.label == mc.spec else f"{mc.label}' ('{mc.spec}"
            raise UserError(
                f"model '{shown}' names imported predictions, but {self.store.path} has "
                f"none of '{name}' for the {len(self.test)} rows this run evaluates",
                hint=f"list the file under imports: (path: FILE, name: {name}), or run "
                f"fieldwise import jsonl FILE --name {name} --data DATA",
            )
        registered = stored_imports(self.store).get(name, "imported")
        return score(mc.label, mc.spec, kind or registered, [rows])

    @gc_paused()  # 100,000 rows per model: see fieldwise._gc
    def rest(self, score: Score, taken: set[str]) -> list[ModelResult]:
        """Imports not already scored as a ``models:`` entry: this run's ``imports:``,
        then models imported earlier that have predictions for the evaluated rows."""
        results = []
        taken = taken | self._used
        for label, loaded in self._loaded.items():
            if label in taken:
                continue
            taken.add(label)
            rows = self._rows(loaded.outputs) if loaded.outputs else self._stored_rows(label)
            rows = rows or self._rows({})
            results.append(score(label, f"{IMPORT_PROVIDER}/{label}", loaded.kind, [rows]))
        joined = []
        for label, kind in stored_imports(self.store).items():
            if label in taken:
                continue
            rows = self._stored_rows(label)
            if rows is None:
                continue  # imported for other data
            covered = sum(r.key != "" for r in rows)
            joined.append(f"'{label}' ({covered} of {len(rows)} rows)")
            results.append(score(label, f"{IMPORT_PROVIDER}/{label}", kind, [rows]))
        if joined:
            self.console.print(
                f"[yellow]note:[/] scoring models imported earlier: {', '.join(joined)}",
                highlight=False,
                soft_wrap=True,
            )
        return results

    def _rows(self, outputs: dict[str, str | None]) -> list[PredictionRow]:
        """One row per evaluated example, in order; ``output`` None where not covered."""
        get = outputs.get
        return [PredictionRow("", ex.id, get(ex.id)) for ex in self.test.examples]

    def _stored_rows(self, label: str) -> list[PredictionRow] | None:
        """The stored predictions of ``label`` for the evaluated rows (an empty key marks
        a row without one), or None when it has none of them."""
        if self._ids is None:
            self._ids = {ex.id for ex in self.test.examples}
        if self._ids.isdisjoint(self.store.example_ids(label)):
            return None  # imported for other rows: no keys to hash for it
        keys = prediction_keys(import_identity(label), self.test.examples)
        found = self.store.predictions_by_key(keys)
        if not found:
            return None
        return [
            found.get(k) or PredictionRow("", ex.id, None)
            for k, ex in zip(keys, self.test.examples, strict=True)
        ]
