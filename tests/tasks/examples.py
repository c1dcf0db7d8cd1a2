"""Helpers for the tests of the shipped example projects in ``examples/``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_generator(example: str) -> ModuleType:
    """An example's ``make_data.py`` as a module (not left in ``sys.modules``)."""
    spec = importlib.util.spec_from_file_location(
        f"{example}_make_data", EXAMPLES / example / "make_data.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module
