"""The schema compile pool and the schema limits, without a model.

The pool is driven by a compile function that blocks until the test releases it, so
each state (compiling, queued, full, timed out, abandoned) is reached on purpose rather
than by racing a real compiler; ``test_serve_hostile.py`` runs the real one.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from fieldwise.serve._compile import CompilePool
from fieldwise.serve._constrain import SchemaLimitError, SchemaLimits
from fieldwise.serve._protocol import ApiError


class Gate:
    """A compile function that records what it compiled and waits for ``release``."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.started = threading.Semaphore(0)
        self.go = threading.Event()

    def __call__(self, fmt: dict[str, Any]) -> Any:
        self.calls.append(fmt["name"])
        self.started.release()
        self.go.wait(10)
        if fmt.get("bad"):
            raise ValueError(f"cannot compile {fmt['name']}")
        return _Grammar(fmt["name"], fmt.get("size", 10))

    def wait_started(self, n: int = 1) -> None:
        for _ in range(n):
            assert self.started.acquire(timeout=10)


class _Grammar:
    def __init__(self, name: str, size: int) -> None:
        self.name, self.memory_size_bytes = name, size


def fmt(name: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    return name, {"name": name, **extra}


@pytest.fixture
def gate() -> Gate:
    return Gate()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_same_schema_compiles_once_and_is_then_cached(gate: Gate) -> None:
    pool = CompilePool(gate, workers=1, max_waiting=0)

    async def main() -> list[Any]:
        waiting = [asyncio.create_task(pool.grammar(*fmt("a"))) for _ in range(5)]
        await asyncio.to_thread(gate.wait_started)
        gate.go.set()
        return [*await asyncio.gather(*waiting), await pool.grammar(*fmt("a"))]

    grammars = run(main())
    pool.close()
    assert gate.calls == ["a"] and {g.name for g in grammars} == {"a"}
    assert pool.stats()["compiled"] == 1 and pool.stats()["cache_hits"] == 1


def test_a_full_pool_refuses_with_503_and_reports_saturation(gate: Gate) -> None:
    pool = CompilePool(gate, workers=1, max_waiting=1)

    async def main() -> None:
        first = asyncio.create_task(pool.grammar(*fmt("a")))
        await asyncio.to_thread(gate.wait_started)
        queued = asyncio.create_task(pool.grammar(*fmt("b")))
        await asyncio.sleep(0.05)
        assert pool.saturated
        with pytest.raises(ApiError) as refused:
            await pool.grammar(*fmt("c"))
        assert refused.value.status == 503 and refused.value.headers() == {"Retry-After": "1"}
        gate.go.set()
        await asyncio.gather(first, queued)
        assert not pool.saturated

    run(main())
    pool.close()
    assert gate.calls == ["a", "b"] and pool.stats()["refused"] == 1


def test_a_client_that_leaves_drops_its_queued_compile(gate: Gate) -> None:
    pool = CompilePool(gate, workers=1, max_waiting=4)

    async def main() -> None:
        first = asyncio.create_task(pool.grammar(*fmt("a")))
        await asyncio.to_thread(gate.wait_started)
        leaving = asyncio.create_task(pool.grammar(*fmt("b")))
        await asyncio.sleep(0.05)
        leaving.cancel()  # what the app does when the client disconnects
        await asyncio.gather(leaving, return_exceptions=True)
        gate.go.set()
        await first

    run(main())
    pool.close()
    assert gate.calls == ["a"]  # "b" was never compiled
    assert pool.stats()["dropped"] == 1 and pool.stats()["waiting"] == 0


def test_time_limits_queue_is_503_and_compiling_is_400(gate: Gate) -> None:
    pool = CompilePool(gate, workers=1, max_waiting=4, timeout_s=0.3)

    async def main() -> None:
        slow = asyncio.create_task(pool.grammar(*fmt("slow")))
        await asyncio.to_thread(gate.wait_started)
        with pytest.raises(ApiError) as queued:
            await pool.grammar(*fmt("behind"))
        with pytest.raises(ApiError) as compiling:
            await slow
        assert queued.value.status == 503
        assert compiling.value.status == 400 and compiling.value.code == "schema_too_complex"
        assert "took over 0.3 s to compile" in str(compiling.value)
        # The compile that overran still finishes, and a retry gets its grammar at once.
        gate.go.set()
        await asyncio.to_thread(lambda: _until(lambda: pool.stats()["compiled"] == 1))
        assert (await pool.grammar(*fmt("slow"))).name == "slow"

    run(main())
    pool.close()
    assert gate.calls == ["slow"]


def test_a_failed_schema_is_400_and_remembered(gate: Gate) -> None:
    gate.go.set()
    pool = CompilePool(gate, workers=1)

    async def main() -> None:
        for _ in range(2):
            with pytest.raises(ApiError) as bad:
                await pool.grammar(*fmt("x", bad=True))
            assert bad.value.status == 400 and "cannot compile x" in str(bad.value)

    run(main())
    pool.close()
    assert gate.calls == ["x"]


def test_the_cache_is_bounded_in_bytes(gate: Gate) -> None:
    gate.go.set()
    pool = CompilePool(gate, workers=1, cache_bytes=100)

    async def main() -> None:
        for name in "abcd":
            await pool.grammar(*fmt(name, size=40))
        await pool.grammar(*fmt("huge", size=1000))  # never cached, still answered

    run(main())
    pool.close()
    stats = pool.stats()
    assert stats["cached"] == 2 and stats["cached_bytes"] == 80


def _until(predicate: Any, timeout: float = 10) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def _anyof(n: int) -> dict[str, Any]:
    return {"anyOf": [{"type": "object", "properties": {f"k{i}": {}}} for i in range(n)]}


@pytest.mark.parametrize(
    ("schema", "limit", "words"),
    [
        ({"enum": ["x" * 100] * 1000}, "max_schema_bytes", "bytes; this server compiles"),
        (_anyof(300), "max_schema_branches", "#/anyOf of the response_format schema has 300"),
        (
            {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(200)}},
            "max_schema_complexity",
            "estimated compile cost is over 10,000 (objects that admit undeclared",
        ),
        ({"items": {"items": {"items": {"items": {}}}}}, "max_schema_depth", "deeper than 3"),
    ],
)
def test_each_schema_limit_names_itself(schema: Any, limit: str, words: str) -> None:
    limits = SchemaLimits(max_depth=3) if limit == "max_schema_depth" else SchemaLimits()
    with pytest.raises(SchemaLimitError) as refused:
        limits.check(schema)
    assert refused.value.limit == limit and words in str(refused.value)


def test_open_objects_cost_most_and_strict_closes_them() -> None:
    many = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(200)}}
    assert SchemaLimits().check(many, strict=True) == 202  # closed: one per JSON object in it
    with pytest.raises(SchemaLimitError):
        SchemaLimits().check({**many, "additionalProperties": True}, strict=True)
    assert SchemaLimits().check({**many, "additionalProperties": False}) == 202


def test_a_realistic_nested_schema_is_within_the_limits() -> None:
    from fieldwise.models.openai_backend import output_schema
    from tests.nested_task import INVOICE

    schema, _ = output_schema(INVOICE, True)  # what the openai backend sends as strict
    assert SchemaLimits().check(schema, strict=True) < 100
    assert SchemaLimits().check(INVOICE.json_schema(), strict=False) < 5_000
