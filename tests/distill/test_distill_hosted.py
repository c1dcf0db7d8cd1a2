"""A hosted student: the teacher's kept labels become a Together fine-tuning job (through
the real SDK against the fake), the finished model predicts the gold rows by name, and no
per-filter ablation is paid for unless asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.cli.helpers import cli
from tests.distill.teachers import isaf_split, teacher_server
from tests.fakes.together_server import FakeTogether


def test_hosted_student_trains_once_on_the_kept_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    train, gold = isaf_split()
    train, gold = train[:30], gold[:10]
    teacher = teacher_server(train + gold, [])
    student = FakeTogether().start()
    student.reply = json.dumps(gold[0].gold or {})  # the "fine-tune" answers one label
    try:
        monkeypatch.setenv("TEACHER_KEY", "sk-teacher-key-000000000000")
        monkeypatch.setenv("TOGETHER_API_KEY", "tgp_v1_fakefakefakefakefake")
        monkeypatch.chdir(tmp_path)
        options = {"base_url": teacher.url, "api_key_env": "TEACHER_KEY", "max_tokens": 2000}
        config = {
            "models": [{"name": "teacher", "spec": "openai/big", "options": options}],
            "output": "store",
        }
        (tmp_path / "fieldwise.yaml").write_text(yaml.safe_dump(config))
        hosted = {
            "provider": "together",
            "base_model": "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
            "name": "small",
            "train": "placeholder.jsonl",  # replaced by the teacher's kept labels
            "task": "isaf",
            "suffix": "small",
            "poll_interval_s": 0.01,
            "base_url": student.url,
            "download_adapter": False,
        }
        (tmp_path / "student.yaml").write_text(yaml.safe_dump(hosted))
        (tmp_path / "u.jsonl").write_text(
            "".join(json.dumps({"id": e.id, "text": e.text}) + "\n" for e in train)
        )
        (tmp_path / "g.jsonl").write_text(
            "".join(json.dumps({"id": e.id, "text": e.text, **(e.gold or {})}) + "\n" for e in gold)
        )
        code, out, err = cli(
            capsys, "distill", "--teacher", "teacher", "--student", "student.yaml",
            "--data", "u.jsonl", "--gold", "g.jsonl", "--filter", "valid", "--json", "-q",
            "--bootstrap", "50",
        )  # fmt: skip
        assert code == 0, err
        res = json.loads(out)
        assert list(student.jobs) == ["ft-0001"]  # one job: no ablation paid for by default
        uploaded = student.files["file-1"]["raw"].decode().splitlines()
        assert len(uploaded) == len(train) == res["kept"]
        first = json.loads(uploaded[0])["messages"][-1]["content"]
        assert json.loads(first)["province"] == (train[0].gold or {})["province"]
        # the student was asked for every gold row, by its registered name and host
        asked = [p for m, p in student.log if p == "/v1/chat/completions"]
        assert len(asked) == len(gold)
        assert res["student"]["fields"]["province"] is not None
        assert res["filters"] == {}
    finally:
        teacher.stop()
        student.stop()
