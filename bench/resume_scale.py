"""A resumed ``fieldwise predict`` over a store that already holds 100,000 predictions.

The store is filled directly (no 100,000 requests): the dataset is saved and every row but
the last ``--pending`` gets a stored prediction under the exact key the CLI computes. Then
the CLI is timed on the full file against the fake server (instant replies): it must find
the pending rows, send only those and write all 100,000 outputs. The in-process part that
"finds the pending examples" (keys for every row, then the store lookup) is timed on its
own too. Texts are the real ISAF press releases, each with a unique marker, cycled.

    PYTHONPATH=src:. python bench/resume_scale.py
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from runner_throughput import ROOT, ServerProcess, write_rows  # noqa: E402

from fieldwise._hashing import prediction_keys  # noqa: E402
from fieldwise.data import load_examples  # noqa: E402
from fieldwise.models import create_model  # noqa: E402
from fieldwise.store import PredictionRow, Store  # noqa: E402
from fieldwise.tasks import load_task  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pending", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    task = load_task("isaf")
    server = ServerProcess(0.0, 0.0, 0.5, seed=0)
    result: dict[str, object] = {"rows": args.rows, "pending": args.pending}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        data = tmp / "rows.jsonl"
        write_rows(data, args.rows)
        dataset = load_examples(task, data)
        model = create_model("openai/fake", task, {"base_url": server.url})
        model.prepare([])
        identity = model.identity()
        project = tmp / "project"
        with Store(project) as store:
            store.save_dataset(task.name, dataset.fingerprint, dataset.source, dataset.examples)
            keys = prediction_keys(identity, dataset.examples)
            done = len(keys) - args.pending
            store.save_predictions(
                None,
                "openai/fake",
                [
                    PredictionRow(k, ex.id, '{"echo": "x"}', None, 0.2, 900, 12, None, "stop")
                    for k, ex in zip(keys[:done], dataset.examples, strict=False)
                ],
            )
            finds, cpus = [], []
            for _ in range(args.repeats):
                start, cpu = time.perf_counter(), time.process_time()
                found = store.finished(prediction_keys(identity, dataset.examples))
                finds.append(time.perf_counter() - start)
                cpus.append(time.process_time() - cpu)
            assert len(found) == done
        result["find_pending_s"] = [round(x, 3) for x in finds]
        result["find_pending_median_s"] = round(statistics.median(finds), 3)
        result["find_pending_cpu_median_s"] = round(statistics.median(cpus), 3)
        cmd = [sys.executable, "-m", "fieldwise.cli", "predict", "--model", "openai/fake"]
        cmd += ["--task", "isaf", "--data", str(data), "--out", str(tmp / "out.jsonl")]
        cmd += ["--project", str(project), "--option", f"base_url={server.url}", "-q"]
        walls, cli_cpus = [], []
        for rep in range(args.repeats):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(cmd, check=True, env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""})
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cli_cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            sent = [r for r in server.log()]
            print(f"CLI rep {rep}: {walls[-1]:.2f}s, {len(sent)} requests so far", file=sys.stderr)
        result["cli_resume_s"] = [round(w, 3) for w in walls]
        result["cli_resume_median_s"] = round(statistics.median(walls), 3)
        result["cli_resume_cpu_median_s"] = round(statistics.median(cli_cpus), 3)
        result["requests_sent"] = len(server.log())
        with (tmp / "out.jsonl").open() as fh:
            result["outputs_written"] = sum(1 for _ in fh)
    server.close()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
