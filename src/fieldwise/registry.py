"""One registry mechanism for every way to extend fieldwise.

Each extension kind (model backends, hosted fine-tuning providers, tasks, scoring
profiles, leaf metrics, export formats, executors, batch APIs, named hosts) is one
:class:`Registry`: a dict of name → ``module:attr`` path (or the object itself), filled by
one registration line per built-in in the kind's *home* module, plus the entry-point
group ``fieldwise.<kind>`` that third-party distributions declare in their metadata.

Why this shape:

- **Lazy**: a built-in is registered by dotted path, so its optional dependencies (torch,
  vllm, an SDK) are imported only when that name is used. A missing dependency is one
  :class:`~fieldwise.errors.UserError` naming the package and the extra that brings it.
- **One error**: an unknown name is always ``unknown <noun> 'y' (use one of: ...)``,
  listing built-ins and installed plugins alike.
- **Plugins need no import**: entry points are read on demand (when a name is not a
  built-in, or when names are listed), so installing a distribution is enough; nothing has
  to import the plugin first.

Registries are module-level singletons below; the home module of each is imported before
any lookup, so ``registry.models.get("openai")`` works from anywhere. This module imports
nothing from the rest of fieldwise but :mod:`fieldwise.errors`, so every stage can use it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from fieldwise.errors import UserError, install_hint

__all__ = [
    "KINDS",
    "Registry",
    "batch_apis",
    "executors",
    "export_formats",
    "hosts",
    "label_filters",
    "metrics",
    "models",
    "profiles",
    "providers",
    "tasks",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    """One registered name: where the object lives, and what a missing import means."""

    target: Any
    """``"module:attr"`` (imported on first use) or the object itself."""
    extra: str | None = None
    """The pip extra that brings the target's optional dependencies (for the hint)."""
    dist: str | None = None
    """The distribution that declared it as an entry point (``None``: fieldwise itself)."""

    @property
    def path(self) -> str:
        """``module:attr`` of the target, whether registered by path or by object."""
        if isinstance(self.target, str):
            return self.target
        obj = self.target
        return (
            f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', type(obj).__name__)}"
        )


