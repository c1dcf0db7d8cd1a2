"""Named, versioned prompts: saving, versions, resolution, and the cache key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldwise.errors import UserError
from fieldwise.models import create_model, prediction_key
from fieldwise.models._shots import NearestShots
from fieldwise.tasks import Example, Task
from fieldwise.tasks.named_prompts import (
    PromptSpec,
    Shot,
    ShotPolicy,
    load_prompt,
    resolve_prompt,
    resolve_prompt_option,
    save_prompt,
    split_rules,
)
from fieldwise.tasks.prompts import load_template


def _spec(instruction: str = "") -> PromptSpec:
    return PromptSpec(template=load_template().source, instruction=instruction)


def test_same_content_keeps_its_version_and_new_content_is_the_next(tmp_path: Path) -> None:
    first = save_prompt(tmp_path, "p", _spec("a"))
    again = save_prompt(tmp_path, "p", _spec("a"))
    second = save_prompt(tmp_path, "p", _spec("b"))
    assert (first.version, again.version, second.version) == (1, 1, 2)
    assert resolve_prompt(tmp_path, "p") == second.path
    assert resolve_prompt(tmp_path, "p@v1") == first.path
    assert load_prompt(resolve_prompt(tmp_path, "p@1")).spec.instruction == "a"
    with pytest.raises(UserError, match="no version 'v3'"):
        resolve_prompt(tmp_path, "p@v3")
    with pytest.raises(UserError, match="no saved prompt named 'q'"):
        resolve_prompt(tmp_path, "q")


@pytest.mark.parametrize("name", ["original", "../x", "", "a b"])
def test_bad_or_reserved_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(UserError):
        save_prompt(tmp_path, name, _spec())


def test_an_edited_prompt_file_no_longer_matches_its_hash(tmp_path: Path) -> None:
    saved = save_prompt(tmp_path, "p", _spec("a"))
    body = json.loads(saved.path.read_text())
    body["spec"]["instruction"] = "tampered"
    saved.path.write_text(json.dumps(body))
    with pytest.raises(UserError, match="does not match its hash"):
        load_prompt(saved.path)
    saved.path.write_text("{not json")
    with pytest.raises(UserError, match="cannot read prompt"):
        load_prompt(saved.path)


def test_the_prompt_content_not_its_name_keys_predictions(tmp_path: Path, isaf: Task) -> None:
    a = save_prompt(tmp_path, "a", _spec("x"))
    b = save_prompt(tmp_path, "b", _spec("x"))
    c = save_prompt(tmp_path, "c", _spec("y"))
    ex = Example("1", "some text")

    def key(options: dict[str, object]) -> str:
        return prediction_key(create_model("simulated/m", isaf, options).identity(), ex)

    assert key({"prompt": str(a.path)}) == key({"prompt": str(b.path)})
    assert key({"prompt": str(a.path)}) == key({"prompt": _spec("x")})
    assert key({"prompt": str(a.path)}) != key({"prompt": str(c.path)})
    assert key({"prompt": str(a.path)}) != key({})


def test_a_model_without_a_named_prompt_keeps_its_cache_keys(isaf: Task) -> None:
    from fieldwise.tasks.prompts import prompt_identity

    model = create_model("simulated/m", isaf, {})
    ident = model.identity()
    assert "prompt" not in ident["options"]
    assert ident["prompt"] == prompt_identity(model.template, [])


def test_a_named_prompt_and_few_shot_together_are_an_error(tmp_path: Path, isaf: Task) -> None:
    saved = save_prompt(tmp_path, "p", _spec())
    with pytest.raises(UserError, match="few_shot"):
        create_model("simulated/m", isaf, {"prompt": str(saved.path), "few_shot": 2})
    # As a variant switch (original vs NAME), the original's few_shot is dropped instead.
    opts = resolve_prompt_option({"prompt": "p", "few_shot": 2}, tmp_path, switch=True)
    assert opts == {"prompt": str(saved.path.resolve())}
    assert resolve_prompt_option({"prompt": "original", "few_shot": 2}, tmp_path) == {"few_shot": 2}


def test_rules_split_into_bullets_with_their_continuations() -> None:
    assert split_rules("- a\n  more\n* b\n\n- c") == ["a more", "b", "c"]
    assert split_rules("no bullets\nat all") == ["no bullets at all"]


def test_nearest_shots_never_show_a_row_its_own_document() -> None:
    pool = [
        Example("1", "air weapons team engaged insurgents", {"x": 1}),
        Example("2", "detained a facilitator in kandahar", {"x": 2}),
        Example("3", "an air weapons team strike killed two", {"x": 3}),
    ]
    pick = NearestShots(pool, 2)
    chosen = pick(Example("9", "air weapons team engaged insurgents", None))
    assert [ex.id for ex in chosen] == ["2", "3"]  # not "1": the same text
    assert pick(Example("8", "an air weapons team killed", None))[-1].id in {"1", "3"}


def test_a_knn_prompt_picks_examples_per_input(isaf: Task, splits: tuple) -> None:
    train, _, test = splits
    policy = ShotPolicy(source="knn", k=2, examples=tuple(Shot.of(ex) for ex in train))
    model = create_model(
        "simulated/m", isaf, {"prompt": _spec().model_copy(update={"shots": policy})}
    )
    a, b = (model.messages(ex) for ex in test[:2])
    assert len(a) == len(b) == 6  # system, two example pairs, the input
    assert [m["content"] for m in a[1:5]] != [m["content"] for m in b[1:5]]
