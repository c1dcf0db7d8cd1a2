"""Repeats, variants and across-run comparisons through the whole loop (fake API server)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fieldwise._hashing import content_hash, prediction_key
from fieldwise.cli import app
from fieldwise.compare import compare_runs
from fieldwise.config import ModelConfig, ProjectConfig, expand_variants
from fieldwise.data import load_examples
from fieldwise.errors import UserError
from fieldwise.pipeline import run_project
from fieldwise.store import Store
from fieldwise.tasks import Example, load_task
from tests.fakes.openai_server import FakeServer, fake_openai  # noqa: F401

ISAF = load_task("isaf")
N = 12


def _write(path: Path, examples: list[Example]) -> Path:
    path.write_text(
        "".join(json.dumps({"id": e.id, "text": e.text, **(e.gold or {})}) + "\n" for e in examples)
    )
    return path


def _noisy_gold(examples: list[Example], seed: int = 0) -> Any:
    """A reply that returns the gold answer, with one field spoiled at random (sampling)."""
    rng = random.Random(seed)

    def reply(prompt: str) -> str:
        gold = next(dict(e.gold or {}) for e in examples if e.text in prompt)
        if rng.random() < 0.4:
            gold["event_type"] = ["none"]
        return json.dumps(gold)

    return reply


def _config(tmp_path: Path, url: str, test: Path, **model: Any) -> ProjectConfig:
    options = {"base_url": url, "temperature": 0.7}
    return ProjectConfig(
        data={"train": None, "test": str(test)},
        models=[ModelConfig(spec="openai/fake-model", name="gpt", options=options, **model)],
        bootstrap=200,
        output=str(tmp_path / "out"),
        base_dir=tmp_path,
    )


def test_repeat_zero_keeps_the_plain_cache_key() -> None:
    ex = Example("a", "some text")
    ident = {"provider": "x"}
    assert prediction_key(ident, ex) == content_hash({"model": ident, "text": "some text"})
    assert prediction_key(ident, ex, 0) == prediction_key(ident, ex)
    assert len({prediction_key(ident, ex, r) for r in range(3)}) == 3


def test_variants_expand_into_named_siblings() -> None:
    switches = {"output_mode": ["prompt", "json_schema"], "few_shot": [0, 3]}
    mc = ModelConfig(spec="openai/m", name="m", options={"temperature": 0.5}, variants=switches)
    out = expand_variants(mc)
    assert [v.label for v in out] == [
        "m[output_mode=prompt,few_shot=0]",
        "m[output_mode=prompt,few_shot=3]",
        "m[output_mode=json_schema,few_shot=0]",
        "m[output_mode=json_schema,few_shot=3]",
    ]
    assert out[3].options == {"temperature": 0.5, "output_mode": "json_schema", "few_shot": 3}
    assert out[3].variant_of == "m" and out[3].variant == {
        "output_mode": "json_schema",
        "few_shot": 3,
    }
    cfg = ProjectConfig(models=[mc])
    assert len(cfg.models) == 4
    again = ProjectConfig.model_validate({**cfg.model_dump(), "base_dir": cfg.base_dir})
    assert [m.label for m in again.models] == [v.label for v in out]
    with pytest.raises(ValueError, match="at least two values"):
        ProjectConfig(models=[ModelConfig(spec="openai/m", variants={"few_shot": [1]})])


@pytest.mark.slow
def test_repeats_and_variants_end_to_end(
    fake_openai: FakeServer,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    examples = load_examples(ISAF, "sample").examples[:N]
    fake_openai.behaviour.reply = _noisy_gold(examples)
    test = _write(tmp_path / "test.jsonl", examples)
    cfg = _config(
        tmp_path, fake_openai.url, test, repeats=3,
        variants={"output_mode": ["prompt", "json_object"]},
    )  # fmt: skip
    result = run_project(cfg, quiet=True)
    texts = len({e.text for e in examples})  # a repeated text is one prediction
    assert len(fake_openai.snapshot()) == 2 * 3 * texts
    labels = [r.label for r in result.results]
    assert labels == ["gpt[output_mode=prompt]", "gpt[output_mode=json_object]"]
    first = result.results[0]
    assert len(first.repeats) == 3 and first.variant == {"output_mode": "prompt"}
    # The model's score is the per-row mean over repeats, so partial credit appears.
    event = first.scores["reference"].per_row[
        :, first.scores["reference"].field_names.index("event_type")
    ]
    assert set(event.tolist()) - {0.0, 1.0}
    html = result.report_path.read_text()
    assert 'id="repeats"' in html and "Variants: the effect of each switch" in html
    assert "output_mode: prompt → json_object" in html
    table = json.loads((result.report_path.parent / "pairwise.json").read_text())
    assert len(table["comparisons"]) == 14 and table["resamples"] == 200

    run_project(cfg, quiet=True)  # everything is cached, every repeat
    assert len(fake_openai.snapshot()) == 2 * 3 * texts

    with Store(tmp_path / "out") as store:
        cmp = compare_runs(store, labels, bootstrap=100)
    assert cmp.shared == N and cmp.sides == labels
    assert cmp.table.rows[0].a == labels[1]  # later minus earlier

    cli = CliRunner()
    out = cli.invoke(app, ["compare", "--project", str(tmp_path / "out"), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["models"] == labels
    out = cli.invoke(app, ["compare", *labels, "--project", str(tmp_path / "out")])
    assert out.exit_code == 0, out.output
    assert "aggregate" in out.stdout and "not resolvable" in out.stdout


def test_compare_across_runs_refuses_changed_gold(
    fake_openai: FakeServer,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    examples = load_examples(ISAF, "sample").examples[:N]
    fake_openai.behaviour.reply = _noisy_gold(examples, seed=1)
    run_project(
        _config(tmp_path, fake_openai.url, _write(tmp_path / "a.jsonl", examples)), quiet=True
    )
    relabelled = [
        Example(e.id, e.text, {**(e.gold or {}), "killq": not (e.gold or {}).get("killq")})
        if i < 3
        else e
        for i, e in enumerate(examples[:10])
    ]
    run_project(
        _config(tmp_path, fake_openai.url, _write(tmp_path / "b.jsonl", relabelled)), quiet=True
    )
    with Store(tmp_path / "out") as store:
        runs = [str(r["id"]) for r in store.runs()]
        assert len(runs) == 2
        with pytest.raises(UserError, match="gold answers differ on 3 of 10"):
            compare_runs(store, runs)
        cmp = compare_runs(store, runs, gold_from=1, bootstrap=100)
    assert cmp.shared == 10
    assert any("different datasets" in w for w in cmp.warnings)
    assert any("gold differs on 3" in w for w in cmp.warnings)
    # Same model, same cached outputs: no field changes significantly.
    assert cmp.changes() == [
        {"from": cmp.sides[0], "to": cmp.sides[1], "improved": [], "regressed": []}
    ]
    out = CliRunner().invoke(app, ["compare", *runs, "--project", str(tmp_path / "out")])
    assert out.exit_code != 0