class Registry(Generic[T]):
    """Name → object for one extension kind (see the module docstring).

    ``noun`` names the kind in errors (``"model provider"``); ``home`` is the module
    whose import registers the built-ins; ``check`` validates a loaded object (a base
    class, or a predicate) so that a plugin registering the wrong thing fails with a
    message naming it.
    """

    def __init__(
        self,
        kind: str,
        noun: str,
        *,
        home: str | None = None,
        check: type | Callable[[Any], bool] | None = None,
        doc: str = "",
    ) -> None:
        self.kind = kind
        self.noun = noun
        self.group = f"fieldwise.{kind}"
        self.home = home
        self.doc = doc
        self._check = check
        self.describe: Callable[[], str] | None = None
        self._entries: dict[str, Entry] = {}
        self._loaded: dict[str, Any] = {}
        self._home_imported = home is None
        KINDS[kind] = self

    def configure(
        self,
        *,
        check: type | Callable[[Any], bool] | None = None,
        describe: Callable[[], str] | None = None,
    ) -> None:
        """Set, from the kind's home module (which may import what this ground-floor module
        must not), the check of loaded objects and a Markdown table of the built-ins for
        ``docs/extending.md``."""
        if check is not None:
            self._check = check
        if describe is not None:
            self.describe = describe

    # -- registering ---------------------------------------------------------------------

    @overload
    def register(
        self, name: str, target: None = None, *, extra: str | None = None
    ) -> Callable[[T], T]: ...

    @overload
    def register(self, name: str, target: str | T, *, extra: str | None = None) -> str | T: ...

    def register(self, name: str, target: Any = None, *, extra: str | None = None) -> Any:
        """Register ``target`` (an object or its ``module:attr`` path) as ``name``.

        Without ``target`` it is a decorator: ``@registry.metrics.register("within")``.
        ``extra`` is the pip extra that brings the target's dependencies. A later
        registration under the same name replaces the earlier one.
        """
        if not name or not isinstance(name, str):
            raise ValueError(f"a {self.noun} needs a non-empty name, not {name!r}")
        if target is None:

            def decorate(obj: T) -> T:
                self.register(name, obj, extra=extra)
                return obj

            return decorate
        if isinstance(target, str) and ":" not in target:
            raise ValueError(f"register {self.noun} '{name}' as 'module:attr', not {target!r}")
        self._entries[name] = Entry(target, extra)
        self._loaded.pop(name, None)
        return target

    def unregister(self, name: str) -> None:
        """Forget a name (a built-in or a plugin loaded earlier); unknown names are ignored."""
        self._entries.pop(name, None)
        self._loaded.pop(name, None)

    # -- looking up ----------------------------------------------------------------------

    def _import_home(self) -> None:
        if not self._home_imported:
            self._home_imported = True  # first: the home module registers into us
            assert self.home is not None
            importlib.import_module(self.home)

    def builtins(self) -> list[str]:
        """Names registered in code (built-ins, plus any registered at run time)."""
        self._import_home()
        return list(self._entries)

    def plugins(self) -> dict[str, Entry]:
        """Names declared by installed distributions in the ``fieldwise.<kind>`` group."""
        from importlib.metadata import entry_points  # ~15 ms: only when plugins are asked for

        found: dict[str, Entry] = {}
        for ep in entry_points(group=self.group):
            dist = getattr(getattr(ep, "dist", None), "name", None) or "a plugin"
            found.setdefault(ep.name, Entry(ep.value, None, dist))
        return found

    def names(self) -> list[str]:
        """Every usable name: built-ins in registration order, then plugins sorted."""
        names = self.builtins()
        names.extend(sorted(n for n in self.plugins() if n not in self._entries))
        return names

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        self._import_home()
        return name in self._entries or name in self.plugins()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def pop(self, name: str, default: Any = None) -> Any:
        """Unregister ``name``, returning what it was registered as (dict-like)."""
        self._import_home()
        entry = self._entries.get(name)
        self.unregister(name)
        return default if entry is None else entry.target

    def entry(self, name: str) -> Entry:
        """Where ``name`` is registered; an unknown name is the one :class:`UserError`."""
        self._import_home()
        entry = self._entries.get(name)
        if entry is None:
            entry = self.plugins().get(name)
            if entry is not None:  # remembered: later lookups skip the metadata scan
                self._entries[name] = entry
        if entry is None:
            raise self.unknown(name)
        return entry

    def unknown(self, name: str) -> UserError:
        """The error for a name nothing registered."""
        return UserError(f"unknown {self.noun} '{name}'", hint=f"use one of: {', '.join(self)}")

    def get(self, name: str) -> T:
        """The object registered as ``name``, imported on first use."""
        if name in self._loaded:
            return self._loaded[name]  # type: ignore[no-any-return]
        entry = self.entry(name)
        obj = entry.target if not isinstance(entry.target, str) else self._import(name, entry)
        self._verify(name, entry, obj)
        self._loaded[name] = obj
        return obj  # type: ignore[no-any-return]

    def loaded(self) -> dict[str, T]:
        """The objects looked up so far (nothing is imported)."""
        return dict(self._loaded)

    def _import(self, name: str, entry: Entry) -> Any:
        module_name, _, attr = entry.target.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise self._missing(name, entry, module_name, exc) from exc
        for part in attr.split(".") if attr else ():
            try:
                obj = getattr(obj, part)
            except AttributeError:
                raise UserError(
                    f"{self.noun} '{name}' points at {entry.target}, which does not exist",
                    hint=self._fix(entry),
                ) from None
        return obj

    def _missing(
        self, name: str, entry: Entry, module_name: str, exc: ModuleNotFoundError
    ) -> UserError:
        missing = exc.name or module_name
        own = module_name == missing or module_name.startswith(missing + ".")
        if own and entry.dist is None:
            return UserError(f"{self.noun} '{name}' is not available in this build")
        if own:
            return UserError(
                f"{self.noun} '{name}' (from {entry.dist}) cannot be imported: "
                f"no module named '{missing}'",
                hint=self._fix(entry),
            )
        hint = install_hint(missing, entry.extra) if entry.dist is None else self._fix(entry)
        return UserError(f"{self.noun} '{name}' needs the '{missing}' package", hint=hint)

    @staticmethod
    def _fix(entry: Entry) -> str:
        if entry.dist is None:
            return "pip install --force-reinstall fieldwise"
        return f"reinstall {entry.dist} (pip install --force-reinstall {entry.dist})"

    def _verify(self, name: str, entry: Entry, obj: Any) -> None:
        check = self._check
        if check is None:
            return
        if isinstance(check, type):
            ok = isinstance(obj, check) or (isinstance(obj, type) and issubclass(obj, check))
            wanted = check.__name__
        else:
            ok, wanted = bool(check(obj)), self.noun
        if not ok:
            where = f" (from {entry.dist})" if entry.dist else ""
            raise UserError(
                f"{self.noun} '{name}'{where} is {entry.path}, which is not a {wanted}",
                hint=self._fix(entry),
            )


