"""What every provider's SDK call shares: the SDK imported on first use, checked
hyperparameters, one-line errors, and unpacking an adapter.

The OpenAI, Together, Fireworks and Tinker SDKs are all generated the same way (Stainless),
so their exceptions have the same names and shapes: a rejected key, an unreachable
service and an HTTP error each become one :class:`~fieldwise.errors.UserError` that says
what was being done, never a traceback and never the key (the caller's printout is
redacted as well).
"""

from __future__ import annotations

import importlib
import io
import shutil
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any, TypeVar

from fieldwise.errors import UserError

__all__ = ["call_sdk", "check_hyperparameters", "extract_adapter", "lazy_sdk", "status_code"]

T = TypeVar("T")


def lazy_sdk(name: str) -> Callable[[], Any]:
    """The SDK module, imported on first call: reading a provider class (its key
    variable, its hyperparameters) must not cost the SDK's import."""
    return lambda: importlib.import_module(name)


def check_hyperparameters(
    what: str,
    allowed: dict[str, type | tuple[type, ...]],
    hyperparameters: dict[str, Any],
    *,
    positive: bool = False,
) -> None:
    """One-line errors, before any request, for a name ``allowed`` lacks or a value of
    the wrong type (a bool only where bool is allowed: YAML's ``true`` is not 1);
    ``positive``: numbers must be above 0."""
    unknown = sorted(set(hyperparameters) - set(allowed))
    if unknown:
        raise UserError(
            f"unknown {what} hyperparameter(s): {', '.join(unknown)}",
            hint=f"use {', '.join(sorted(allowed))}",
        )
    for key, value in hyperparameters.items():
        kinds = allowed[key]
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise UserError(f"hyperparameter {key}: {value!r} is not a valid value")
        if positive and isinstance(value, int | float) and value <= 0:  # bools refused above
            raise UserError(f"hyperparameter {key} must be positive")


def call_sdk(
    sdk: ModuleType, service: str, key_env: str, where: str, what: str, fn: Callable[[], T]
) -> T:
    """Run one SDK call, turning the SDK's exceptions into one-line UserErrors."""
    try:
        return fn()
    except sdk.AuthenticationError as exc:
        raise UserError(
            f"{service} rejected the API key while trying to {what}", hint=f"check {key_env}"
        ) from exc
    except sdk.APIConnectionError as exc:
        raise UserError(f"cannot reach {where} to {what}: {exc}") from exc
    except sdk.APIStatusError as exc:
        raise UserError(f"cannot {what}: HTTP {exc.status_code}: {_message(exc)}") from exc


def status_code(exc: BaseException) -> int | None:
    """The HTTP status behind a UserError made by :func:`call_sdk` (``None``: none)."""
    return getattr(exc.__cause__, "status_code", None)


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if body.get("message"):
            return str(body["message"])
    return str(getattr(exc, "message", exc))


def extract_adapter(data: bytes, dest: Path) -> Path:
    """Unpack a downloaded adapter (tar, tar.gz, tar.zst or zip) into ``dest`` and return
    the folder holding ``adapter_config.json``. Members that would land outside ``dest``
    (absolute paths, ``..``, links) are refused: the archive comes from the network."""
    dest.mkdir(parents=True, exist_ok=True)
    if data[:4] == b"\x28\xb5\x2f\xfd":  # zstandard frame
        import zstandard

        data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for name in zf.namelist():
                target = _inside(dest, name)
                if name.endswith("/"):
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(name) as src, target.open("wb") as out:
                    shutil.copyfileobj(src, out)
    else:
        try:
            archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")  # noqa: SIM115
        except tarfile.TarError as exc:
            raise UserError(
                f"the downloaded adapter is not an archive fieldwise reads: {exc}"
            ) from None
        with archive:
            for member in archive.getmembers():
                target = _inside(dest, member.name)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                elif member.isfile():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    member_file = archive.extractfile(member)
                    assert member_file is not None
                    with member_file, target.open("wb") as out:
                        shutil.copyfileobj(member_file, out)
                else:
                    raise UserError(f"the downloaded adapter holds a link or device: {member.name}")
    found = sorted(dest.rglob("adapter_config.json"), key=lambda p: len(p.parts))
    if not found:
        raise UserError("the downloaded archive holds no adapter_config.json (not a LoRA adapter)")
    return found[0].parent


def _inside(dest: Path, name: str) -> Path:
    parts = PurePosixPath(name).parts
    if not parts or PurePosixPath(name).is_absolute() or ".." in parts:
        raise UserError(f"the downloaded adapter holds an unsafe path: {name!r}")
    return dest.joinpath(*parts)
