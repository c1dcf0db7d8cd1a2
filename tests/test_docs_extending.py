"""docs/extending.md lists exactly what the registries hold (it cannot drift)."""

from __future__ import annotations

from pathlib import Path

from fieldwise import registry

PAGE = Path(__file__).resolve().parents[1] / "docs" / "extending.md"


def test_the_page_matches_the_registries() -> None:
    text = PAGE.read_text(encoding="utf-8")
    assert registry.render_docs(text) == text, (
        "docs/extending.md is out of date: run `python -m fieldwise.registry docs/extending.md`"
    )


def test_every_kind_and_entry_point_group_is_on_the_page() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for kind in registry.KINDS.values():
        assert f"`{kind.group}`" in text
        for name in kind.builtins():
            assert f"`{name}`" in text
