"""Test isolation: no network beyond loopback, no real API keys, no hub access."""

from __future__ import annotations

import functools
import gc
import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from fieldwise.models import key_variables

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            allowed = ipaddress.ip_address(host).is_loopback
        except ValueError:
            allowed = host == "localhost"
        if not allowed:
            raise OSError(f"tests must not touch the network (tried {host})")
    return _real_connect(self, address)


@functools.cache
def _cleared() -> tuple[str, ...]:
    """Every backend's and hosted provider's key variable (each declares its own), plus
    the variables that point a client elsewhere or reach the hub."""
    return (*sorted(key_variables()), "OPENAI_BASE_URL", "HF_TOKEN")


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in _cleared():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    yield
    # Loading freezes what it built (fieldwise._gc, for a command that then ends); one
    # process running every test hands it back, so no test's garbage outlives its test.
    gc.unfreeze()
