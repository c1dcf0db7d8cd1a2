"""``fieldwise migrate`` end to end: a retiring model behind the fake OpenAI server, the
embedded model as the replacement, an equivalence verdict per field and on the aggregate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fieldwise.store import Store
from fieldwise.tasks import Example
from tests.cli.helpers import cli
from tests.distill.teachers import isaf_split, swap, teacher_server

KEY = "sk-fake-retiring-key-00000000000"


@pytest.mark.slow
def test_migrate_trains_the_replacement_and_tests_equivalence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    train, gold = isaf_split()
    old = teacher_server(train + gold, [swap("province", "helmand", "kandahar")])
    try:
        monkeypatch.setenv("OLD_KEY", KEY)
        config = {
            "models": [
                {
                    "name": "old-ft",
                    "spec": "openai/ft:gpt-4o-mini:acme:isaf:123",
                    "options": {"base_url": old.url, "api_key_env": "OLD_KEY", "max_tokens": 2000},
                },
                {"name": "open", "spec": "baseline/auto", "options": {"calibration_folds": 0}},
            ],
            "output": "store",
        }
        (tmp_path / "fieldwise.yaml").write_text(yaml.safe_dump(config))
        # the corpus: every other row carries its human label
        with (tmp_path / "corpus.jsonl").open("w") as fh:
            for i, ex in enumerate(train):
                labels = (ex.gold or {}) if i % 2 == 0 else {}
                fh.write(json.dumps({"id": ex.id, "text": ex.text, **labels}) + "\n")
        with (tmp_path / "gold.jsonl").open("w") as fh:
            for ex in gold:
                fh.write(json.dumps({"id": ex.id, "text": ex.text, **(ex.gold or {})}) + "\n")
        args = [
            "migrate", "--from", "old-ft", "--to", "open", "--data", str(tmp_path / "corpus.jsonl"),
            "--gold", str(tmp_path / "gold.jsonl"), "--keep-agreeing", "--bootstrap", "100",
            "-c", str(tmp_path / "fieldwise.yaml"), "-q",
        ]  # fmt: skip
        code, out, err = cli(capsys, *args, "--json")
        assert code == 0, err
        res = json.loads(out)
        wrong = sum(
            1
            for i, ex in enumerate(train)
            if i % 2 == 0 and "helmand" in (ex.gold or {})["province"]
        )
        assert wrong > 0
        assert res["dropped"] == {"valid": 0, "agree_with_gold": wrong}
        assert res["trained_on"] == len(train) - wrong
        assert res["reference"] == "gold" and res["rows"] == len(gold)
        eq = res["equivalence"]
        assert list(eq)[0] == "aggregate" and set(eq) > {"province", "killq"}
        for target in eq.values():
            assert target["verdict"] in ("equivalent", "not shown equivalent", "worse")
            if target["margin"] is not None:
                assert target["margin_source"] == "mde"
                assert target["margin"] == pytest.approx(2.8016 * target["se"], rel=1e-3)
            lo, hi = target["interval"]
            if lo is not None:
                assert lo <= target["diff"] <= hi and target["interval_level"] == 0.9
        assert res["verdict"] == eq["aggregate"]["verdict"]
        # the equivalence view beside the report: one row per target, with its verdict
        page = (Path(res["report"]).parent / "migrate.html").read_text(encoding="utf-8")
        for name, target in eq.items():
            row = page.split(f"<th>{name}</th>")[1].split("</tr>")[0]
            assert target["verdict"] in row and str(target["n"]) in row
        # the old model is the teacher with one confusion: the replacement, trained on its
        # answers, scores like it on province (both miss helmand) within the margin
        assert abs(eq["province"]["diff"]) < 10
        # the replacement is registered under its name, runnable by fieldwise run
        with Store(tmp_path / "store") as store:
            registered = {m["label"]: m for m in store.models()}
        assert registered["open"]["spec"].startswith("baseline/")

        # a rerun asks the old model nothing and trains nothing; a fixed margin is used
        before = len(old.snapshot())
        code, out, err = cli(capsys, *args, "--margin", "50")
        assert code == 0, err
        assert len(old.snapshot()) == before
        assert "50.0" in out and "equivalent" in out
    finally:
        old.stop()


def test_keep_agreeing_needs_labels_in_the_corpus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows: list[Example] = isaf_split()[0][:10]
    with (tmp_path / "c.jsonl").open("w") as fh:
        for ex in rows:
            fh.write(json.dumps({"id": ex.id, "text": ex.text}) + "\n")
    code, _, err = cli(
        capsys, "migrate", "--from", "openai/old", "--to", "baseline/auto",
        "--data", str(tmp_path / "c.jsonl"), "--keep-agreeing", "--project", str(tmp_path / "s"),
    )  # fmt: skip
    assert code == 2 and "--keep-agreeing needs human labels" in err
    code, _, err = cli(
        capsys, "migrate", "--from", "openai/old", "--to", "baseline/auto",
        "--data", str(tmp_path / "c.jsonl"), "--margin", "-1",
    )  # fmt: skip
    assert code == 2 and "--margin" in err
