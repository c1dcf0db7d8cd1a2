"""Named, versioned prompts: what ``fieldwise optimize`` saves and ``prompt: NAME`` uses.

A prompt here is data, not a file of Jinja alone: a template (the system/user scaffold),
the task's annotation rules as a list that can be kept, dropped or rewritten, a free-text
instruction written after the system block, and a few-shot policy (fixed examples, or a
pool of labelled rows from which each input gets its nearest neighbours). Its content
hash (:meth:`PromptSpec.content_hash`) goes into every prediction's cache key, as a
template's hash does, so two prompts that render differently never share a prediction,
and the same prompt saved under two names shares them all.

Saved prompts live in the project folder as ``prompts/NAME/vN.json`` (readable,
diffable, never pickled). Saving content that equals the latest version keeps that
version; anything else becomes the next one. ``NAME`` means the latest version,
``NAME@vN`` pins one, and the reserved name ``original`` means "no named prompt": the
model's own template, the task's rules and its ``few_shot`` option.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from fieldwise.errors import UserError
from fieldwise.tasks._task import Example, Task

ORIGINAL = "original"
"""The reserved prompt name for a model's own, hand-written prompt."""

PROMPTS_DIR = "prompts"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_VERSION = re.compile(r"^v([1-9][0-9]*)\.json$")

