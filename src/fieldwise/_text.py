"""Text every file and database can hold, and may hold.

Python strings may hold lone surrogates (what ``json.loads`` makes of the escape
``\\ud800``), which SQLite, UTF-8 files and matplotlib all refuse with an exception. Model
outputs, imported files and parsed values are untrusted, so each stage that stores or
writes them passes them through :func:`scrub_text` first (see ``docs/reliability.md``).

A URL may carry credentials (``http://user:SECRET@host/v1``); :func:`hide_url_credentials`
replaces them wherever such a URL is stored, logged or shown, and :func:`url_without_credentials`
is the URL an identity hashes (the host identifies a model, its password does not).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = [
    "decode_utf8",
    "file_stem",
    "hide_url_credentials",
    "read_utf8",
    "scrub",
    "scrub_text",
    "url_without_credentials",
]

_SURROGATE = re.compile("[\ud800-\udfff]")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/?#\"'<>]+@")
"""A URL's ``scheme://userinfo@``: everything between ``//`` and ``@`` in its authority."""
HIDDEN = "[REDACTED]"


def hide_url_credentials(value: Any) -> Any:
    """``value`` (text, or parsed JSON: every string in it) with the credentials of every
    URL in it replaced: ``http://user:pw@host`` becomes ``http://[REDACTED]@host``."""
    if isinstance(value, str):
        return _URL_USERINFO.sub(rf"\1{HIDDEN}@", value) if "@" in value else value
    if isinstance(value, dict):
        return {k: hide_url_credentials(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [hide_url_credentials(v) for v in value]
    return value


def url_without_credentials(url: str) -> str:
    """``url`` without its ``user:password@`` part (unchanged when it has none)."""
    return _URL_USERINFO.sub(r"\1", url)


def scrub_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (a no-op for clean text)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def scrub(value: Any) -> Any:
    """:func:`scrub_text` applied to every string (keys included) inside parsed JSON."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def file_stem(name: str, default: str = "file") -> str:
    """``name`` as one file-name component: a model name such as ``../../x`` or ``a/b``
    never reaches outside the folder it is written into."""
    stem = re.sub(r"[^A-Za-z0-9_.\-]", "_", name).lstrip(".")
    return stem[:120] or default


def decode_utf8(data: bytes, where: str, first_line: int = 1) -> str:
    """``data`` as UTF-8 text, or a one-line :class:`~fieldwise.errors.UserError` naming
    the line and column of the first byte that is not UTF-8 (and saying what to do)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        from fieldwise.errors import UserError

        line = first_line + data.count(b"\n", 0, exc.start)
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise UserError(
            f"{where}:{line}:{column}: not UTF-8 (byte 0x{data[exc.start]:02x})",
            hint="save the file as UTF-8",
        ) from None


def read_utf8(path: Path) -> str:
    """A whole file as UTF-8 text (see :func:`decode_utf8`)."""
    return decode_utf8(path.read_bytes(), str(path))
