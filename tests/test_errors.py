"""Install hints name the extra that brings a missing package."""

from __future__ import annotations

from fieldwise.errors import MissingDependency, install_hint


def test_missing_extra_hints_name_the_extra() -> None:
    assert install_hint("trl") == "pip install 'fieldwise[finetune]'"
    assert install_hint("xgrammar") == "pip install 'fieldwise[constrained]'"
    assert "fieldwise[vllm]" in str(MissingDependency("vllm"))
