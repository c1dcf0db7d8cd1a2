"""Tasks: a Pydantic output schema, a metric per field, and how to read the task's data.

Built-in tasks are addressed by name (``isaf``); a user's own task by ``module:attr`` or
``path/to/file.py[:attr]`` pointing at a :class:`Task`.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

from fieldwise import registry
from fieldwise.errors import UserError, did_you_mean
from fieldwise.tasks._task import (
    Example,
    FieldKind,
    FieldSpec,
    Grounding,
    Metric,
    ReferenceMetric,
    Task,
)

__all__ = [
    "Example",
    "FieldKind",
    "FieldSpec",
    "Grounding",
    "Metric",
    "ReferenceMetric",
    "Task",
    "load_task",
]

registry.tasks.configure(check=Task)
registry.tasks.register("isaf", "fieldwise.tasks.isaf:ISAF")


@contextlib.contextmanager
def _importing(name: str) -> Iterator[None]:
    """Run a task module's top level: what it raises (or a ``sys.exit``, which would
    end the command with that code, 0 included) becomes a one-line error naming the
    module and the line of it that failed."""
    try:
        yield
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name == name:
            raise
        raise UserError(f"task {name}: {_where(exc, name)}{type(exc).__name__}: {exc}") from None
    except SystemExit as exc:
        raise UserError(
            f"task {name}: {_where(exc, name)}calls sys.exit({exc.code!r}) while being imported",
            hint="a task module must define a Task, not run a program",
        ) from None
    except Exception as exc:  # noqa: BLE001 - any error in user code is the user's to fix
        raise UserError(f"task {name}: {_where(exc, name)}{type(exc).__name__}: {exc}") from None


def _where(exc: BaseException, name: str) -> str:
    """``line N: `` of the innermost frame in the task's own file, if there is one."""
    own = name if name.endswith(".py") else name.replace(".", "/") + ".py"
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(own)]
    return f"line {lines[-1]}: " if lines else ""


def load_task(spec: str | Task) -> Task:
    """Resolve a task name (built-in or a ``fieldwise.tasks`` entry point), ``module:attr``
    or ``file.py[:attr]`` to a :class:`Task`."""
    if isinstance(spec, Task):
        return spec
    if ":" not in spec and not spec.endswith(".py"):
        if spec not in registry.tasks:
            raise UserError(
                f"unknown task '{spec}'",
                hint=did_you_mean(spec, list(registry.tasks))
                or f"use one of: {', '.join(registry.tasks)}, module:attr, or file.py[:attr]",
            )
        named: Task = registry.tasks.get(spec)
        return named
    module_part, _, attr = spec.partition(":")
    target = spec
    if module_part.endswith(".py"):
        path = Path(module_part)
        if not path.is_file():
            raise UserError(f"task file not found: {path}")
        mod_name = f"_fieldwise_user_task_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(mod_name, path)
        assert module_spec and module_spec.loader
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[mod_name] = module
        with _importing(str(path)):
            module_spec.loader.exec_module(module)
    else:
        try:
            with _importing(module_part):
                module = importlib.import_module(module_part)
        except UserError:
            raise
        except ImportError as exc:
            raise UserError(f"cannot import task module '{module_part}': {exc}") from exc
    if attr:
        if not hasattr(module, attr):
            defined = sorted(k for k, v in vars(module).items() if isinstance(v, Task))
            listed = f"tasks it defines: {', '.join(defined) or 'none'}"
            raise UserError(
                f"{module_part} has no attribute '{attr}'",
                hint=did_you_mean(attr, defined) or listed,
            )
        task = getattr(module, attr)
    else:
        found = [v for v in vars(module).values() if isinstance(v, Task)]
        task = found[0] if len(found) == 1 else None
        if task is None:
            raise UserError(f"{module_part} defines {len(found)} tasks; name one with :attr")
    if not isinstance(task, Task):
        hint = "make one with fieldwise.tasks.Task; see docs/custom-tasks.md"
        if isinstance(task, type) and hasattr(task, "model_fields"):  # an output schema
            hint = f"wrap it: Task.from_model('{task.__name__.lower()}', {task.__name__})"
        raise UserError(f"'{target}' is {_what(task)}, not a fieldwise Task", hint=hint)
    return task


def _what(obj: object) -> str:
    """``the class Foo``, ``an int``, ``a list``: what a task reference found instead."""
    if isinstance(obj, type):
        return f"the class {obj.__name__}"
    name = type(obj).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"
