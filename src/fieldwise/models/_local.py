"""Helpers shared by the local-weights backends (``hf`` and ``vllm``).

Both read the same ``PATH[:ADAPTER]`` spec, render prompts the same way (the model's
chat template when it has one, plain text otherwise) and put the same content
fingerprint of the weights into their cache identity, so a retrained adapter saved over
an old one never reuses the old adapter's cached predictions.

Nothing here imports torch: the helpers run before a model is loaded (or without one).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from fieldwise.errors import UserError
from fieldwise.models._model import ModelKind
from fieldwise.tasks.prompts import Message, render_prompt_text

ChatTemplateMode = Literal["auto", "on", "off"]
T = TypeVar("T")


class Stopped(Exception):
    """A local generation saw its stop flag and ended early: its rows are incomplete."""


async def run_stoppable(work: Callable[[threading.Event], T]) -> T:
    """``work(stop)`` on a worker thread, never left running after its caller gives up.

    ``asyncio.to_thread`` alone lets a cancelled call (the runner's timeout, Ctrl-C) run
    on in the background, so a retry generated the same rows again beside it while the
    first call held the model (issue 15: 24 rows generated twice). Here a cancellation
    sets ``stop`` and waits for the thread to end: ``work`` stops at its next step
    (``hf/``: the next token) and raises :class:`Stopped`, and the cancellation stands;
    a call that cannot stop (``vllm/`` inside one engine call) is waited for, and the
    rows it finished are returned rather than computed again.
    """
    stop = threading.Event()
    task = asyncio.ensure_future(asyncio.to_thread(work, stop))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        stop.set()
        while not task.done():
            try:
                await asyncio.wait({task})
            except asyncio.CancelledError:  # cancelled again: the thread still holds the model
                continue
        if task.cancelled() or task.exception() is not None:
            raise
        return task.result()


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")
_FULL_HASH_LIMIT = 64 * 1024 * 1024
_CHUNK = 1024 * 1024
_SKIP_FILES = {
    "README.md",
    ".gitattributes",
    "training_args.bin",
    "trainer_state.json",
    "optimizer.pt",
    "scheduler.pt",
    "rng_state.pth",
}
"""Files in a model or adapter folder that never change what the model generates."""


def split_model_spec(name: str) -> tuple[str, str | None]:
    """Split ``PATH[:ADAPTER]`` into the base model and the optional adapter directory.

    A colon can also belong to a path (``C:\\models\\x``, a folder named ``a:b``), so a
    split happens only where the part after a colon is an existing directory, or, when
    none is, at the last colon that is not a Windows drive letter. Hub ids never contain
    a colon, so ``org/model:adapters/run1`` always splits.
    """
    if ":" not in name or Path(name).exists():
        return name, None
    colons = [i for i, ch in enumerate(name) if ch == ":"]
    candidates = [
        i for i in reversed(colons) if 0 < i < len(name) - 1 and not _is_drive_colon(name, i)
    ]
    for i in candidates:
        if Path(name[i + 1 :]).is_dir():
            return name[:i], name[i + 1 :]
    if candidates:
        i = candidates[0]
        return name[:i], name[i + 1 :]
    return name, None


def _is_drive_colon(name: str, i: int) -> bool:
    """``C:`` at the start of the name or right after another colon, followed by a slash."""
    starts_path = i == 1 or (i >= 2 and name[i - 2] == ":")
    return starts_path and name[i - 1].isalpha() and name[i + 1 : i + 2] in ("\\", "/")


def local_kind(name: str) -> ModelKind:
    """``BASE:ADAPTER`` is a fine-tune; a bare base model is prompted (``api``)."""
    return "finetune" if split_model_spec(name)[1] is not None else "api"


def looks_local(path: str) -> bool:
    """Whether a model name is meant as a local path rather than a hub id."""
    if path.startswith((".", "/", "~", "\\")) or re.match(r"^[A-Za-z]:[\\/]", path):
        return True
    return Path(path).exists() or not _HUB_ID.match(path)


def require_model_folder(name: str) -> None:
    """A name meant as a local path must be a folder: otherwise transformers sends it to
    the Hub as a repo id and answers with a message about repo-id syntax."""
    if looks_local(name) and not Path(name).expanduser().is_dir():
        raise UserError(
            f"no such folder: {name}",
            hint="give a local model folder, or a Hub id like org/name",
        )


def check_model_paths(base: str, adapter: str | None) -> None:
    """Fail early, with one line, on a base path or adapter that cannot be loaded."""
    require_model_folder(base)
    if adapter is not None:
        check_adapter_folder(adapter)


def check_adapter_folder(adapter: str, label: str = "") -> None:
    """A PEFT adapter folder whose ``adapter_config.json`` reads as a JSON object, or a
    one-line error naming the file, raised before any weights are loaded (a corrupt
    config used to fail inside peft, after minutes spent loading the base model)."""
    import json

    folder = Path(adapter).expanduser()
    if not folder.is_dir():
        raise UserError(f"{label}no such folder: {adapter}", hint="the adapter folder")
    config = folder / "adapter_config.json"
    if not config.is_file():
        raise UserError(
            f"{label}not a PEFT adapter (no adapter_config.json in {adapter})",
            hint="point at the folder written by `fieldwise finetune` or peft",
        )
    try:
        data = json.loads(config.read_bytes())
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "unreadable"
        raise UserError(
            f"{label}{config}: not valid JSON ({reason})",
            hint="save the adapter again, or point at another folder",
        ) from None
    if not isinstance(data, dict):
        raise UserError(f"{label}{config}: expected a JSON object, got {type(data).__name__}")


def tokenizer_source(base: str, adapter: str | None) -> str:
    """Where the tokenizer and chat template come from: the adapter folder when it has its
    own (``fieldwise finetune`` saves the one training used, without a chat template for
    the template-free layout), else the base model."""
    if adapter is not None and (Path(adapter).expanduser() / "tokenizer_config.json").is_file():
        return adapter
    return base


_fingerprint_cache: dict[tuple[str, int, int], str] = {}
_fingerprint_lock = threading.Lock()


def _file_digest(path: Path) -> str:
    """sha256 of a file; for files over 64 MiB of its size and three 1 MiB samples.

    Hashing many GB of base weights on every run would cost minutes, while any retrained
    or re-quantised model changes bytes at the start, middle and end of its shards. Only
    those sampled digests are cached in-process (by path, size and mtime).
    """
    stat = path.stat()
    digest = hashlib.sha256(str(stat.st_size).encode())
    if stat.st_size <= _FULL_HASH_LIMIT:  # adapters, configs, tokenizers: always re-read
        digest.update(path.read_bytes())
        return digest.hexdigest()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _fingerprint_lock:
        if key in _fingerprint_cache:
            return _fingerprint_cache[key]
    with path.open("rb") as fh:
        for offset in (0, stat.st_size // 2, stat.st_size - _CHUNK):
            fh.seek(offset)
            digest.update(fh.read(_CHUNK))
    value = digest.hexdigest()
    with _fingerprint_lock:
        _fingerprint_cache[key] = value
    return value


def folder_fingerprint(folder: str | Path) -> str:
    """A content hash of a model or adapter folder's top-level files (weights, config,
    tokenizer, chat template); training leftovers and checkpoint subfolders are ignored."""
    root = Path(folder).expanduser()
    parts = []
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or path.name in _SKIP_FILES or not path.is_file():
            continue
        parts.append(f"{path.name}:{_file_digest(path)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def hub_revision(repo_id: str, revision: str | None) -> str:
    """The commit a hub id resolves to in the local cache, else the requested revision.

    Only the cache is consulted (no network): a model not downloaded yet is identified by
    the revision asked for, and pinning a commit hash makes that exact.
    """
    try:
        from huggingface_hub import snapshot_download

        path = snapshot_download(repo_id, revision=revision, local_files_only=True)
        return Path(path).name
    except Exception:  # not cached, no huggingface_hub, or an offline lookup error
        return revision or "main"


def weights_identity(base: str, adapter: str | None, revision: str | None) -> dict[str, Any]:
    """What identifies the weights: content hashes for folders, id + commit for hub ids."""
    ident: dict[str, Any] = {}
    if Path(base).expanduser().is_dir():
        ident["base_fingerprint"] = folder_fingerprint(base)
    else:
        ident["base_revision"] = hub_revision(base, revision)
    if adapter is not None:
        ident["adapter_fingerprint"] = folder_fingerprint(adapter)
    return ident


def use_chat_template(tokenizer: Any, mode: ChatTemplateMode) -> bool:
    """Decide between the tokenizer's chat template and the plain-text prompt."""
    has = bool(getattr(tokenizer, "chat_template", None))
    if mode == "on" and not has:
        raise UserError(
            "chat_template=on but this model's tokenizer has no chat template",
            hint="use chat_template=auto or off for base (non-chat) models",
        )
    return has if mode == "auto" else mode == "on"


def render_local_prompt(tokenizer: Any, messages: list[Message], chat: bool) -> str:
    """The prompt text a local model sees, with or without its chat template.

    Some templates (Gemma's, for one) reject a system role; the system prompt is then
    folded into the first user message instead of failing the run.
    """
    if not chat:
        return render_prompt_text(messages)
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    except Exception as exc:  # jinja2 TemplateError raised by the template itself
        if not messages or messages[0]["role"] != "system" or "system" not in str(exc).lower():
            raise UserError(f"the model's chat template failed: {exc}") from exc
        merged = [dict(m) for m in messages[1:]]
        merged[0]["content"] = messages[0]["content"] + "\n\n" + merged[0]["content"]
        text = tokenizer.apply_chat_template(merged, tokenize=False, add_generation_prompt=True)
    return str(text)
