"""hf/vllm spec parsing, path checks and fingerprints: no model is loaded here."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldwise.errors import UserError
from fieldwise.models import create_model
from fieldwise.models._local import folder_fingerprint, split_model_spec
from fieldwise.tasks import load_task


def test_split_plain_names() -> None:
    assert split_model_spec("org/model") == ("org/model", None)
    assert split_model_spec("/models/base") == ("/models/base", None)


def test_split_hub_id_with_adapter() -> None:
    assert split_model_spec("org/model:runs/lora1") == ("org/model", "runs/lora1")


def test_split_prefers_an_existing_adapter_dir(tmp_path: Path) -> None:
    adapter = tmp_path / "ad:apter"
    adapter.mkdir()
    assert split_model_spec(f"base:{adapter}") == ("base", str(adapter))


def test_split_keeps_a_path_that_contains_a_colon(tmp_path: Path) -> None:
    folder = tmp_path / "weird:name"
    folder.mkdir()
    assert split_model_spec(str(folder)) == (str(folder), None)


def test_split_windows_drive_letters() -> None:
    assert split_model_spec(r"C:\models\base") == (r"C:\models\base", None)
    assert split_model_spec(r"C:\models\base:D:\runs\lora") == (r"C:\models\base", r"D:\runs\lora")
    assert split_model_spec("C:/m/base:lora") == ("C:/m/base", "lora")


def test_missing_model_dir_is_a_user_error(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    with pytest.raises(UserError, match="no such folder"):
        create_model(f"hf/{tmp_path / 'nope'}", load_task("isaf"))


def test_missing_adapter_is_a_user_error(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    base = tmp_path / "base"
    base.mkdir()
    with pytest.raises(UserError, match="no such folder"):
        create_model(f"hf/{base}:{tmp_path / 'missing'}", load_task("isaf"))
    not_adapter = tmp_path / "plain"
    not_adapter.mkdir()
    with pytest.raises(UserError, match="adapter_config.json"):
        create_model(f"hf/{base}:{not_adapter}", load_task("isaf"))


def test_bad_options_are_user_errors(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    task = load_task("isaf")
    with pytest.raises(UserError, match="batch_size"):
        create_model(f"hf/{tmp_path}", task, {"batch_size": 0})
    with pytest.raises(UserError, match="chat_template"):
        create_model(f"hf/{tmp_path}", task, {"chat_template": "maybe"})
    with pytest.raises(UserError, match="bacth_size"):
        create_model(f"hf/{tmp_path}", task, {"bacth_size": 4})


def test_missing_xgrammar_gives_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch")
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "xgrammar" else real(n, *a)
    )
    with pytest.raises(UserError) as info:
        create_model(f"hf/{tmp_path}", load_task("isaf"), {"constrained": True})
    assert "fieldwise[constrained]" in str(info.value)


def test_missing_torch_gives_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "torch" else real(n, *a)
    )
    with pytest.raises(UserError) as info:
        create_model(f"hf/{tmp_path}", load_task("isaf"))
    assert "fieldwise[hf]" in str(info.value)


def test_fingerprint_follows_content_not_names(tmp_path: Path) -> None:
    (tmp_path / "adapter_config.json").write_text('{"r": 8}')
    (tmp_path / "adapter_model.safetensors").write_bytes(b"\x00" * 64)
    (tmp_path / "README.md").write_text("notes")
    first = folder_fingerprint(tmp_path)
    (tmp_path / "README.md").write_text("other notes")  # never changes outputs
    (tmp_path / "checkpoint-10").mkdir()
    assert folder_fingerprint(tmp_path) == first
    (tmp_path / "adapter_model.safetensors").write_bytes(b"\x01" + b"\x00" * 63)  # same size
    assert folder_fingerprint(tmp_path) != first
