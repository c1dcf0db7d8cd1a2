"""fieldwise: fine-tune, run, score and compare models that turn text into structured data."""

from __future__ import annotations

__version__ = "0.1.0"
