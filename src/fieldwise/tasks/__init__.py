"""Tasks: a Pydantic output schema, a metric per field, and how to read the task's data.

Built-in tasks are addressed by name (``isaf``); a user's own task by ``module:attr`` or
``path/to/file.py[:attr]`` pointing at a :class:`Task`.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from fieldwise.errors import UserError
from fieldwise.tasks._task import Example, FieldKind, FieldSpec, Metric, ReferenceMetric, Task

__all__ = [
    "Example",
    "FieldKind",
    "FieldSpec",
    "Metric",
    "ReferenceMetric",
    "Task",
    "load_task",
]

BUILTIN_TASKS = {"isaf": "fieldwise.tasks.isaf:ISAF"}


def load_task(spec: str | Task) -> Task:
    """Resolve a task name, ``module:attr`` or ``file.py[:attr]`` to a :class:`Task`."""
    if isinstance(spec, Task):
        return spec
    target = BUILTIN_TASKS.get(spec, spec)
    module_part, _, attr = target.partition(":")
    if module_part.endswith(".py"):
        path = Path(module_part)
        if not path.is_file():
            raise UserError(f"task file not found: {path}")
        mod_name = f"_fieldwise_user_task_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(mod_name, path)
        assert module_spec and module_spec.loader
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[mod_name] = module
        module_spec.loader.exec_module(module)
    else:
        if ":" not in target:
            raise UserError(
                f"unknown task '{spec}'",
                hint=f"use one of {sorted(BUILTIN_TASKS)}, module:attr, or file.py[:attr]",
            )
        try:
            module = importlib.import_module(module_part)
        except ImportError as exc:
            raise UserError(f"cannot import task module '{module_part}': {exc}") from exc
    if attr:
        task = getattr(module, attr, None)
    else:
        found = [v for v in vars(module).values() if isinstance(v, Task)]
        task = found[0] if len(found) == 1 else None
        if task is None:
            raise UserError(f"{module_part} defines {len(found)} tasks; name one with :attr")
    if not isinstance(task, Task):
        raise UserError(f"'{target}' is not an fieldwise Task")
    return task
