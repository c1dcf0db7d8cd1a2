"""Run in a child process by the resume tests: predict ``N`` docs against ``URL`` into
``PROJECT`` (``REPEATS`` times each, optionally), so the test can kill it mid-run
(``python -m tests.runner.child_predict URL PROJECT N [REPEATS]``)."""

from __future__ import annotations

import sys

from fieldwise.models import create_model
from fieldwise.runner import RunSettings, run_model
from fieldwise.store import Store
from fieldwise.tasks import load_task
from tests.runner.helpers import docs


def main() -> None:
    url, project, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    model = create_model("openai/fake-model", load_task("isaf"), {"base_url": url})
    with Store(project) as store:
        run_model(
            model,
            docs(n),
            store,
            label="m",
            run_id=None,
            settings=RunSettings(concurrency=4),
            repeats=repeats,
        )
    print("finished", flush=True)


if __name__ == "__main__":
    main()
