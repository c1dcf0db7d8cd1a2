"""Pausing Python's cyclic garbage collector around allocation-heavy bulk work."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["gc_paused"]


@contextlib.contextmanager
def gc_paused(keep: bool = False) -> Iterator[None]:
    """Pause the cyclic GC inside the block (it resumes after, if it was on).

    Loading or scoring 100,000 rows keeps every new row alive while allocating millions
    of small objects; each automatic collection then re-walks all of them (a quarter of
    the time of a 100,000-row import). Parsed JSON and rows form no reference cycles, so
    nothing is left uncollected: the objects are freed by reference counting as usual.

    ``keep``: what the block built lives on (a loaded dataset, a file's predictions), so
    the objects alive at its end are moved to the permanent generation (``gc.freeze``)
    instead of being walked once more by each of the next collections (at 100,000 rows
    those walks cost about a second of an import). They are still freed by reference
    counting; only a reference cycle alive at that moment and dropped later waits for
    the process to end. Only the outermost paused block freezes.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if keep:
                gc.freeze()
            gc.enable()