ShotSource = Literal["none", "original", "random", "bootstrapped", "knn"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Shot(_Frozen):
    """One labelled training row shown to the model (or kept in a nearest-neighbour pool)."""

    id: str
    text: str
    gold: dict[str, Any]
    group: str | None = None

    @classmethod
    def of(cls, example: Example) -> Shot:
        if example.gold is None:
            raise UserError(f"few-shot example {example.id} has no label")
        return cls(id=example.id, text=example.text, gold=example.gold, group=example.group)

    def example(self) -> Example:
        return Example(self.id, self.text, self.gold, self.group)


class ShotPolicy(_Frozen):
    """Which worked examples the prompt shows.

    ``source`` says how they were chosen: ``original`` (the model's ``few_shot`` draw),
    ``random``, ``bootstrapped`` (training rows the model already answered perfectly, as
    DSPy's BootstrapFewShot keeps its successful traces) or ``knn`` (for each input, the
    ``k`` rows of ``examples`` most similar to it by TF-IDF cosine; ``examples`` is then
    the pool, never a row identical to the input)."""

    source: ShotSource = "none"
    k: int = Field(0, ge=0)
    examples: tuple[Shot, ...] = ()

    @property
    def per_input(self) -> bool:
        return self.source == "knn" and self.k > 0

    def describe(self) -> str:
        if self.k == 0 or not self.examples:
            return "no examples"
        if self.per_input:
            return f"{self.k} nearest neighbours per input from {len(self.examples)} rows"
        return f"{len(self.examples)} {self.source} example(s)"


class PromptSpec(_Frozen):
    """Everything that decides what a prompted model is shown, besides the input."""

    template: str
    """Jinja source with ``system`` and ``user`` blocks (see ``tasks/prompts.py``)."""
    rules: tuple[str, ...] | None = None
    """Annotation rules, one statement each; ``None``: the task's own ``instructions``."""
    instruction: str = ""
    """Free text written after the rendered system block (what reflection rewrites)."""
    shots: ShotPolicy = ShotPolicy()
    _hash: str | None = PrivateAttr(default=None)

    def content_hash(self) -> str:
        """sha256 of the canonical JSON of everything above (computed once: a pool of
        nearest-neighbour rows makes it the size of a small dataset)."""
        if self._hash is None:
            from fieldwise._hashing import content_hash

            self._hash = content_hash(self.model_dump(mode="json"))
        return self._hash

    def model_copy(self, *, update: Any = None, deep: bool = False) -> PromptSpec:
        """A copy (with ``update`` applied) whose hash is computed afresh."""
        copy = super().model_copy(update=update, deep=deep)
        copy._hash = None
        return copy

    def task_for(self, task: Task) -> Task:
        """``task`` with this prompt's rules as its instructions (templates read those)."""
        if self.rules is None:
            return task
        return replace(task, instructions=join_rules(self.rules))

    def rule_list(self, task: Task) -> list[str]:
        return list(self.rules) if self.rules is not None else split_rules(task.instructions)


def split_rules(text: str) -> list[str]:
    """A task's instructions as separate rules: each ``- `` / ``* `` bullet (with its
    continuation lines) is one rule; text without bullets is one rule."""
    rules: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped[:2] in ("- ", "* "):
            rules.append(stripped[2:].strip())
        elif rules:
            rules[-1] = f"{rules[-1]} {stripped}"
        else:
            rules.append(stripped)
    return rules


def join_rules(rules: tuple[str, ...] | list[str]) -> str:
    return "\n".join(f"- {rule}" for rule in rules)


# -- saved prompts --------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedPrompt:
    """One version of a named prompt on disk, with what made it (``record``)."""

    name: str
    version: int
    spec: PromptSpec
    path: Path
    record: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"

    @property
    def hash(self) -> str:
        return self.spec.content_hash()


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UserError(
            f"bad prompt name '{name}'",
            hint="use letters, digits, '_', '.' or '-' (at most 100), starting with a letter "
            "or digit",
        )
    if name == ORIGINAL:
        raise UserError(f"'{ORIGINAL}' is reserved for a model's own prompt; choose another name")
    return name


def _versions(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    found = (_VERSION.match(p.name) for p in folder.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def save_prompt(
    project_dir: Path, name: str, spec: PromptSpec, record: dict[str, Any] | None = None
) -> SavedPrompt:
    """Save ``spec`` as the next version of ``name`` (or return the latest version when
    its content is the same). Written to a temporary file and renamed, so a killed save
    never leaves half a prompt behind."""
    check_name(name)
    folder = Path(project_dir) / PROMPTS_DIR / name
    versions = _versions(folder)
    if versions:
        latest = load_prompt(folder / f"v{versions[-1]}.json")
        if latest.hash == spec.content_hash():
            return latest
    version = (versions[-1] if versions else 0) + 1
    path = folder / f"v{version}.json"
    body = {
        "name": name,
        "version": version,
        "hash": spec.content_hash(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "spec": spec.model_dump(mode="json"),
        "record": record or {},
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(body, indent=1, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise UserError(f"cannot save prompt {name} in {folder}: {exc.strerror}") from None
    return SavedPrompt(name, version, spec, path, record or {})


def load_prompt(path: Path) -> SavedPrompt:
    """Read a saved prompt; a file that does not parse, or whose content does not match
    its recorded hash (edited by hand, or cut short), is a one-line error."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"prompt file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read prompt {path}: {exc}") from None
    if not isinstance(body, dict) or "spec" not in body:
        raise UserError(f"{path} is not a saved fieldwise prompt (no 'spec')")
    try:
        spec = PromptSpec.model_validate(body["spec"])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UserError(f"{path}: spec.{where}: {first['msg']}") from None
    if body.get("hash") and body["hash"] != spec.content_hash():
        raise UserError(
            f"{path}: its content does not match its hash (edited or truncated)",
            hint="save an edited prompt under a new name with fieldwise optimize, or restore it",
        )
    name = str(body.get("name") or path.parent.name)
    version = int(body.get("version") or 1)
    record = body.get("record")
    return SavedPrompt(name, version, spec, path, record if isinstance(record, dict) else {})


def resolve_prompt(project_dir: Path, ref: str) -> Path:
    """The file of ``NAME`` (latest version), ``NAME@vN``, or a path to a ``.json``."""
    if ref.endswith(".json") or os.sep in ref or "/" in ref:
        path = Path(ref)
        if not path.is_file():
            raise UserError(f"prompt file not found: {ref}")
        return path
    name, _, pinned = ref.partition("@")
    check_name(name)
    folder = Path(project_dir) / PROMPTS_DIR / name
    versions = _versions(folder)
    if not versions:
        known = sorted(p.name for p in folder.parent.iterdir()) if folder.parent.is_dir() else []
        raise UserError(
            f"no saved prompt named '{name}' in {folder.parent}",
            hint="create it with fieldwise optimize --name "
            + name
            + (f" (saved: {', '.join(known)})" if known else ""),
        )
    if not pinned:
        return folder / f"v{versions[-1]}.json"
    match = re.fullmatch(r"v?([1-9][0-9]*)", pinned)
    if not match or int(match.group(1)) not in versions:
        raise UserError(
            f"prompt '{name}' has no version '{pinned}'",
            hint=f"versions: {', '.join(f'v{v}' for v in versions)}",
        )
    return folder / f"v{int(match.group(1))}.json"


REPLACED_OPTIONS = ("template", "few_shot", "few_shot_seed")
"""The options a named prompt replaces (it brings its own template and examples)."""


def resolve_prompt_option(
    options: dict[str, Any], project_dir: Path, *, switch: bool = False
) -> dict[str, Any]:
    """Model options with a ``prompt`` name turned into its saved file's path (what the
    backend loads); ``original`` (or no prompt) removes the option. With ``switch`` (the
    prompt is a variant switch, ``variants: {prompt: [original, NAME]}``), the options
    a named prompt replaces are the original's and are dropped for the named one;
    otherwise giving both is an error from the backend."""
    ref = options.get("prompt")
    if ref is None or isinstance(ref, dict | PromptSpec):
        return options
    out = dict(options)
    if ref == ORIGINAL:
        out.pop("prompt")
        return out
    if not isinstance(ref, str):
        raise UserError(f"option prompt must be a prompt name, not {type(ref).__name__}")
    out["prompt"] = str(resolve_prompt(project_dir, ref).resolve())
    if switch:
        for key in REPLACED_OPTIONS:
            out.pop(key, None)
    return out
