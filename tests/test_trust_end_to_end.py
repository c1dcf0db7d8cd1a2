"""Grounding and out-of-domain probes through a whole run, from files to the report."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from fieldwise.config import ImportConfig, ProjectConfig
from fieldwise.data import load_examples
from fieldwise.pipeline import run_project
from fieldwise.store import Store
from fieldwise.tasks import load_task
from fieldwise.trust.ood import load_probes
from tests.cli.helpers import cli

ISAF = load_task("isaf")


def _lines(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


OOD = (
    "valid JSON %", "answers a field %", "invents a value %", "abstains %",
    "drops a removed value %", "follows a changed value %", "keeps the old value %",
)  # fmt: skip


def _table(page: str, section: str) -> dict[str, dict[str, str]]:
    """The first table after ``section``: model (honest/liar) → header → cell text."""
    start = page.index(section)
    head_html, body_html = page[start : page.index("</table>", start)].split("</thead>")
    strip = lambda h: re.sub(r"<[^>]+>", "", h).strip()  # noqa: E731
    head = [strip(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", head_html, re.S)]
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body_html, re.S):
        cells = [strip(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        label = min(("honest", "liar"), key=lambda m: row.find(m) % 10**9)
        out[label] = dict(zip(head, cells, strict=False))
    return out


def _wrong(text: str) -> str:
    """A province the text does not name."""
    return next(p for p in ("nimroz", "badghis", "nuristan") if p not in text.lower())


def _run_imports(
    tmp_path: Path,
    gold: Path,
    outputs: dict[str, tuple[list[dict[str, object]], list[dict[str, object]]]],
    task: str = "isaf",
) -> tuple[str, dict[str, Any]]:
    """A run of imported models (name → their lines on the test rows, on the probes in
    ``tmp_path/ood.jsonl``): the report page and its trust.json."""
    imports = [
        ImportConfig(
            path=str(_lines(tmp_path / f"{name}.jsonl", test_lines)),
            name=name,
            ood=str(_lines(tmp_path / f"{name}_ood.jsonl", probe_lines)),
        )
        for name, (test_lines, probe_lines) in outputs.items()
    ]
    cfg = ProjectConfig(
        task=task,
        data={"train": None, "test": str(gold)},
        models=[],
        imports=imports,
        ood="ood.jsonl",
        bootstrap=50,
        output=str(tmp_path / "out"),
        base_dir=tmp_path,
    )
    result = run_project(cfg, quiet=True)
    trust = json.loads((result.report_path.parent / "trust.json").read_text(encoding="utf-8"))
    return result.report_path.read_text(encoding="utf-8"), trust


def test_imported_models_get_grounding_columns_evidence_and_an_ood_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = load_examples(ISAF, "sample").examples[:30]
    gold = _lines(
        tmp_path / "gold.jsonl", [{"id": e.id, "text": e.text, **(e.gold or {})} for e in examples]
    )
    code, _, err = cli(
        capsys, "data", "ood", "--data", str(gold), "--out", str(tmp_path / "ood.jsonl"),
        "--perturbed", "4",
    )  # fmt: skip
    assert code == 0, err
    probes = load_probes(tmp_path / "ood.jsonl")
    assert [p.probe for p in probes].count("changed") == 4
    honest = [{"id": e.id, "output": json.dumps(e.gold)} for e in examples]
    liar = [
        {
            "id": e.id,
            "output": json.dumps({**(e.gold or {}), "province": [_wrong(e.text)]}),
        }
        for e in examples
    ]
    # on the probes: the honest model abstains on off-topic texts and follows the edits;
    # the liar names a province everywhere
    honest_ood = []
    for p in probes:
        out = {"province": []} if p.probe == "offtopic" else (p.gold or {"province": []})
        honest_ood.append({"id": p.id, "output": json.dumps(out)})
    liar_ood = [{"id": p.id, "output": json.dumps({"province": ["nimroz"]})} for p in probes]
    page, data = _run_imports(
        tmp_path, gold, {"honest": (honest, honest_ood), "liar": (liar, liar_ood)}
    )
    board = _table(page, '<section id="leaderboard">')
    # province is the one required ISAF field; every gold province is named in its text
    assert (board["honest"]["grounded %"], board["honest"]["hallucinated %"]) == ("100.0", "0.0")
    assert (board["liar"]["grounded %"], board["liar"]["hallucinated %"]) == ("0.0", "100.0")
    # evidence on hover: every data-ev span of a gold province cell spells a province
    first = examples[0]
    body = page[page.index('id="ex-0"') : page.index("</tbody>", page.index('id="ex-0"'))]
    gold_row = body[body.index('<tr class="g">') :]
    evs = re.findall(r'data-ev="([^"]+)"', gold_row)
    spans = [tuple(map(int, item.split(":")[0].split("-"))) for ev in evs for item in ev.split()]
    named = {first.text[a:b].lower().replace(" ", "_") for a, b in spans}
    assert set(first.gold["province"]) <= named  # type: ignore[index]
    assert 'data-ug="1"' in body  # the liar's province is nowhere in the text
    assert "<script src" not in page and "http" not in page.split("<script>")[1]
    # the out-of-domain section, one row per model
    ood = _table(page, '<section id="ood">')
    assert [ood["honest"][k] for k in OOD] == [
        "100.0",
        "0.0",
        "0.0",
        "100.0",
        "100.0",
        "100.0",
        "0.0",
    ]
    assert [ood["liar"][k] for k in OOD[1:4]] == ["100.0", "100.0", "0.0"]
    assert html.escape(str(tmp_path / "ood.jsonl")) in page
    # the same numbers for scripts, beside the page
    assert data["grounding"]["liar"]["hallucinated"]["rate"] == 1.0
    assert data["grounding"]["honest"]["fields"]["province"]["grounded_rate"] == 1.0
    assert data["ood"]["honest"]["abstention"]["rate"] == 1.0
    assert data["ood"]["liar"]["probes"] == {"offtopic": 70, "removed": 4, "changed": 4}


@pytest.mark.slow
def test_a_config_runs_the_baseline_on_the_probes_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(
        capsys, "data", "ood", "--data", "sample", "--out", "probes.jsonl", "--perturbed", "3"
    )
    assert code == 0, err
    (tmp_path / "fieldwise.yaml").write_text(
        "data: {train: sample, limit: 60}\n"
        "models: [{name: baseline, spec: baseline/auto}]\n"
        "profiles: [reference, strict, strict+grounding]\n"
        "bootstrap: 50\nood: probes.jsonl\n",
        encoding="utf-8",
    )
    code, out, err = cli(capsys, "run", "--quiet")
    assert code == 0, err
    page = Path(out.strip().splitlines()[-1]).read_text(encoding="utf-8")
    assert '<section id="ood">' in page and "not run on the probes" not in page
    assert "strict+grounding" in page
    with Store(tmp_path / ".fieldwise") as store:
        ood_runs = store.runs("baseline@ood")
        assert len(ood_runs) == 1 and ood_runs[0]["n_examples"] == 70 + 6
        stamps = dict(store.db.execute("SELECT key, created_at FROM predictions").fetchall())
    code, _, err = cli(capsys, "run", "--quiet")
    assert code == 0, err
    with Store(tmp_path / ".fieldwise") as store:
        again = dict(store.db.execute("SELECT key, created_at FROM predictions").fetchall())
    assert again == stamps  # the probes were answered once, then read from the store


def test_a_nested_task_gets_evidence_per_record_leaf_and_its_own_probes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "invoices"
    task = f"{example / 'task.py'}:INVOICES"
    rows = [json.loads(line) for line in (example / "data.jsonl").read_text().splitlines()[:20]]
    gold = _lines(tmp_path / "gold.jsonl", rows)
    code, _, err = cli(
        capsys, "data", "ood", "--task", task, "--data", str(gold), "--out",
        str(tmp_path / "ood.jsonl"), "--perturbed", "3",
    )  # fmt: skip
    assert code == 0, err
    probes = load_probes(tmp_path / "ood.jsonl")
    answer = lambda r: {k: v for k, v in r.items() if k not in ("id", "text")}  # noqa: E731

    def liar(r: dict[str, object]) -> dict[str, object]:
        """Right but for an invented invoice number and SKU on every line."""
        out = json.loads(json.dumps(answer(r)))
        out["invoice_number"] = "XQ-99017"
        for it in out["line_items"]:
            it["sku"] = "ZZ-404"
        return out

    outputs = {
        "honest": ([answer(r) for r in rows], [p.gold or {} for p in probes]),
        "liar": ([liar(r) for r in rows], [liar(rows[0]) for _ in probes]),
    }
    lines = {
        name: (
            [{"id": r["id"], "output": o} for r, o in zip(rows, test_out, strict=True)],
            [{"id": p.id, "output": o} for p, o in zip(probes, probe_out, strict=True)],
        )
        for name, (test_out, probe_out) in outputs.items()
    }
    page, data = _run_imports(tmp_path, gold, lines, task)
    board = _table(page, '<section id="leaderboard">')
    assert (board["honest"]["grounded %"], board["honest"]["hallucinated %"]) == ("100.0", "0.0")
    assert float(board["liar"]["hallucinated %"]) > 10
    fields = {m: data["grounding"][m]["fields"]["line_items[].sku"] for m in outputs}
    assert fields["honest"]["grounded_rate"] == 1.0 and fields["liar"]["grounded_rate"] == 0.0
    # the gold's line-items cell lists a span for every SKU of every record of the row
    first = rows[0]
    body = page[page.index('id="ex-0"') : page.index("</tbody>", page.index('id="ex-0"'))]
    start = body.index('<tr class="g">')
    gold_row = body[start : body.index("</tr>", start)]
    assert f'<span class="id">{first["id"]}</span>' in body
    spans = [
        tuple(map(int, item.split(":")[0].split("-")))
        for ev in re.findall(r'data-ev="([^"]+)"', gold_row)
        for item in ev.split()
    ]
    written = {str(first["text"])[a:b] for a, b in spans}
    skus = {it["sku"] for it in first["line_items"] if it["sku"]}  # type: ignore[union-attr]
    assert skus and skus <= written
    # out of domain: the honest model abstains and follows every edit; the liar answers
    ood = data["ood"]
    assert ood["honest"]["probes"] == {"offtopic": 70, "removed": 3, "changed": 3}
    assert [ood["honest"][k]["rate"] for k in ("abstention", "follows_changed")] == [1.0, 1.0]
    assert [ood["honest"][k]["rate"] for k in ("stuck_changed", "still_removed")] == [0.0, 0.0]
    assert ood["liar"]["abstention"]["rate"] == 0.0 and ood["liar"]["ungrounded"]["rate"] > 0.5
