"""Bringing your own outputs at 100,000 rows, timed through the CLI as a user runs it.

Data: the real ISAF dev rows cycled to ``--rows`` (each text with a unique marker, so no
two rows share a cache key), and three ``{"id", "output"}`` files of the gold answers
perturbed at 2%, 8% and 14% (some fenced, some missing), as ``bench/scale_report.py``.
Each case is a fresh ``python -m fieldwise.cli ...`` process; its CPU is the child's
user+system time (``wait4``). Start-up is subtracted: the same command on one-row files
(interpreter, imports, store, for ``run`` a one-row report) is timed before each case.

Cases:
- ``data info``: load and validate the 100,000-row labelled file (and fingerprint it);
- ``import jsonl``, into a fresh project: the data file, then 100,000 predictions read,
  checked, keyed and stored, the dataset stored, the import recorded as a run;
- ``import jsonl``, a second model into the same project (the dataset is stored already);
- ``run`` with three 100,000-row files under ``imports:`` (``models: []``), a fresh
  project: load, store, score both profiles with 1,000 resamples, report;
- the same ``run`` again (the files unchanged: nothing is stored twice).

``json.loads`` of the data file's lines in this process is printed as a yardstick for
the machine (and its load) the numbers came from.

    PYTHONPATH=src python bench/import_scale.py [--rows 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from report_speed import perturb  # noqa: E402

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "isaf" / "dev.jsonl"
if not DEV.is_file():  # a worktree one level deeper than the main checkout
    DEV = Path("/work/shared/data/isaf/dev.jsonl")


def write_data(folder: Path, rows: int) -> tuple[Path, list[Path]]:
    """The labelled file and three prediction files of ``rows`` rows each."""
    real = [json.loads(line) for line in DEV.open(encoding="utf-8") if line.strip()]
    rng = random.Random(0)
    data = folder / f"test-{rows}.jsonl"
    golds = []
    with data.open("w", encoding="utf-8") as fh:
        for i in range(rows):
            row = dict(real[i % len(real)])
            row["id"], row["text"] = f"row-{i:06d}", f"[doc-{i:06d}] {row['text']}"
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            golds.append((row["id"], {k: v for k, v in row.items() if k not in ("id", "text")}))
    preds = []
    for m in range(3):
        path = folder / f"preds{m}-{rows}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for example_id, gold in golds:
                out = perturb(gold, 0.02 + 0.06 * m, rng)
                fh.write(json.dumps({"id": example_id, "output": out}) + "\n")
        preds.append(path)
    return data, preds


def run_config(folder: Path, data: Path, preds: list[Path], out: Path) -> Path:
    path = folder / f"{data.stem}-{out.name}.yaml"
    imports = "".join(f"  - {{path: {p}, name: m{m}}}\n" for m, p in enumerate(preds))
    path.write_text(
        f"task: isaf\ndata: {{train: null, test: {data}}}\nmodels: []\n"
        f"imports:\n{imports}output: {out}\n",
        encoding="utf-8",
    )
    return path


def timed(args: list[str], cwd: Path) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of one CLI process."""
    cmd = [sys.executable, "-m", "fieldwise.cli", *args]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{err.decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        data, preds = write_data(tmp, args.rows)
        one_data, one_preds = write_data(tmp, 1)
        start = time.process_time()
        for line in data.read_text(encoding="utf-8").split("\n"):
            if line:
                json.loads(line)
        yardstick = time.process_time() - start

        def cases(
            rows_data: Path, rows_preds: list[Path], tag: str
        ) -> dict[str, tuple[float, float, float]]:
            proj = tmp / f"proj-{tag}"
            out = tmp / f"out-{tag}"
            shutil.rmtree(proj, ignore_errors=True)
            shutil.rmtree(out, ignore_errors=True)
            config = run_config(tmp, rows_data, rows_preds, out)
            imp = ["import", "jsonl", "--data", str(rows_data), "--project", str(proj)]
            return {
                "data info": timed(["data", "info", "--data", str(rows_data)], tmp),
                "import jsonl, fresh project": timed(
                    [*imp, str(rows_preds[0]), "--name", "m0"], tmp
                ),
                "import jsonl, dataset stored": timed(
                    [*imp, str(rows_preds[1]), "--name", "m1"], tmp
                ),
                "run, 3 imports, fresh project": timed(["run", "-c", str(config), "-q"], tmp),
                "run again, imports unchanged": timed(["run", "-c", str(config), "-q"], tmp),
            }

        results: dict[str, list[tuple[float, float, float, float, float]]] = {}
        for _ in range(args.repeats):
            small = cases(one_data, one_preds, "one")
            big = cases(data, preds, "big")
            for case, (wall, cpu, rss) in big.items():
                base_wall, base_cpu, _ = small[case]
                results.setdefault(case, []).append(
                    (wall, cpu, wall - base_wall, cpu - base_cpu, rss)
                )
    load = os.getloadavg()[0]
    print(f"rows {args.rows}, repeats {args.repeats}, load average now {load:.1f}")
    print(f"yardstick: json.loads of the data file's lines, in-process: {yardstick:.2f} s CPU")
    print("| case | CPU net (start-up subtracted) | wall net | CPU raw | wall raw | peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    summary = {}
    for case, runs in results.items():
        med = [statistics.median(r[i] for r in runs) for i in range(5)]
        wall, cpu, net_wall, net_cpu, rss = med
        cpus = ", ".join(f"{r[3]:.2f}" for r in runs)
        print(
            f"| {case} | **{net_cpu:.2f} s** ({cpus}) | {net_wall:.2f} s | {cpu:.2f} s "
            f"| {wall:.2f} s | {rss:.0f} MiB |"
        )
        summary[case] = {"cpu_net_s": round(net_cpu, 2), "wall_net_s": round(net_wall, 2)}
    print(json.dumps({"rows": args.rows, "load": round(load, 1), "yardstick_s": round(yardstick, 2),
                      "cases": summary}))  # fmt: skip


if __name__ == "__main__":
    main()
