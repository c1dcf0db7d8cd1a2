"""``fieldwise optimize`` and ``optimize:``/``prompt:`` in a project run, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldwise.tasks.named_prompts import PromptSpec, save_prompt
from fieldwise.tasks.prompts import load_template
from tests.cli.helpers import cli
from tests.optimize.conftest import write_rows

KEYS = {"prompt", "budget", "candidates", "best"}
BUDGET_KEYS = {"calls_estimated", "calls_made", "tokens", "cost"}


@pytest.fixture()
def files(tmp_path: Path, splits: tuple) -> dict[str, str]:
    train, val, test = splits
    return {
        name: str(write_rows(tmp_path / f"{name}.jsonl", rows))
        for name, rows in (("train", train), ("val", val), ("test", test))
    }


def test_optimize_prints_the_interface_json_and_saves_the_prompt(
    capsys: pytest.CaptureFixture[str], files: dict[str, str], tmp_path: Path
) -> None:
    args = [
        "optimize", "--model", "simulated/isaf", "--task", "isaf", "--train", files["train"],
        "--val", files["val"], "--test", files["test"], "--budget", "300", "--seed", "3",
        "--name", "mine", "--json", "--option", "few_shot=1", "--price", "2.5,10",
        "--project", str(tmp_path / "proj"),
    ]  # fmt: skip
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    data = json.loads(out)
    assert set(data) >= KEYS and set(data["budget"]) >= BUDGET_KEYS
    assert data["prompt"] == "mine"
    assert data["budget"]["calls_made"] <= 300
    assert data["budget"]["cost"] is None  # the simulated optimiser has no price: unknown
    assert all({"id", "val_score", "prompt_tokens"} <= set(c) for c in data["candidates"])
    assert data["best"] in {c["id"] for c in data["candidates"]}
    saved = json.loads(Path(data["path"]).read_text())
    assert saved["name"] == "mine" and saved["hash"] == data["hash"]
    code, out2, _ = cli(capsys, *args[:-4], "--optimizer-price", "1,2", *args[-4:])
    assert json.loads(out2)["budget"]["cost"] > 0
    assert json.loads(out2)["candidates"] == data["candidates"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "--budget is required"),
        (["--budget", "10"], "cannot evaluate even the original"),
        (["--budget", "300", "--price", "cheap"], "--price must be IN,OUT"),
        (["--budget", "300", "--name", "original"], "reserved"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], files: dict[str, str], tmp_path: Path,
    extra: list[str], message: str,
) -> None:  # fmt: skip
    code, _, err = cli(
        capsys, "optimize", "--model", "simulated/isaf", "--train", files["train"],
        "--val", files["val"], "--project", str(tmp_path), *extra,
    )  # fmt: skip
    assert code == 2
    assert message in err and "Traceback" not in err


def test_a_project_run_pairs_the_optimised_variant_with_the_original(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, splits: tuple
) -> None:
    train, val, test = splits
    write_rows(tmp_path / "train.jsonl", train + val)
    write_rows(tmp_path / "test.jsonl", test)
    evil = PromptSpec(template=load_template().source, instruction="<script>alert(1)</script>")
    save_prompt(tmp_path / "out", "evil", evil)
    (tmp_path / "fieldwise.yaml").write_text(
        "task: isaf\n"
        "data: {train: train.jsonl, test: test.jsonl}\n"
        "bootstrap: 300\n"
        "output: out\n"
        "models:\n"
        "  - name: sim\n"
        "    spec: simulated/isaf\n"
        "    options: {few_shot: 1}\n"
        "    price: {input_per_mtok: 2.5, output_per_mtok: 10}\n"
        "    optimize: {budget: 500, val_size: 0.25}\n"
        "  - name: hostile\n"
        "    spec: simulated/isaf\n"
        "    prompt: evil\n"
    )
    code, out, err = cli(capsys, "run", "-c", str(tmp_path / "fieldwise.yaml"), "-q")
    assert code == 0, err
    report = Path(out.strip().splitlines()[-1])
    pairs = json.loads((report.parent / "pairwise.json").read_text())["comparisons"]
    (agg,) = [
        c for c in pairs
        if c["target"] == "aggregate"
        and {c["a"], c["b"]} == {"sim[prompt=original]", "sim[prompt=sim-opt]"}
    ]  # fmt: skip
    better = agg["a"] if agg["diff"] > 0 else agg["b"]
    assert better == "sim[prompt=sim-opt]"
    assert agg["p_holm"] < 0.05
    html = report.read_text()
    assert 'id="optimisation"' in html and "sim-opt@v1" in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert (report.parent / "charts" / "optimize-sim-opt_v1-trajectory.png").is_file()
    # The saved prompt shows no test row, and is what the optimised variant ran with.
    saved = json.loads((tmp_path / "out" / "prompts" / "sim-opt" / "v1.json").read_text())
    shown = {s["text"] for s in saved["spec"]["shots"]["examples"]}
    assert not shown & {ex.text for ex in test}


def test_a_prompt_that_shows_test_rows_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, splits: tuple
) -> None:
    from fieldwise.tasks.named_prompts import Shot, ShotPolicy

    train, _, test = splits
    write_rows(tmp_path / "train.jsonl", train)
    write_rows(tmp_path / "test.jsonl", test)
    leaky = PromptSpec(
        template=load_template().source,
        shots=ShotPolicy(source="random", k=1, examples=(Shot.of(test[0]),)),
    )
    save_prompt(tmp_path / "out", "leaky", leaky)
    (tmp_path / "fieldwise.yaml").write_text(
        "task: isaf\ndata: {train: train.jsonl, test: test.jsonl}\noutput: out\n"
        "models:\n  - {name: sim, spec: simulated/isaf, prompt: leaky}\n"
    )
    code, _, err = cli(capsys, "run", "-c", str(tmp_path / "fieldwise.yaml"), "-q")
    assert code == 2 and "shows 1 of the test rows" in err
