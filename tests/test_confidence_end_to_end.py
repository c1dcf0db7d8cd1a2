"""Confidence through a whole run: an OpenAI-compatible model (the real client against a
fake server) whose wrong answers carry low token probabilities; the report's confidence
section, ``fieldwise trust --json`` from the report and from the store, and a review
round trip (CSV, JSONL, Label Studio) into a new gold version."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fieldwise.data import load_examples
from fieldwise.review.runs import load_run
from fieldwise.scoring import score_outputs
from fieldwise.store import Store
from fieldwise.tasks import Example, load_task
from tests.cli.helpers import cli
from tests.fakes.openai_server import FakeServer
from tests.fakes.openai_server import fake_openai as fake_openai  # noqa: F401 - fixture

ISAF = load_task("isaf")
WRONG = "bamyan"  # a province no text or gold of the sample names


def _answers(examples: list[Example]) -> tuple[dict[str, str], set[str]]:
    """Per text, the model's reply: the gold, except every fourth row names a province
    its text does not (and those are the rows it is unsure of)."""
    replies, wrong = {}, set()
    for i, ex in enumerate(examples):
        gold = dict(ex.gold or {})
        assert WRONG not in ex.text.lower() and WRONG not in gold["province"]
        if i % 4 == 0:
            gold["province"] = [WRONG]
            wrong.add(ex.id)
        replies[ex.text] = json.dumps(gold)
    return replies, wrong


def _unsure_of_wrong(content: str, at: int, token: bytes) -> float:
    """Low probability for the tokens that write the wrong province, high elsewhere."""
    data = content.encode()
    start = data.find(f'"{WRONG}"'.encode())
    if start >= 0 and start <= at + len(token) and at < start + len(WRONG) + 2:
        return -2.5
    return -0.001


@pytest.fixture
def project(tmp_path: Path, fake_openai: FakeServer) -> tuple[Path, set[str], list[Example]]:
    examples = load_examples(ISAF, "sample").examples
    replies, wrong = _answers(examples)
    fake_openai.behaviour.reply = lambda text: next(
        (r for t, r in replies.items() if t in text), "{}"
    )
    fake_openai.behaviour.token_logprob = _unsure_of_wrong
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        "".join(
            json.dumps({"id": e.id, "text": e.text, **(e.gold or {})}) + "\n" for e in examples
        ),
        encoding="utf-8",
    )
    (tmp_path / "fieldwise.yaml").write_text(
        f"data: {{test: gold.jsonl}}\n"
        f"models: [{{name: api, spec: openai/fake, options: {{base_url: '{fake_openai.url}'}}}}]\n"
        "profiles: [reference]\nbootstrap: 200\n",
        encoding="utf-8",
    )
    return tmp_path, wrong, examples


def test_trust_from_the_report_and_the_store(
    project: tuple[Path, set[str], list[Example]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, wrong, examples = project
    monkeypatch.chdir(root)
    code, out, err = cli(capsys, "run", "--quiet")
    assert code == 0, err
    page = Path(out.strip().splitlines()[-1]).read_text(encoding="utf-8")
    assert '<section id="confidence">' in page and "data:image/png;base64," in page
    assert (Path(out.strip().splitlines()[-1]).parent / "charts/risk_coverage.png").is_file()

    code, out, err = cli(capsys, "trust", "--json")
    assert code == 0, err
    report = json.loads(out)
    province = report["models"]["api"]["paths"]["province"]
    # The wrong provinces are the only errors, and the token probabilities single them out.
    assert province["signal"] == "logprob"
    assert province["accuracy"] == pytest.approx(1 - 0.25, abs=0.05)
    car = province["coverage_at_risk"]
    assert car["threshold"] is not None and car["realised_risk"] == 0.0
    # Nearly every right value is accepted: the threshold comes from the calibration
    # rows, so a held-out right value less sure than all of those falls under it.
    assert province["accuracy"] - 0.05 <= car["coverage"] <= province["accuracy"]
    # ... so its AURC is the least possible at this error rate (every error ranked last).
    n = province["rows"]["held_out"]
    right = round(n * province["accuracy"])
    least = sum((k - right) / k for k in range(right + 1, n + 1)) / n
    assert province["aurc"] == pytest.approx(least, abs=1e-6)
    assert province["hallucination_rate"] == pytest.approx(len(wrong) / len(examples), abs=0.02)
    # A field the model always gets right: nothing to rank, everything accepted.
    assert report["models"]["api"]["paths"]["killq"]["accuracy"] == 1.0

    code, out, err = cli(capsys, "trust", "api", "--json", "--bootstrap", "200")
    assert code == 0, err
    stored = json.loads(out)["models"]["api"]["paths"]["province"]
    for key in ("signal", "accuracy", "ece", "brier", "aurc", "grounded_rate"):
        assert stored[key] == province[key], key
    assert stored["coverage_at_risk"]["threshold"] == car["threshold"]

    code, out, err = cli(capsys, "trust", "api")
    assert code == 0, err
    assert "province" in out and "logprob" in out
    # 1% risk takes 299 right calibration values (1 - 0.05^(1/299) <= 0.01): the note says so.
    code, out, err = cli(capsys, "trust", "api", "--risk", "0.01", "--bootstrap", "0")
    assert code == 0 and "at least 299 accepted calibration values" in " ".join(err.split())


def test_review_round_trip_into_a_new_gold_version(
    project: tuple[Path, set[str], list[Example]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, wrong, examples = project
    monkeypatch.chdir(root)
    assert cli(capsys, "run", "--quiet")[0] == 0
    code, out, err = cli(capsys, "review", "export", "api", "--out", "rq", "--json")
    assert code == 0, err
    summary = json.loads(out)
    rows = list(csv.DictReader((root / "rq/review.csv").open(encoding="utf-8")))
    flagged = {r["id"] for r in rows if r["path"] == "province"}
    assert flagged == wrong  # every wrong province, and nothing else of that field
    assert all("ungrounded" in r["reasons"] for r in rows if r["path"] == "province")
    assert (
        summary["items"] == len(rows) == len(json.loads((root / "rq/labelstudio.json").read_text()))
    )
    assert "<TextArea" in (root / "rq/labelstudio.xml").read_text()

    # CSV: correct two wrong provinces (one back to the gold, one to another value) and
    # confirm one (the reviewer thinks the model is right: gold becomes its value).
    by_id = {e.id: e for e in examples}
    picked = sorted(wrong)[:3]
    for r in rows:
        if r["path"] != "province":
            continue
        if r["id"] == picked[0]:
            r["corrected"] = json.dumps(by_id[r["id"]].gold["province"])  # type: ignore[index]
        elif r["id"] == picked[1]:
            r["corrected"] = "kabul, herat"
        elif r["id"] == picked[2]:
            r["accept"] = "yes"
    reviewed = root / "reviewed.csv"
    with reviewed.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    code, out, err = cli(
        capsys, "review", "import", str(reviewed), "--out", "gold2.jsonl", "--json"
    )
    assert code == 0, err
    result = json.loads(out)
    assert (result["corrected"], result["confirmed"], result["rows_changed"]) == (2, 1, 2)
    new = {e.id: e for e in load_examples(ISAF, str(root / "gold2.jsonl")).examples}
    assert new[picked[0]].gold == by_id[picked[0]].gold  # corrected back: unchanged
    assert new[picked[1]].gold["province"] == ["kabul", "herat"]  # type: ignore[index]
    assert new[picked[2]].gold["province"] == [WRONG]  # type: ignore[index]
    with Store(root / ".fieldwise") as store:
        assert [e.gold for e in store.load_dataset(result["dataset"])] == [
            new[e.id].gold for e in examples
        ]
        runs = store.runs("api")
    assert runs[-1]["dataset_fingerprint"] == result["dataset"]
    assert json.loads(runs[-1]["config_json"])["regold_of"] == runs[0]["id"]
    # The old predictions, scored against the corrected gold, with no new request.
    # The accepted value is now right: one more right province somewhere (the split is
    # by document, the same for both).
    held = []
    for run in (runs[0], runs[-1]):
        code, out, err = cli(capsys, "trust", str(run["id"]), "--json")
        assert code == 0, err
        path = json.loads(out)["models"][f"api#{run['id']}"]["paths"]["province"]
        held.append(round(path["accuracy"] * path["rows"]["held_out"]))
    assert held[1] - held[0] in (0, 1)
    with Store(root / ".fieldwise") as store:
        run = load_run(store, str(runs[-1]["id"]))
    golds = [ex.gold or {} for ex in run.examples]
    scored = score_outputs(ISAF, golds, run.outputs, ("reference",), n_boot=0)["reference"]
    right = int(np.nansum(scored.path_rows["province"]))
    assert right == len(examples) - len(wrong) + 1

    # Label Studio: a submitted edit corrects, an unchanged submission confirms, a
    # skipped task changes nothing.
    tasks: list[dict[str, Any]] = json.loads((root / "rq/labelstudio.json").read_text())
    province_tasks = [t for t in tasks if t["data"]["path"] == "province"][:3]
    export = []
    for n, task in enumerate(province_tasks):
        result_regions = task["predictions"][0]["result"]
        evidence = [r for r in result_regions if r["from_name"] == "evidence"]
        text = '["kandahar"]' if n == 0 else result_regions[-1]["value"]["text"][0]
        annotation = {
            "id": n + 1,
            "was_cancelled": n == 2,
            "result": [*evidence, {**result_regions[-1], "value": {"text": [text]}}],
        }
        export.append({"id": n + 1, "data": task["data"], "annotations": [annotation]})
    ls_file = root / "ls-export.json"
    ls_file.write_text(json.dumps(export), encoding="utf-8")
    code, out, err = cli(capsys, "review", "import", str(ls_file), "--out", "gold3.jsonl", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert (got["corrected"], got["confirmed"]) == (1, 1)
    third = {e.id: e for e in load_examples(ISAF, str(root / "gold3.jsonl")).examples}
    first_id = province_tasks[0]["data"]["id"]
    assert third[first_id].gold["province"] == ["kandahar"]  # type: ignore[index]


def test_bad_input_is_one_line(
    project: tuple[Path, set[str], list[Example]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, _, _ = project
    monkeypatch.chdir(root)
    code, _, err = cli(capsys, "trust")
    assert code == 2 and "no report" in err
    assert cli(capsys, "run", "--quiet")[0] == 0
    for args, needle in [
        (("trust", "api", "--risk", "1.5"), "--risk"),
        (("trust", "api", "--calibration", "magic"), "unknown calibration"),
        (("trust", "nobody"), "no run of a model named"),
        (("review", "export", "api", "--out", "rq", "--profile", "nope"), "unknown profile"),
        (("review", "import", "missing.csv", "--out", "x.jsonl"), "not found"),
    ]:
        code, _, err = cli(capsys, *args)
        assert code == 2, (args, err)
        assert needle in err and "Traceback" not in err
    bad = root / "bad.csv"
    bad.write_text("dataset,id,path,value,corrected\nffff,x,province,1,2\n", encoding="utf-8")
    code, _, err = cli(capsys, "review", "import", str(bad), "--out", "y.jsonl")
    assert code == 2 and "no dataset with fingerprint" in err


def test_agreement_across_repeats_is_a_signal(
    project: tuple[Path, set[str], list[Example]],
    fake_openai: FakeServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three sampled repeats, one request at a time (repeat 0 of every row first): the rows
    whose first answer is wrong answer right afterwards, so agreement with the first
    (scored) repeat singles out the errors."""
    root, wrong, examples = project
    monkeypatch.chdir(root)
    replies, _ = _answers(examples)
    seen: dict[str, int] = {}

    def reply(text: str) -> str:
        for t, r in replies.items():
            if t in text:
                seen[t] = seen.get(t, 0) + 1
                if seen[t] > 1:  # a later repeat: the gold
                    ex = next(e for e in examples if e.text == t)
                    return json.dumps(ex.gold)
                return r
        return "{}"

    fake_openai.behaviour.reply = reply
    (root / "fieldwise.yaml").write_text(
        "data: {test: gold.jsonl}\n"
        "models: [{name: api, spec: openai/fake, repeats: 3, concurrency: 1, options: "
        f"{{base_url: '{fake_openai.url}', temperature: 0.7, logprobs: false}}}}]\n"
        "profiles: [reference]\nbootstrap: 0\n",
        encoding="utf-8",
    )
    code, _, err = cli(capsys, "run", "--quiet")
    assert code == 0, err
    assert all(seen[e.text] == 3 for e in examples)
    for args in (("trust", "--json"), ("trust", "api", "--json", "--bootstrap", "0")):
        code, out, err = cli(capsys, *args)
        assert code == 0, err
        province = json.loads(out)["models"]["api"]["paths"]["province"]
        assert "logprob" not in province["signals"]
        assert province["signal"] == "agreement", args
        n = province["rows"]["held_out"]
        right = round(n * province["accuracy"])
        assert right < n  # the first repeat's errors are what is judged
        least = sum((k - right) / k for k in range(right + 1, n + 1)) / n
        assert province["aurc"] == pytest.approx(least, abs=1e-6)
