"""The loop through the Python API: imports, cross-validation, a user's own task."""

from __future__ import annotations

import json
from pathlib import Path

from fieldwise.config import ImportConfig, ModelConfig, ProjectConfig
from fieldwise.data import load_examples
from fieldwise.pipeline import run_project
from fieldwise.store import Store
from fieldwise.tasks import load_task

ISAF = load_task("isaf")


def test_imported_predictions_sit_beside_our_models(tmp_path: Path) -> None:
    examples = load_examples(ISAF, "sample").examples[:30]
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        "".join(json.dumps({"id": e.id, "text": e.text, **e.gold}) + "\n" for e in examples)
    )
    perfect = tmp_path / "perfect.jsonl"
    perfect.write_text(
        "".join(json.dumps({"id": e.id, "output": json.dumps(e.gold)}) + "\n" for e in examples)
    )
    dicts = tmp_path / "published.jsonl"
    dicts.write_text(
        "".join(
            json.dumps({"text": e.text, "predictions": {"echo": json.dumps(e.gold), "junk": "1"}})
            + "\n"
            for e in examples
        )
    )
    cfg = ProjectConfig(
        data={"train": None, "test": str(gold)},
        models=[],
        imports=[
            ImportConfig(path=str(perfect), name="perfect", kind="finetune"),
            ImportConfig(path=str(dicts), kinds={"echo": "api"}),
        ],
        bootstrap=50,
        output=str(tmp_path / "out"),
        base_dir=tmp_path,
    )
    result = run_project(cfg, quiet=True)
    by_label = {r.label: r for r in result.results}
    assert set(by_label) == {"perfect", "echo", "junk"}
    assert by_label["perfect"].scores["reference"].aggregate == 100
    assert by_label["echo"].kind == "api"
    assert by_label["junk"].scores["reference"].aggregate == 0
    assert by_label["junk"].scores["reference"].validity["not_object"] == 30
    assert result.report_path.is_file()
    with Store(tmp_path / "out") as store:
        assert {m["label"] for m in store.models()} == {"perfect", "echo", "junk"}


def test_cross_validation_predicts_every_row_out_of_fold(tmp_path: Path) -> None:
    cfg = ProjectConfig(
        data={"train": "sample", "cv": 3, "limit": 90},
        models=[ModelConfig(spec="baseline/auto", name="baseline")],
        bootstrap=0,
        output=str(tmp_path / "out"),
        base_dir=tmp_path,
    )
    result = run_project(cfg, quiet=True)
    (res,) = result.results
    assert len(res.outputs) == 90 and all(o is not None for o in res.outputs)
    with Store(tmp_path / "out") as store:
        runs = store.runs("baseline")
        assert len(runs) == 3
        assert sum(r["n_examples"] for r in runs) == 90
    trained = sorted(p.name for p in (tmp_path / "out" / "models").iterdir())
    assert len(trained) == 3  # one model per fold, none trained on its own test rows


def test_rerun_recomputes_nothing(tmp_path: Path) -> None:
    cfg = ProjectConfig(
        data={"train": "sample", "limit": 60},
        bootstrap=0,
        output=str(tmp_path / "out"),
        base_dir=tmp_path,
    )
    first = run_project(cfg, quiet=True)
    with Store(tmp_path / "out") as store:
        stamps = {
            r["key"]: r["created_at"]
            for r in store.db.execute("SELECT key, created_at FROM predictions")
        }
    second = run_project(cfg, quiet=True)
    assert first.results[0].outputs == second.results[0].outputs
    with Store(tmp_path / "out") as store:
        again = {
            r["key"]: r["created_at"]
            for r in store.db.execute("SELECT key, created_at FROM predictions")
        }
    assert again == stamps


def test_the_first_profile_ranks_the_report_and_its_pairwise_table(tmp_path: Path) -> None:
    """``profiles: [strict, reference]`` ranks the run by strict: the report and the
    ``pairwise.json`` a bare ``fieldwise compare`` prints, not only the summary."""
    examples = load_examples(ISAF, "sample").examples[:30]
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        "".join(json.dumps({"id": e.id, "text": e.text, **e.gold}) + "\n" for e in examples)
    )

    def outputs(name: str, change: dict[str, object], every: int) -> ImportConfig:
        path = tmp_path / f"{name}.jsonl"
        lines = [
            {"id": e.id, "output": json.dumps({**e.gold, **(change if i % every == 0 else {})})}
            for i, e in enumerate(examples)
        ]
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        return ImportConfig(path=str(path), name=name)

    # Abstaining on killq everywhere costs 1/13 under reference and nothing under strict;
    # a wrong killq on every third row costs less under reference and something under strict.
    imports = [outputs("abstainer", {"killq": None}, 1)]
    imports.append(outputs("guesser", {"killq": not examples[0].gold["killq"]}, 3))
    ranks = {}
    for first in ("reference", "strict"):
        other = "strict" if first == "reference" else "reference"
        cfg = ProjectConfig(
            data={"train": None, "test": str(gold)}, models=[], imports=imports,
            profiles=[first, other], bootstrap=20, output=str(tmp_path / first),
            base_dir=tmp_path,
        )  # fmt: skip
        report = run_project(cfg, quiet=True).report_path
        table = json.loads((report.parent / "pairwise.json").read_text())
        assert table["profile"] == first
        html = report.read_text()
        ranks[first] = sorted(["abstainer", "guesser"], key=lambda label: html.index(label))
    assert ranks == {"reference": ["guesser", "abstainer"], "strict": ["abstainer", "guesser"]}
