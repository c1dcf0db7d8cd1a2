"""``gc_paused``: collections pause inside, resume after; ``keep`` freezes what lives on."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from fieldwise._gc import gc_paused


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.enable()


def test_the_collector_pauses_inside_and_resumes_after() -> None:
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_keep_freezes_what_lives_on_and_still_frees_the_rest_by_refcount() -> None:
    with gc_paused(keep=True):
        with gc_paused(keep=True):  # an inner block neither resumes nor freezes
            kept = [[i] for i in range(1000)]
        assert not gc.isenabled() and gc.get_freeze_count() == 0
    assert gc.isenabled() and gc.get_freeze_count() >= 1000
    tracked = {id(obj) for obj in gc.get_objects()}
    assert id(kept) not in tracked  # frozen: no collection walks it again
    assert len(kept) == 1000


def test_a_paused_collector_stays_off() -> None:
    gc.disable()
    with gc_paused(keep=True):
        pass
    assert not gc.isenabled() and gc.get_freeze_count() == 0
