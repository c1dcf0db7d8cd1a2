"""Model plans and executors: each entry resolved once (backend, kind, executor,
settings), an executor is one registered class chosen from the config and the backend's
declared capabilities, and a registered fine-tune runs with the options it was
registered with."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from fieldwise import registry
from fieldwise.config import ModelConfig, ProjectConfig
from fieldwise.errors import UserError
from fieldwise.models import create_model
from fieldwise.pipeline import run_project
from fieldwise.plan import plan_model
from fieldwise.runner import Bar, Executor, LocalExecutor, RunJob, RunOutcome
from fieldwise.store import Store
from fieldwise.tasks import load_task
from tests.fakes.openai_server import FakeServer
from tests.fakes.openai_server import fake_openai as fake_openai  # noqa: F401 - fixture


class Recording(Executor):
    """A plugin executor: runs locally, remembering every job it was given."""

    name: ClassVar[str] = "recording"
    capability: ClassVar[str | None] = "trainable"  # what the backend class must declare
    jobs: ClassVar[list[RunJob]] = []

    def run(self, job: RunJob, bar: Bar) -> RunOutcome:
        self.jobs.append(job)
        return LocalExecutor().run(job, bar)


@pytest.fixture
def recording() -> Iterator[type[Recording]]:
    registry.executors.register("recording", Recording)
    Recording.jobs.clear()
    try:
        yield Recording
    finally:
        registry.executors.unregister("recording")


def _config(tmp_path: Path, *models: dict[str, object]) -> ProjectConfig:
    return ProjectConfig(
        data={"train": "sample", "limit": 30},  # type: ignore[arg-type]
        models=list(models),  # type: ignore[arg-type]
        bootstrap=0,
        output=str(tmp_path / "project"),
        base_dir=tmp_path,
    )


def test_a_plugin_executor_is_one_registration_and_gets_the_whole_job(
    recording: type[Recording], tmp_path: Path
) -> None:
    cfg = _config(
        tmp_path,
        {"spec": "baseline/auto", "name": "b", "executor": "recording", "repeats": 2},
        {"spec": "baseline/auto", "name": "b-abstain", "options": {"abstain": True}},
    )
    result = run_project(cfg, quiet=True)
    [job] = recording.jobs  # the other entry ran on the default executor
    assert (job.label, job.repeats, job.run_id) == ("b", 2, 1)
    assert len(job.examples) == len(result.test.examples) and job.model.provider == "baseline"
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.label = "other"  # type: ignore[misc]
    # The run result carries the pairwise table; nothing needs reading back from disk.
    on_disk = json.loads((result.report_path.parent / "pairwise.json").read_text())
    assert json.loads(json.dumps(result.pairwise)) == on_disk
    assert {(c["a"], c["b"]) for c in on_disk["comparisons"]} == {("b", "b-abstain")}


def test_an_executor_refuses_a_backend_without_its_capability_before_anything_runs(
    recording: type[Recording], tmp_path: Path
) -> None:
    cfg = _config(
        tmp_path,
        {"spec": "baseline/auto", "name": "first"},
        {"spec": "openai/m", "name": "api", "executor": "recording",
         "options": {"base_url": "http://127.0.0.1:9/v1"}},
    )  # fmt: skip
    with pytest.raises(UserError, match="cannot run on the recording executor"):
        run_project(cfg, quiet=True)
    assert not (tmp_path / "project" / "models").exists(), "trained before the refusal"
    with pytest.raises(UserError, match="unknown executor 'nope'"):
        plan_model(ModelConfig(spec="baseline/auto", executor="nope"))


def test_a_plan_resolves_the_backend_kind_and_executor_once() -> None:
    plan = plan_model(ModelConfig(spec="baseline/auto", name="b", options={"abstain": True}))
    assert plan.backend.provider == "baseline" and plan.trainable
    assert (plan.kind, plan.executor.name, plan.label) == ("baseline", "local", "b")
    batch = plan_model(ModelConfig(spec="openai/x", batch=True))
    assert batch.executor.name == "batch" and batch.kind == "api"
    with pytest.raises(UserError, match="cannot be trained"):
        plan_model(ModelConfig(spec="openai/auto"))


def test_a_registered_fine_tune_runs_with_the_options_it_was_registered_with(
    fake_openai: FakeServer, tmp_path: Path
) -> None:
    with Store(tmp_path / "project") as store:
        store.register_model(
            "my-ft", "openai/ft:gpt-4o-mini:org:isaf:abc", "finetune", {"base_url": fake_openai.url}
        )
    cfg = _config(tmp_path, {"name": "my-ft"})
    result = run_project(cfg, quiet=True)
    [res] = result.results
    assert res.kind == "finetune" and all(e is None for e in res.errors)
    sent = fake_openai.snapshot()
    assert sent and {r.body["model"] for r in sent if r.body} == {"ft:gpt-4o-mini:org:isaf:abc"}
    # Options in the config win over the registered ones.
    plan = plan_model(
        ModelConfig(name="my-ft", options={"temperature": 0.5}),
        {"my-ft": {"spec": "openai/ft:x", "kind": "finetune", "options": {"temperature": 0.1}}},
    )
    assert plan.config.options == {"temperature": 0.5} and plan.kind == "finetune"
    model = create_model(
        plan.spec, load_task("isaf"), {**plan.config.options, "base_url": fake_openai.url}
    )
    assert model.spec == "openai/ft:x"
