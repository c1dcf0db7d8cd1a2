"""The one registry mechanism: lazy paths, one unknown-name error, install hints, checks."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from fieldwise import registry
from fieldwise.errors import UserError
from fieldwise.models import Model, get_backend
from fieldwise.registry import Registry


@pytest.fixture
def fresh() -> Any:
    reg: Registry[Any] = Registry("test_things", "test thing")
    yield reg
    registry.KINDS.pop("test_things", None)


def test_every_kind_is_a_registry_with_its_entry_point_group() -> None:
    expected = {
        "models",
        "providers",
        "tasks",
        "profiles",
        "metrics",
        "export_formats",
        "executors",
        "batch_apis",
        "hosts",
    }
    assert expected <= set(registry.KINDS)
    for kind in expected:
        assert registry.KINDS[kind].group == f"fieldwise.{kind}"


def test_unknown_name_is_one_error_listing_the_known_ones() -> None:
    with pytest.raises(UserError) as info:
        get_backend("nowhere")
    text = str(info.value)
    assert text.startswith("unknown model provider 'nowhere' (use one of: ")
    for name in ("openai", "anthropic", "hf", "vllm", "baseline"):
        assert name in text
    for kind in registry.KINDS.values():
        with pytest.raises(UserError, match=f"unknown {kind.noun} 'nowhere'"):
            kind.get("nowhere")


def test_a_path_is_imported_only_when_used(fresh: Any) -> None:
    fresh.register("lazy", "json.decoder:JSONDecoder")
    fresh.register("never", "a_module_that_does_not_exist_xyz:Thing")
    assert "a_module_that_does_not_exist_xyz" not in sys.modules
    assert fresh.names() == ["lazy", "never"] and "never" in fresh
    import json.decoder

    assert fresh.get("lazy") is json.decoder.JSONDecoder
    with pytest.raises(UserError, match="test thing 'never' is not available in this build"):
        fresh.get("never")


def test_a_missing_dependency_names_the_extra(fresh: Any, tmp_path: Any, monkeypatch: Any) -> None:
    (tmp_path / "needs_torchish.py").write_text("import torch_not_installed_xyz\nThing = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fresh.register("heavy", "needs_torchish:Thing", extra="hf")
    with pytest.raises(UserError) as info:
        fresh.get("heavy")
    assert "needs the 'torch_not_installed_xyz' package" in str(info.value)
    assert info.value.hint == "pip install 'fieldwise[hf]'"


def test_decorator_and_objects_register_too(fresh: Any) -> None:
    @fresh.register("deco")
    class Deco:
        pass

    assert fresh.get("deco") is Deco
    assert fresh.entry("deco").path.endswith(
        ":test_decorator_and_objects_register_too.<locals>.Deco"
    )
    fresh.unregister("deco")
    assert "deco" not in fresh


def test_the_check_names_what_is_wrong(fresh: Any) -> None:
    fresh.configure(check=Model)
    fresh.register("wrong", "json:JSONDecoder")
    with pytest.raises(
        UserError, match="test thing 'wrong' is json:JSONDecoder, which is not a Model"
    ):
        fresh.get("wrong")
    fresh.register("typo", "json:NoSuchThing")
    with pytest.raises(UserError, match="points at json:NoSuchThing, which does not exist"):
        fresh.get("typo")


def test_registering_a_dotless_path_is_a_programming_error(fresh: Any) -> None:
    with pytest.raises(ValueError, match="as 'module:attr'"):
        fresh.register("bad", "json.JSONDecoder")
