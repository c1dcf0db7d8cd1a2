"""Offline distillation end to end (issue 20's check): teachers served by a fake
OpenAI-compatible server with known label noise on chosen fields and rows, the embedded
model as student, on the packaged ISAF sample. The student inherits the planted noise at
its planted rate, and filtering by agreement across two noisy teachers lowers it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fieldwise.tasks import Example
from tests.cli.helpers import cli
from tests.distill.teachers import TASK, answer, flip_rows, isaf_split, swap, teacher_server
from tests.fakes.openai_server import FakeServer

KEY = "sk-fake-teacher-key-0000000000"


def _write(path: Path, examples: list[Example], labels: bool) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for ex in examples:
            row = {"id": ex.id, "text": ex.text, **((ex.gold or {}) if labels else {})}
            fh.write(json.dumps(row) + "\n")
    return path


def _same(a: Any, b: Any) -> bool:
    return sorted(a) == sorted(b) if isinstance(a, list) else a == b


@pytest.fixture(scope="module")
def split() -> tuple[list[Example], list[Example]]:
    return isaf_split()


@pytest.fixture(scope="module")
def noisy_rows(split: tuple[list[Example], list[Example]]) -> set[str]:
    train, gold = split
    return {ex.id for ex in train + gold if int(ex.id.rsplit("-", 1)[1]) % 5 == 0}


@pytest.fixture
def servers(
    split: tuple[list[Example], list[Example]], noisy_rows: set[str]
) -> Iterator[tuple[FakeServer, FakeServer]]:
    rows = split[0] + split[1]
    a = teacher_server(rows, [swap("province", "helmand", "kandahar")])
    b = teacher_server(rows, [flip_rows("killq", noisy_rows)])
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


@pytest.mark.slow
def test_offline_distillation_inherits_planted_noise_and_agreement_lowers_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    split: tuple[list[Example], list[Example]],
    noisy_rows: set[str],
    servers: tuple[FakeServer, FakeServer],
) -> None:
    train, gold = split
    a, b = servers
    monkeypatch.setenv("FAKE_TEACHER_KEY", KEY)
    teacher = {"api_key_env": "FAKE_TEACHER_KEY", "max_tokens": 2000}
    config = {
        "task": "isaf",
        "models": [
            {
                "name": "teacher-a",
                "spec": "openai/teacher-a",
                "options": {**teacher, "base_url": a.url},
            },
            {
                "name": "teacher-b",
                "spec": "openai/teacher-b",
                "options": {**teacher, "base_url": b.url},
            },
            # the embedded model; no abstention calibration (it only serves abstain: true)
            {"name": "student", "spec": "baseline/auto", "options": {"calibration_folds": 0}},
        ],
        "output": "store",
    }
    (tmp_path / "fieldwise.yaml").write_text(yaml.safe_dump(config))
    unlabeled = _write(tmp_path / "unlabeled.jsonl", train, labels=False)
    held = _write(tmp_path / "gold.jsonl", gold, labels=True)
    common = [
        "--student", "student", "--data", str(unlabeled), "--gold", str(held),
        "--json", "-q", "--bootstrap", "100", "-c", str(tmp_path / "fieldwise.yaml"),
    ]  # fmt: skip

    code, out, err = cli(capsys, "distill", "--teacher", "teacher-a", *common)
    assert code == 0, err
    one = json.loads(out)
    assert set(one) >= {
        "teacher", "student", "agreement", "inherited_error_rate", "kept", "dropped",
    }  # fmt: skip
    assert set(one["teacher"]) >= {"aggregate", "fields"}
    assert one["kept"] == len(train) and one["dropped"] == {"valid": 0}

    # the planted noise on the gold rows: teacher A's province is wrong where gold has helmand
    wrong = [
        not _same(answer(ex, [swap("province", "helmand", "kandahar")])["province"],
                  (ex.gold or {})["province"])
        for ex in gold
    ]  # fmt: skip
    planted = sum(wrong) / len(gold)
    assert planted > 0.08  # the split really has helmand rows to plant noise on
    inherited = one["inherited_error_rate"]
    assert one["teacher"]["fields"]["province"] == pytest.approx(1 - planted, abs=1e-6)
    # the student copies the confusion it was taught: at the planted rate (within two
    # binomial standard errors of 60 rows), and nowhere the teacher was right
    se = (planted * (1 - planted) / len(gold)) ** 0.5
    assert abs(inherited["province"] - planted) <= 2 * se, (inherited["province"], planted)
    assert all(v == 0.0 for f, v in inherited.items() if f != "province"), inherited
    assert 0 < one["agreement"]["province"] <= 1
    report = Path(one["report"])
    assert report.is_file() and (report.parent / "distill.json").is_file()

    # teacher A's labels are stored: a second run pays only for teacher B's
    before = len(a.snapshot())
    code, out, err = cli(
        capsys, "distill", "--teacher", "teacher-a", "--teacher", "teacher-b",
        "--filter", "valid,agree", *common,
    )  # fmt: skip
    assert code == 0, err
    two = json.loads(out)
    assert len(a.snapshot()) == before  # nothing relabelled
    disagree = {
        ex.id for ex in train
        if "helmand" in (ex.gold or {})["province"] or ex.id in noisy_rows
    }  # fmt: skip
    assert two["dropped"] == {"valid": 0, "agree": len(disagree)}
    assert two["kept"] == len(train) - len(disagree)
    assert two["inherited_error_rate"]["province"] < inherited["province"]
    assert two["inherited_error_rate"]["province"] <= planted / 2
    # the effect of the filter: without it the student learns exactly what it did alone
    without = two["filters"]["agree"]
    assert without["kept"] == len(train)
    assert without["inherited_error_rate"]["province"] == inherited["province"]
    # the distillation view beside the report: the same rates, and the filter's effect
    page = (Path(two["report"]).parent / "distill.html").read_text(encoding="utf-8")
    effect = 100 * (two["inherited_error_rate"]["province"] - inherited["province"])
    assert "agree: effect on inherited" in page and f"{effect:+.1f}" in page
    assert f"{100 * two['agreement']['province']:.1f}" in page


def test_agree_needs_two_sources_and_unknown_filters_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], split: tuple[list[Example], list[Example]]
) -> None:
    train, gold = split
    unlabeled = _write(tmp_path / "u.jsonl", train[:20], labels=False)
    code, _, err = cli(
        capsys, "distill", "--teacher", "openai/x", "--student", "baseline/auto",
        "--data", str(unlabeled), "--filter", "valid,nosuch", "--project", str(tmp_path / "s"),
    )  # fmt: skip
    assert code == 2 and "unknown label filter 'nosuch'" in err
    code, _, err = cli(
        capsys, "distill", "--teacher", "teacher", "--student", "baseline/auto",
        "--data", str(unlabeled), "--project", str(tmp_path / "s"),
    )  # fmt: skip
    assert code == 2 and "neither a spec" in err
    assert TASK.name == "isaf"