KINDS: dict[str, Registry[Any]] = {}
"""Every registry by kind (the ``fieldwise.<kind>`` entry-point group), for docs and tests."""

models: Registry[Any] = Registry(
    "models",
    "model provider",
    home="fieldwise.models",
    doc="a model backend: a `Model` subclass, used as `provider/name` in specs",
)
providers: Registry[Any] = Registry(
    "providers",
    "fine-tuning provider",
    home="fieldwise.finetune.providers",
    doc="a hosted fine-tuning service: a `HostedProvider` subclass (`provider:` in a "
    "hosted finetune config)",
)
tasks: Registry[Any] = Registry(
    "tasks",
    "task",
    home="fieldwise.tasks",
    doc="a task by name: a `Task` (`--task NAME`, `task:` in a config)",
)
profiles: Registry[Any] = Registry(
    "profiles",
    "scoring profile",
    home="fieldwise.scoring.profiles",
    doc="a scoring policy: a `Profile` instance or subclass (`--profile NAME`)",
)
metrics: Registry[Any] = Registry(
    "metrics",
    "metric",
    home="fieldwise.metrics",
    doc="how a field is scored: a `LeafMetric` subclass (`Metric(NAME, **params)` on a schema)",
)
export_formats: Registry[Any] = Registry(
    "export_formats",
    "export format",
    home="fieldwise.data.export",
    doc="a fine-tuning file format: an `ExportFormat` subclass (`data export --format NAME`)",
)
executors: Registry[Any] = Registry(
    "executors",
    "executor",
    home="fieldwise.runner",
    doc="how a model's rows are run: an `Executor` subclass (`executor:` in a model entry)",
)
batch_apis: Registry[Any] = Registry(
    "batch_apis",
    "batch API",
    home="fieldwise.models.batch",
    doc="a provider's bulk-request API: a `BatchAPI` subclass, keyed by model provider",
)
hosts: Registry[Any] = Registry(
    "hosts",
    "host",
    home="fieldwise.models.hosts",
    doc="a named OpenAI-compatible host (base URL, key variable, quirks)",
)
label_filters: Registry[Any] = Registry(
    "label_filters",
    "label filter",
    home="fieldwise.distill._filters",
    doc="which teacher labels a student trains on: a `LabelFilter` subclass "
    "(`distill --filter NAME`)",
)


def markdown_table() -> str:
    """Every registry as a Markdown table (kind, entry-point group, what it holds, the
    built-in names), for ``docs/extending.md``: a test compares the page with this, so the
    page cannot drift from the code."""
    lines = [
        "| kind | entry-point group | what it registers | built-in | registered in |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kind in KINDS.values():
        names = ", ".join(f"`{n}`" for n in kind.builtins()) or "(none yet)"
        home = f"`{kind.home}`" if kind.home else "-"
        lines.append(f"| {kind.noun} | `{kind.group}` | {kind.doc} | {names} | {home} |")
    return "\n".join(lines)


def render_docs(text: str) -> str:
    """``text`` (the extending page) with its generated blocks replaced by current tables:
    ``<!-- registries:begin -->`` ... ``end``, and one block per kind that describes its
    built-ins (``<!-- metrics:begin -->``)."""
    blocks: dict[str, Callable[[], str]] = {"registries": markdown_table}
    for kind in KINDS.values():
        kind._import_home()
        if kind.describe is not None:
            blocks[kind.kind] = kind.describe
    for block, render in blocks.items():
        begin, end = f"<!-- {block}:begin -->", f"<!-- {block}:end -->"
        head, sep, rest = text.partition(begin)
        _, sep2, tail = rest.partition(end)
        if not sep or not sep2:
            raise ValueError(f"the page has no {begin} ... {end} block")
        text = f"{head}{begin}\n{render()}\n{end}{tail}"
    return text


if __name__ == "__main__":  # python -m fieldwise.registry docs/extending.md
    import sys
    from pathlib import Path

    from fieldwise import registry as imported  # the copy the home modules register into

    for page in map(Path, sys.argv[1:]):
        page.write_text(imported.render_docs(page.read_text(encoding="utf-8")), encoding="utf-8")
