"""Imported models inside ``fieldwise run`` (``fieldwise.imported``): whole-dataset files,
models named under ``models:``, models imported earlier, fenced outputs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from fieldwise.config import ImportConfig, ModelConfig, ProjectConfig
from fieldwise.data import load_examples, train_test_split
from fieldwise.errors import UserError
from fieldwise.pipeline import run_project
from fieldwise.store import Store
from fieldwise.store.imports import import_jsonl
from fieldwise.tasks import Example, load_task

ISAF = load_task("isaf")
SAMPLE = load_examples(ISAF, "sample")


def _preds(path: Path, examples: list[Example], fence_every: int = 0) -> Path:
    lines = []
    for i, ex in enumerate(examples):
        out = json.dumps(ex.gold)
        if fence_every and i % fence_every == 0:
            out = f"```json\n{out}\n```"
        lines.append(json.dumps({"id": ex.id, "output": out}) + "\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _config(tmp_path: Path, **kwargs: object) -> ProjectConfig:
    base: dict[str, object] = {
        "data": {"train": "sample"},
        "models": [],
        "bootstrap": 0,
        "output": str(tmp_path / "out"),
        "base_dir": tmp_path,
    }
    return ProjectConfig(**{**base, **kwargs})  # type: ignore[arg-type]


def _run(cfg: ProjectConfig) -> tuple[dict[str, object], str]:
    buf = io.StringIO()
    result = run_project(cfg, console=Console(file=buf, width=300), quiet=True)
    return {r.label: r for r in result.results}, buf.getvalue()


def test_a_file_covering_the_whole_dataset_scores_the_evaluated_split(tmp_path: Path) -> None:
    path = _preds(tmp_path / "all.jsonl", SAMPLE.examples)
    cfg = _config(tmp_path, imports=[ImportConfig(path=str(path), name="theirs")])
    results, said = _run(cfg)
    theirs = results["theirs"]
    train, test = train_test_split(SAMPLE.examples, 0.2, 0)
    assert len(theirs.outputs) == len(test) and None not in theirs.outputs
    assert theirs.scores["reference"].aggregate == 100
    notes = [line for line in said.splitlines() if "imports: 'theirs'" in line]
    assert len(notes) == 1
    assert f"{len(test)} of {len(test)} evaluated rows scored" in notes[0]
    assert (
        f"{len(train)} of its ids are outside the evaluated split ({len(train)} train" in notes[0]
    )
    with Store(tmp_path / "out") as store:
        (run,) = store.runs("theirs")
        assert run["n_examples"] == len(test)
    _run(cfg)  # the same file again: no second import run
    with Store(tmp_path / "out") as store:
        assert len(store.runs("theirs")) == 1


def test_the_split_fieldwise_data_split_writes_is_the_one_run_evaluates(tmp_path: Path) -> None:
    from fieldwise.cli import main

    with pytest.raises(SystemExit) as done:
        main(["data", "split", "--data", "sample", "--out-dir", str(tmp_path / "s")])
    assert done.value.code in (0, None)
    written = [json.loads(x)["id"] for x in (tmp_path / "s/test.jsonl").read_text().splitlines()]
    path = _preds(tmp_path / "p.jsonl", SAMPLE.examples)
    result = run_project(
        _config(tmp_path, imports=[ImportConfig(path=str(path), name="x")]), quiet=True
    )
    assert [ex.id for ex in result.test.examples] == written


def test_a_file_with_no_evaluated_id_is_an_error(tmp_path: Path) -> None:
    train, _ = train_test_split(SAMPLE.examples, 0.2, 0)
    path = _preds(tmp_path / "train_only.jsonl", train)
    cfg = _config(tmp_path, imports=[ImportConfig(path=str(path), name="theirs")])
    with pytest.raises(UserError, match="none of its .* ids is among the .* rows this run"):
        _run(cfg)


def test_partial_coverage_says_how_many_rows_score_as_missing(tmp_path: Path) -> None:
    _, test = train_test_split(SAMPLE.examples, 0.2, 0)
    path = _preds(tmp_path / "few.jsonl", test[:3])
    results, said = _run(_config(tmp_path, imports=[ImportConfig(path=str(path), name="few")]))
    assert results["few"].scores["reference"].validity["missing"] == len(test) - 3
    assert f"{len(test) - 3} have no prediction and score as missing output" in said


def test_models_entries_name_imports_and_unknown_ones_point_to_imports(tmp_path: Path) -> None:
    _, test = train_test_split(SAMPLE.examples, 0.2, 0)
    gold = tmp_path / "test.jsonl"
    gold.write_text("".join(json.dumps({"id": e.id, "text": e.text, **(e.gold or {})}) + "\n"
                            for e in test))  # fmt: skip
    dataset = load_examples(ISAF, gold)
    with Store(tmp_path / "out") as store:
        store.save_dataset("isaf", dataset.fingerprint, dataset.source, dataset.examples)
        import_jsonl(store, "theirs", _preds(tmp_path / "p.jsonl", test), dataset, "isaf")
    data = {"train": None, "test": str(gold)}
    results, _ = _run(
        _config(
            tmp_path,
            data=data,
            models=[ModelConfig(name="theirs"), ModelConfig(name="again", spec="import/theirs")],
        )
    )
    assert list(results) == ["theirs", "again"]  # the stored import is not added a third time
    assert results["again"].kind == "imported" and results["again"].spec == "import/theirs"
    assert results["theirs"].scores["strict"].aggregate == 100
    with pytest.raises(UserError) as info:
        _run(_config(tmp_path, data=data, models=[ModelConfig(name="ghost")]))
    assert "imports:" in str(info.value)
    with pytest.raises(UserError) as info:
        _run(_config(tmp_path, data=data, models=[ModelConfig(spec="import/ghost")]))
    assert "imports:" in str(info.value) and "fieldwise import jsonl" in str(info.value)
    with pytest.raises(UserError, match="options, repeats cannot apply"):
        _run(
            _config(
                tmp_path,
                data=data,
                models=[ModelConfig(spec="import/theirs", options={"x": 1}, repeats=2)],
            )
        )


def test_models_imported_earlier_join_the_next_run(tmp_path: Path) -> None:
    _, test = train_test_split(SAMPLE.examples, 0.2, 0)
    with Store(tmp_path / "out") as store:
        store.save_dataset("isaf", SAMPLE.fingerprint, SAMPLE.source, SAMPLE.examples)
        import_jsonl(store, "earlier", _preds(tmp_path / "p.jsonl", test[:5]), SAMPLE, "isaf")
        other = [Example("zz", "a text no run evaluates", {"killq": True})]
        from fieldwise.data import Dataset

        elsewhere = Dataset(other, "other.jsonl", "fp-other")
        (tmp_path / "o.jsonl").write_text('{"id": "zz", "output": "{}"}\n')
        import_jsonl(store, "elsewhere", tmp_path / "o.jsonl", elsewhere, "isaf")
    results, said = _run(_config(tmp_path))
    assert list(results) == ["earlier"]  # 'elsewhere' has no prediction for these rows
    assert f"scoring models imported earlier: 'earlier' (5 of {len(test)} rows)" in said


def test_strip_fences_lets_strict_read_fenced_outputs_never_reference(tmp_path: Path) -> None:
    path = _preds(tmp_path / "all.jsonl", SAMPLE.examples, fence_every=4)
    plain, _ = _run(_config(tmp_path, imports=[ImportConfig(path=str(path), name="f")]))
    lenient, _ = _run(
        _config(tmp_path, imports=[ImportConfig(path=str(path), name="f")], strip_fences=True)
    )
    before, after = plain["f"].scores, lenient["f"].scores
    fenced = before["reference"].validity["fenced"]
    assert fenced > 0 and after["reference"].validity["fenced"] == fenced
    assert before["reference"].aggregate == after["reference"].aggregate < 100
    assert before["strict"].aggregate < 100 and after["strict"].aggregate == 100


def test_an_import_named_like_a_configured_model_is_refused_before_storing(
    tmp_path: Path,
) -> None:
    path = _preds(tmp_path / "all.jsonl", SAMPLE.examples)
    cfg = _config(
        tmp_path,
        models=[ModelConfig(name="x", spec="baseline/auto")],
        imports=[ImportConfig(path=str(path), name="x")],
    )
    with pytest.raises(UserError, match="'x' is both a configured model and an import"):
        _run(cfg)
    with Store(tmp_path / "out") as store:
        assert store.runs() == [] and store.models() == []
