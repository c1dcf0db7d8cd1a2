"""What the CLI prints for people fits an 80-column terminal: no number cut short, no
collapsed column, and paths shown relative to the current folder (or ``~``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from fieldwise.cli._common import show_path
from fieldwise.cli.store import runs_table
from fieldwise.store import RunRecord, Store
from tests.cli.helpers import cli


def _render(renderable: object, width: int = 80) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text()


def _column(text: str, name: str, next_name: str) -> str:
    """Everything printed in one column of a rendered table, wrapped pieces joined."""
    header, *body = text.splitlines()
    start, end = header.index(name), header.index(next_name)
    return "".join(line[start:end].strip() for line in body[1:])


def test_show_path_shortens_paths_inside_specs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path.parent))
    assert show_path(f"hf/{tmp_path}/runs/base:{tmp_path}/runs/lora") == ("hf/runs/base:runs/lora")
    assert show_path(f"baseline/{tmp_path.parent}/other/m") == "baseline/~/other/m"
    assert show_path(str(tmp_path)) == "."
    for unchanged in ("openai/gpt-4o", "hf/Qwen/Qwen2.5-0.5B:adapters/x", "/etc/hosts"):
        assert show_path(unchanged) == unchanged


def _record(label: str, spec: str, fingerprint: str, n: int) -> RunRecord:
    return RunRecord(
        label=label,
        spec=spec,
        kind="api",
        task="isaf",
        identity={"name": label},
        decoding={},
        template_hash=None,
        dataset_fingerprint=fingerprint,
        dataset_source=None,
        n_examples=n,
        package_version="0",
        git_sha="0123456789abcdef0123",
    )


def test_store_runs_fits_80_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    long_label = "gpt-4o-mini[output_mode=json_schema,few_shot=3]"
    with Store(tmp_path / "proj") as store:
        store.start_run(_record("baseline", f"baseline/{tmp_path}/models/b-1234", "a" * 16, 245))
        run = store.start_run(
            _record(long_label, f"hf/{tmp_path}/runs/tiny-base:{tmp_path}/runs/lora", "a" * 16, 7)
        )
        store.finish_run(run, "interrupted")
        recorded = store.runs()
    text = _render(runs_table(recorded))
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text and str(tmp_path) not in text
    assert "interrupted" in text and " 245" in text
    # labels and specs wrap, never cut; specs are relative to the current folder
    assert long_label in _column(text, "label", "spec")
    assert "hf/runs/tiny-base:runs/lora" in _column(text, "spec", "rows")
    # what every run shares is said once, below the table
    code, out, _ = cli(capsys, "store", "runs", "--project", str(tmp_path / "proj"))
    assert code == 0 and f"every run: dataset {'a' * 16}, git 01234567" in out
    code, out, _ = cli(capsys, "store", "runs", "--project", "proj", "--json")
    assert code == 0 and '"status": "interrupted"' in out and str(tmp_path) in out


def _comparison(a: str, b: str, target: str, diff: float, n: int = 49) -> dict[str, object]:
    return {
        "a": a, "b": b, "target": target, "n": n, "diff": diff,
        "ci": [diff - 9.5, diff + 9.5], "ci_holm": [diff - 41.18, diff + 41.18],
        "p": 0.0001, "p_holm": 0.0004, "test": "mcnemar" if target != "aggregate" else "sign-flip",
        "significant": True, "outcome": "win", "mde": None if diff > 99 else 14.95,
    }  # fmt: skip


def test_compare_fits_80_columns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fieldwise.cli import compare as compare_cli

    long = "gpt-4o-mini[output_mode=json_schema,few_shot=3]"
    fields = ["aggregate", "start_date", "min_leaders_captured", "killcaptureraid"]
    comparisons = [
        _comparison(a, b, t, d)
        for a, b in (("baseline", long), ("baseline-abstain", long), ("baseline", "mini"))
        for t, d in zip(fields, (97.8, 100.0, -83.67, 100.0), strict=True)
    ]
    comparisons.append({**_comparison("baseline", "mini", "province", 0.0, n=12)})
    data = {
        "profile": "reference", "rows_scored": 49, "clusters": 49, "resamples": 1000,
        "comparisons": comparisons, "resolution": {"aggregate": 1.54},
    }  # fmt: skip
    recorder = Console(width=80, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    monkeypatch.setattr(compare_cli, "console", recorder)
    compare_cli._print(data, show_all=True)
    text = recorder.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    # every number whole, every pair named in full once, rows counted per pair
    for c in comparisons:
        lo, hi = c["ci_holm"]  # type: ignore[misc]
        assert f"[{lo:+.2f}, {hi:+.2f}]" in text and f"{c['diff']:+.2f}" in text
    assert f"baseline − {long} (49 rows)" in text.replace("\n", "")
    assert "min_leaders_captured" in text and "p: aggregate sign-flip; fields mcnemar" in text
    # a pair whose row counts differ gets an n column instead of a count in its title
    lines = [line.strip() for line in text.splitlines()]
    assert "baseline − mini" in lines and " 12 " in text
