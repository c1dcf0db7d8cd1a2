"""The store: one SQLite file per project holding runs, predictions, datasets and models."""

from __future__ import annotations

from fieldwise.store._store import STORE_FILENAME, BatchRecord, PredictionRow, RunRecord, Store

__all__ = ["STORE_FILENAME", "BatchRecord", "PredictionRow", "RunRecord", "Store"]
