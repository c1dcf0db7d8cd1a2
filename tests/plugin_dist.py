"""A third-party plugin distribution written to a temp folder, as ``pip install`` would
leave it: a package plus a ``*.dist-info`` whose ``entry_points.txt`` declares one
extension of each kind. Nothing in fieldwise names it; only the entry points do."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldwise import registry

ENTRY_POINTS = {
    "models": ("fwconst", "fwplug.backend:ConstantModel"),
    "providers": ("fwhost", "fwplug.provider:InstantProvider"),
    "export_formats": ("fw-pairs", "fwplug.formats:Pairs"),
    "metrics": ("fw_within_days", "fwplug.days:WithinDays"),
    "tasks": ("fw-routes", "fwplug.routes:ROUTES"),
    "hosts": ("fwcloud", "fwplug.cloud:HOST"),
    "executors": ("fw-counted", "fwplug.counted:Counted"),
}

MODULES = {
    "__init__.py": "",
    "backend.py": '''
        """A backend that answers every row with the JSON in its ``answer`` option."""
        from typing import ClassVar

        from fieldwise.models import Generation, Model, ModelOptions


        class ConstantModel(Model):
            provider: ClassVar[str] = "fwconst"
            key_env_var: ClassVar[str | None] = "FWPLUG_API_KEY"
            key_pattern: ClassVar[str | None] = r"\\bfwk-[A-Za-z0-9]{12,}"

            class Options(ModelOptions):
                answer: str = "{}"

            async def generate(self, batch):
                return [Generation(self.options.answer) for _ in batch]
    ''',
    "provider.py": '''
        """A hosted service that finishes every job at once; its models run on fwconst."""
        from typing import ClassVar

        from fieldwise.finetune.providers import HostedProvider, JobStatus


        class InstantProvider(HostedProvider):
            name: ClassVar[str] = "fwhost"
            spec_prefix: ClassVar[str] = "fwconst"
            default_key_env: ClassVar[str] = "FWHOST_KEY"

            def upload(self, path):
                return "file-" + path.name

            def create(self, *, base_model, training_file_id, suffix, hyperparameters, seed):
                return f"job-{base_model}-{suffix}"

            def status(self, job_id):
                return JobStatus(job_id, "succeeded", "done", 42, job_id.replace("job-", "ft-"))

            def events(self, job_id):
                return []
    ''',
    "formats.py": '''
        """Question/answer pairs: the whole prompt as one text, the target as the answer."""
        from typing import ClassVar

        from fieldwise.data.export import ExportFormat, ExportRecord
        from fieldwise.tasks.prompts import render_prompt_text


        class Pairs(ExportFormat):
            name: ClassVar[str] = "fw-pairs"
            plain_text: ClassVar[bool] = True

            def row(self, messages, target):
                return {"q": render_prompt_text(messages), "a": target}

            def parse(self, row):
                return ExportRecord([{"role": "user", "content": row["q"]}], row["a"])
    ''',
    "days.py": '''
        """A date at most ``days`` away from gold: only the per-value rule is written."""
        import datetime as dt
        from typing import ClassVar

        from fieldwise.metrics import LeafMetric, MetricParams


        class WithinDays(LeafMetric):
            name: ClassVar[str] = "fw_within_days"
            kinds: ClassVar[tuple[str, ...]] = ("date", "text")
            description: ClassVar[str] = "a date at most `days` from gold"

            class Params(MetricParams):
                days: int = 0

            def score_value(self, field, pred, gold, policy):
                gap = dt.date.fromisoformat(pred) - dt.date.fromisoformat(gold)
                return 1.0 if abs(gap.days) <= self.params.days else 0.0
    ''',
    "cloud.py": '''
        """An OpenAI-compatible host by name: fwcloud/MODEL needs no options."""
        from fieldwise.models.hosts import Host

        HOST = Host("fwcloud", "https://llm.fwcloud.example/v1", "FWCLOUD_API_KEY")
    ''',
    "counted.py": '''
        """An executor that runs in this process and counts the jobs it was given."""
        from typing import ClassVar

        from fieldwise.runner import Executor, LocalExecutor


        class Counted(Executor):
            name: ClassVar[str] = "fw-counted"
            jobs: ClassVar[list] = []

            def run(self, job, bar):
                self.jobs.append((job.label, len(job.examples), job.repeats))
                return LocalExecutor().run(job, bar)
    ''',
    "routes.py": '''
        """A nested task whose dates are scored by the plugin's own metric."""
        import datetime as dt
        from typing import Annotated

        from pydantic import BaseModel

        from fieldwise.tasks import Metric, Task


        class Stop(BaseModel):
            city: str
            arrives: Annotated[dt.date, Metric("fw_within_days", days=2)]


        class Route(BaseModel):
            departs: Annotated[dt.date, Metric("fw_within_days", days=1)]
            stops: list[Stop]


        ROUTES = Task.from_model("fw-routes", Route, description="plugin routes")
    ''',
}


@pytest.fixture(name="plugin")
def plugin_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Write the distribution under ``tmp_path/site`` and put it on ``sys.path``; afterwards
    the registries forget what they loaded from it."""
    root = tmp_path / "site"
    pkg = root / "fwplug"
    pkg.mkdir(parents=True)
    for name, source in MODULES.items():
        (pkg / name).write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    info = root / "fwplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fwplug\nVersion: 0.1\n")
    lines = []
    for kind, (name, target) in ENTRY_POINTS.items():
        lines += [f"[fieldwise.{kind}]", f"{name} = {target}", ""]
    (info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")
    monkeypatch.syspath_prepend(str(root))
    yield root
    for kind, (name, _) in ENTRY_POINTS.items():
        registry.KINDS[kind].unregister(name)
    for mod in [m for m in sys.modules if m == "fwplug" or m.startswith("fwplug.")]:
        del sys.modules[mod]
