"""The embedded CPU baseline: rules plus linear models, trained in seconds, no weights needed.

Use it as ``baseline/DIR`` after :meth:`BaselineModel.train` has written ``DIR``.
"""

from __future__ import annotations

from fieldwise.models.baseline._backend import BaselineModel
from fieldwise.models.baseline._pipeline import Pipeline

__all__ = ["BaselineModel", "Pipeline"]
