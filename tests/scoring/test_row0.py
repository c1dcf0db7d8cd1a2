"""The published row-0 test vector: 10 real model outputs scored by the reference profile.

Fixture data (data/isaf_row0.json): model outputs and gold labels for row isaf-test-0000 of
strickvl/isafpressreleases by Alex Strick van Linschoten, CC BY-SA 4.0.

Expected scores are derived by hand from the reference rules. Gold: 2013-01-24,
event_type [insurgentskilled], province [ghazni], target_group [taliban], min_killed 1,
min_captured 0, killq true, captureq false, killcaptureraid FALSE, airstrike false,
noshotsfired false, min_leaders_killed 1, min_leaders_captured 0.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldwise.scoring import parse_output, score_outputs
from fieldwise.tasks import load_task

FIXTURE = json.loads((Path(__file__).parent / "data" / "isaf_row0.json").read_text())
GOLD = FIXTURE["gold"]
OUTPUTS: dict[str, str] = FIXTURE["outputs"]
ISAF = load_task("isaf")
FIELDS = [f.name for f in ISAF.scored_fields]

# Fields each model gets wrong on row 0 (every other scored field scores 1.0).
WRONG = {
    # the three hosted fine-tunes and Solar call it a kill-capture raid; gold says no
    "finetuned-llama3-7b-32k-openpipe": {"killcaptureraid"},
    "finetuned-mistral-7b-optimised-openpipe": {"killcaptureraid"},
    "finetuned-openai-gpt-3.5-turbo-1106": {"killcaptureraid"},
    "ft-solar-1-mini-chat-240612-predibase": {"killcaptureraid"},  # after "\n\n"
    # captureandkill instead of insurgentskilled: recall 0/1; kcr false is right
    "gpt-3.5-turbo": {"event_type"},
    "gpt-4-turbo": {"event_type", "killcaptureraid"},
    # gold ⊂ pred ([insurgentskilled, captureandkill]): recall 1.0 under the reference
    "gpt-4o": {"killcaptureraid"},
    # event_type [airstrike] and airstrike true are both wrong
    "tinyllama-sharegpt": {"event_type", "airstrike"},
    # a leading newline is legal JSON whitespace: a perfect row
    "tinyllama-templatefree": set(),
    # the bare output "1" is JSON but not an object: 0 on everything
    "mistral-lora-templatefree": set(FIELDS),
}


def test_fixture_has_all_ten_models() -> None:
    assert set(OUTPUTS) == set(WRONG)


@pytest.mark.parametrize("model", sorted(WRONG))
def test_reference_scores_on_row0(model: str) -> None:
    score = score_outputs(ISAF, [GOLD], [OUTPUTS[model]], profiles=("reference",), n_boot=0)
    ref = score["reference"]
    expected = {f: (0.0 if f in WRONG[model] else 1.0) for f in FIELDS}
    assert ref.fields == expected
    assert ref.per_row.shape == (1, 13)
    assert ref.aggregate == pytest.approx(100 * (13 - len(WRONG[model])) / 13)


def test_parse_status_of_each_output() -> None:
    statuses = {m: parse_output(raw).status for m, raw in OUTPUTS.items()}
    assert statuses.pop("mistral-lora-templatefree") == "not_object"
    assert set(statuses.values()) == {"ok"}
    assert OUTPUTS["ft-solar-1-mini-chat-240612-predibase"].startswith("\n\n")


def test_strict_profile_charges_gpt4o_for_the_extra_event_type() -> None:
    strict = score_outputs(ISAF, [GOLD], [OUTPUTS["gpt-4o"]], n_boot=0)["strict"]
    assert strict.fields["event_type"] == pytest.approx(2 / 3)  # F1 of {ik} vs {ik, ck}
    assert strict.fields["killcaptureraid"] == 0.0
    assert strict.coverage["event_type"] == 1.0


def test_all_ten_models_scored_together_as_rows() -> None:
    """The same ten outputs as ten rows of one 'model' against a repeated gold."""
    models = sorted(OUTPUTS)
    ref = score_outputs(ISAF, [GOLD] * 10, [OUTPUTS[m] for m in models], n_boot=0)["reference"]
    assert ref.validity == {"ok": 9, "fenced": 0, "missing": 0, "invalid_json": 0, "not_object": 1}
    wrong_total = sum(len(WRONG[m]) for m in models)
    assert ref.per_row.sum() == pytest.approx(130 - wrong_total)
