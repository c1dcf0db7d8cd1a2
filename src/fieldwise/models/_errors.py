"""Provider errors mapped onto the runner's contract, with secrets redacted: shared by
every HTTP API backend (OpenAI-compatible, Anthropic, and any third-party one).

The contract: 408/409/429/5xx, connection errors and timeouts are
:class:`~fieldwise.models.RetryableError` (honouring ``Retry-After``); a rejected key
(401/403) or an unknown model (404) is a :class:`~fieldwise.errors.UserError` that stops
the run, since every request would fail the same way; any other 4xx, and a body that is
not a response at all, is :class:`APIRequestError`, that example's error.

Redaction: a server's error body may echo the API key or the ``Authorization`` header
(gateways and validators do), and whatever it says is stored, written to ``--out``,
shown in reports and printed. Every key a backend resolves is registered with
:func:`register_secret`; :func:`redact` removes those keys and any bearer/API-key header
value, and the credentials of any URL (``http://user:SECRET@host``), from a text, and is
applied to every message built here, to every error a row is stored with
(:func:`error_text`, whichever executor ran it: online, batch or Ray) and to everything
the CLI prints (tracebacks included). Mapped errors are raised
``from None``: the SDK exception behind them holds the raw body.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import threading
from collections.abc import Mapping
from types import ModuleType
from urllib.parse import urlsplit

from fieldwise._text import hide_url_credentials, scrub_text
from fieldwise.errors import UserError
from fieldwise.models._model import RetryableError

REDACTED = "[REDACTED]"

_secrets: set[str] = set()
_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None

_HEADERS = re.compile(
    r"(?i)(\bbearer\s+|\bbasic\s+|\b(?:x-)?api[-_]?key[\"']?\s*[:=]\s*[\"']?|"
    r"\bauthorization[\"']?\s*[:=]\s*[\"']?(?:bearer\s+|basic\s+)?)"
    r"[^\s\"',;}]+"
)
"""A header or parameter carrying a credential: the value after it is redacted."""

_key_patterns: list[str] = []
_key_shapes: re.Pattern[str] | None = None
"""Key formats of the backends and providers loaded so far (each class declares its own in
``key_pattern``), redacted even when the key itself was never registered here."""

MIN_SECRET = 8
"""Shorter values (``x``, the local dummy key) are too common a text to redact."""


class APIRequestError(Exception):
    """A request the server refused for this example (a 4xx other than auth/not-found),
    or a reply that was not a response at all."""


def register_secret(secret: str | None) -> None:
    """Remember a credential so that :func:`redact` removes it from every text."""
    global _pattern
    if not secret or len(secret) < MIN_SECRET:
        return
    with _lock:
        if secret in _secrets:
            return
        _secrets.add(secret)
        alternatives = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in alternatives))


def register_url_credentials(url: str) -> None:
    """Register the password (and ``user:password``) of a URL's userinfo as secrets, so a
    server echoing them back is redacted even without the URL around them."""
    userinfo = urlsplit(url).netloc.rpartition("@")[0]
    if userinfo:
        register_secret(userinfo)
        register_secret(userinfo.partition(":")[2])


def redact(text: str) -> str:
    """``text`` without any registered secret, credential header value or URL
    credentials."""
    if not text:
        return text
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    text = _HEADERS.sub(lambda m: m.group(1) + REDACTED, text)
    shapes = _key_shapes
    text = shapes.sub(REDACTED, text) if shapes is not None else text
    return hide_url_credentials(text)  # type: ignore[no-any-return]


def register_key_pattern(pattern: str | None) -> None:
    """Redact every text matching ``pattern`` (a provider's key format) from now on.

    Called when a backend or hosted provider class that declares a ``key_pattern`` is
    defined, so a new provider brings its own key format instead of editing a table here.
    """
    global _key_shapes
    if not pattern:
        return
    with _lock:
        if pattern in _key_patterns:
            return
        _key_patterns.append(pattern)
        _key_shapes = re.compile("|".join(f"(?:{p})" for p in _key_patterns))


MAX_ERROR_CHARS = 1000


def error_text(message: object) -> str:
    """An error as it may be stored, written or shown: every registered secret and
    credential header value redacted, lone surrogates replaced, at most
    :data:`MAX_ERROR_CHARS` characters. The one redaction point for errors: the runner,
    the batch runner and the Ray driver pass every row's error through it (via
    :func:`~fieldwise.models._responses.clean_generation`)."""
    return scrub_text(redact(str(message)))[:MAX_ERROR_CHARS]


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``retry-after`` (seconds or HTTP date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        return max(0.0, float(lowered["retry-after-ms"]) / 1000)
    except (KeyError, ValueError):
        pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def map_status_error(
    status: int, message: str, headers: Mapping[str, str], spec: str, base_url: str
) -> Exception:
    """Turn an HTTP error into the runner's contract (see the module docstring)."""
    brief = re.sub(r"^Error code: \d+ - ", "", " ".join(str(message).split()))
    brief = redact(brief)[:300]
    if status in (408, 409, 429) or status >= 500:
        return RetryableError(f"HTTP {status}: {brief}", retry_after=retry_after_s(headers))
    if status in (401, 403):
        # The server's message may echo part of the key, so it is not repeated here.
        return UserError(
            f"{base_url} rejected the API key for {spec} (HTTP {status})",
            hint="check the key variable (or the api_key_env option)",
        )
    if status == 404:
        return UserError(
            f"{base_url} does not serve {spec} (HTTP 404: {brief})",
            hint="check the model name and base_url",
        )
    return APIRequestError(f"HTTP {status}: {brief}")


def sdk_error(exc: BaseException, sdk: ModuleType, spec: str, base_url: str) -> Exception | None:
    """The runner's error for an exception raised by an ``openai``/``anthropic``-style
    SDK call (both share these exception classes), or ``None`` when it is not one."""
    if isinstance(exc, sdk.APIStatusError):
        return map_status_error(
            exc.status_code, str(exc.message), exc.response.headers, spec, base_url
        )
    if isinstance(exc, sdk.APITimeoutError):
        return RetryableError("request timed out")
    if isinstance(exc, sdk.APIConnectionError):
        return RetryableError(redact(f"connection error: {exc.__cause__ or exc}"))
    if isinstance(exc, (ValueError, TypeError, RecursionError, AttributeError)):
        # The body was not JSON (or nested too deep), or not the response type at all.
        reason = redact(f"{type(exc).__name__}: {exc}")[:300]
        return APIRequestError(f"malformed response body ({reason})")
    return None
