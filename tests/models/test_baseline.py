"""The embedded baseline: trains on made-up releases, saves without pickle, reloads."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Literal

import numpy as np
import pytest
from pydantic import BaseModel, ValidationError

from fieldwise.errors import UserError
from fieldwise.models import create_model
from fieldwise.models.baseline import BaselineModel
from fieldwise.tasks import Example, Task
from fieldwise.tasks.isaf import ISAF, IsafEvent

HEAD = "ISAF Joint Command - Afghanistan\nKABUL, Afghanistan ({date})\n"


def _release(i: int, date: str, body: str, **gold: object) -> Example:
    base = {
        "name": "x",
        "start_date": "",
        "event_type": ["detention"],
        "province": ["kandahar"],
        "target_group": ["taliban"],
        "min_killed": 0,
        "min_captured": 0,
        "killq": False,
        "captureq": False,
        "killcaptureraid": True,
        "airstrike": False,
        "noshotsfired": False,
        "min_leaders_killed": 0,
        "min_leaders_captured": 0,
    }
    base.update(gold)
    return Example(id=f"r{i}", text=HEAD.format(date=date) + body, gold=base)


def isaf_examples() -> list[Example]:
    """Fourteen invented releases covering detentions, kills, strikes and relative dates."""
    return [
        _release(0, "March 3, 2011", "A combined force detained two suspected insurgents in "
                 "Zharay district, Kandahar province, yesterday. The force did not fire.",
                 start_date="2011-03-02", min_captured=2, captureq=True, noshotsfired=True),
        _release(1, "March 5, 2011", "A security force detained several suspected insurgents "
                 "in Helmand province today while targeting a Taliban leader.",
                 start_date="2011-03-05", province=["helmand"], min_captured=3, captureq=True),
        _release(2, "April 9, 2011", "An air strike killed three insurgents in Kunar province "
                 "yesterday.", start_date="2011-04-08", province=["kunar"], min_killed=3,
                 killq=True, airstrike=True, event_type=["airstrike"], killcaptureraid=False),
        _release(3, "April 12, 2011", "A security force captured a Haqqani leader and one "
                 "suspected insurgent in Khost province yesterday.", start_date="2011-04-11",
                 province=["khost"], target_group=["haqqani"], min_captured=2, captureq=True,
                 min_leaders_captured=1),
        _release(4, "May 2, 2011", "Coalition forces killed a Taliban commander in Ghazni "
                 "province today.", start_date="2011-05-02", province=["ghazni"], min_killed=1,
                 killq=True, min_leaders_killed=1, event_type=["insurgentskilled"]),
        _release(5, "May 6, 2011", "A combined force detained a Taliban facilitator in Andar "
                 "district yesterday. No shots were fired.", start_date="2011-05-05",
                 province=["ghazni"], min_captured=1, captureq=True, noshotsfired=True),
        _release(6, "June 1, 2011", "A patrol killed two insurgents and detained one suspected "
                 "insurgent in Logar province yesterday.", start_date="2011-05-31",
                 province=["logar"], min_killed=2, min_captured=1, killq=True, captureq=True,
                 event_type=["captureandkill"], target_group=[""]),
        _release(7, "June 4, 2011", "An air weapons team killed several insurgents in Helmand "
                 "province today.", start_date="2011-06-04", province=["helmand"], min_killed=3,
                 killq=True, airstrike=True, event_type=["airstrike"], target_group=[""],
                 killcaptureraid=False),
        _release(8, "July 7, 2011", "A security force detained numerous suspected insurgents "
                 "in Paktiya province yesterday.", start_date="2011-07-06",
                 province=["paktya"], target_group=["haqqani"], min_captured=4, captureq=True),
        _release(9, "July 9, 2011", "Afghan forces detained two Taliban insurgents in Kandahar "
                 "province today.", start_date="2011-07-09", min_captured=2, captureq=True),
        _release(10, "Aug. 2, 2011", "A security force killed an insurgent leader in Zabul "
                 "province yesterday.", start_date="2011-08-01", province=["zabul"],
                 min_killed=1, killq=True, min_leaders_killed=1,
                 event_type=["insurgentskilled"]),
        _release(11, "Aug. 5, 2011", "A combined force detained several suspected insurgents "
                 "in Wardak province today. The force did not fire their weapons.",
                 start_date="2011-08-05", province=["wardak"], min_captured=3, captureq=True,
                 noshotsfired=True),
        _release(12, "Sept. 3, 2011", "Security forces detained three suspected insurgents in "
                 "Khost province yesterday.", start_date="2011-09-02", province=["khost"],
                 target_group=["haqqani"], min_captured=3, captureq=True),
        _release(13, "Sept. 9, 2011", "An air strike killed two insurgents in Kunar province "
                 "today.", start_date="2011-09-09", province=["kunar"], min_killed=2,
                 killq=True, airstrike=True, event_type=["airstrike"], target_group=[""],
                 killcaptureraid=False),
    ]  # fmt: skip


UNSEEN = [
    Example(id="u0", text=HEAD.format(date="Oct. 4, 2011") + "A combined force detained two "
            "suspected insurgents in Kandahar province yesterday."),
    Example(id="u1", text="A patrol killed an insurgent in Helmand province. No date given."),
]  # fmt: skip


@pytest.fixture(scope="module")
def isaf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("baseline-isaf")
    return BaselineModel.train(ISAF, isaf_examples(), out, None)


def _outputs(model: BaselineModel, examples: list[Example]) -> list[str | None]:
    return [g.output for g in asyncio.run(model.generate(examples))]


def test_saved_without_pickle(isaf_dir: Path) -> None:
    assert sorted(p.name for p in isaf_dir.iterdir()) == ["model.json", "weights.npz"]
    json.loads((isaf_dir / "model.json").read_text())
    with np.load(isaf_dir / "weights.npz", allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)


def test_predictions_are_task_objects(isaf_dir: Path) -> None:
    model = create_model(f"baseline/{isaf_dir}", ISAF)
    assert isinstance(model, BaselineModel) and model.kind == "baseline"
    outputs = _outputs(model, isaf_examples()[:3] + UNSEEN)
    for out in outputs:
        obj = json.loads(out or "")
        assert list(obj) == [f.name for f in ISAF.fields]
    first = IsafEvent.model_validate(json.loads(outputs[3] or ""))
    assert first.start_date == dt.date(2011, 10, 3)
    assert [p.value for p in first.province] == ["kandahar"]
    assert first.min_captured == 2 and first.captureq is True


def test_reload_gives_identical_outputs_and_identity(isaf_dir: Path) -> None:
    a = create_model(f"baseline/{isaf_dir}", ISAF)
    b = create_model(f"baseline/{isaf_dir}", ISAF)
    examples = isaf_examples() + UNSEEN
    assert _outputs(a, examples) == _outputs(b, examples)
    assert a.identity() == b.identity()
    assert len(a.identity()["fingerprint"]) == 64


def test_abstain_outputs_nulls(isaf_dir: Path) -> None:
    sure = create_model(f"baseline/{isaf_dir}", ISAF)
    unsure = create_model(f"baseline/{isaf_dir}", ISAF, {"abstain": True, "abstain_below": 1.0})
    no_date = json.loads(
        _outputs(create_model(f"baseline/{isaf_dir}", ISAF, {"abstain": True}), UNSEEN)[1] or ""
    )
    assert no_date["start_date"] is None
    assert all(v is not None for v in json.loads(_outputs(sure, UNSEEN)[0] or "").values())
    nulls = json.loads(_outputs(unsure, UNSEEN)[0] or "")
    assert sum(v is None for v in nulls.values()) >= 6
    assert nulls["name"] is not None  # never scored, never withheld
    assert sure.identity() != unsure.identity()


def test_bad_options_and_directories(tmp_path: Path, isaf_dir: Path) -> None:
    with pytest.raises(UserError, match="no baseline model"):
        create_model(f"baseline/{tmp_path / 'missing'}", ISAF)
    with pytest.raises(UserError, match="bad option"):
        create_model(f"baseline/{isaf_dir}", ISAF, {"abstian": True})
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.json").write_text("{not json")
    (broken / "weights.npz").write_bytes(b"garbage")
    with pytest.raises(UserError, match="corrupt"):
        create_model(f"baseline/{broken}", ISAF)
    (broken / "model.json").write_text((isaf_dir / "model.json").read_text())
    with pytest.raises(UserError, match="corrupt"):
        create_model(f"baseline/{broken}", ISAF)


class Recall(BaseModel):
    product: str
    hazard: Literal["fire", "choking", "contamination"]
    countries: list[Literal["us", "ca", "uk"]]
    units: int
    recall_date: dt.date
    voluntary: bool


RECALL = Task.from_model("recall", Recall, description="product recalls")


def _recall(i: int, hazard: str, countries: list[str], units: int, day: int) -> Example:
    where = " and ".join({"us": "the US", "ca": "Canada", "uk": "the UK"}[c] for c in countries)
    cause = {"fire": "may overheat and catch fire", "choking": "small parts pose a choking "
             "risk", "contamination": "may be contaminated with bacteria"}[hazard]  # fmt: skip
    text = (
        f"Recall notice, June {day}, 2023. Acme recalls {units} heaters sold in {where} "
        f"because they {cause}. The recall is {'voluntary' if i % 2 else 'mandatory'}."
    )
    gold = {"product": "heater", "hazard": hazard, "countries": countries, "units": units,
            "recall_date": f"2023-06-{day:02d}", "voluntary": bool(i % 2)}  # fmt: skip
    return Example(id=f"p{i}", text=text, gold=gold)


def test_any_task_trains_and_predicts(tmp_path: Path) -> None:
    hazards = ["fire", "choking", "contamination"]
    places = [["us"], ["ca"], ["uk"], ["us", "ca"]]
    train = [_recall(i, hazards[i % 3], places[i % 4], 100 * (i + 1), 1 + i) for i in range(12)]
    out = BaselineModel.train(RECALL, train, tmp_path / "recall", BaselineModel.Options(c=2.0))
    model = create_model(f"baseline/{out}", RECALL)
    test = [_recall(20, "choking", ["uk"], 450, 21)]
    obj = json.loads(_outputs(model, test)[0] or "")
    assert list(obj) == list(Recall.model_fields)
    assert obj["recall_date"] == "2023-06-21"
    assert obj["countries"] == ["uk"]
    try:
        Recall.model_validate(obj)
    except ValidationError as exc:  # pragma: no cover - shown on failure
        pytest.fail(f"prediction does not fit the schema: {exc}")


def test_model_for_another_task_is_refused(tmp_path: Path, isaf_dir: Path) -> None:
    with pytest.raises(UserError, match="other fields"):
        create_model(f"baseline/{isaf_dir}", RECALL)
    with pytest.raises(UserError, match="labelled"):
        BaselineModel.train(ISAF, [Example("a", "text")], tmp_path / "x", None)


def test_its_own_probability_is_stored_as_a_signal_and_decides_abstention(isaf_dir: Path) -> None:
    sure = create_model(f"baseline/{isaf_dir}", ISAF)
    cautious = create_model(f"baseline/{isaf_dir}", ISAF, {"abstain": True})
    gens = asyncio.run(sure.generate(UNSEEN))
    held = [json.loads(g.output or "") for g in asyncio.run(cautious.generate(UNSEEN))]
    scored = [f.name for f in ISAF.fields if f.scored]
    for gen, nulls in zip(gens, held, strict=True):
        assert gen.signals is not None
        prob = gen.signals["prob"]
        assert sorted(prob) == sorted(scored)  # one per scored field, "name" has none
        assert all(0.0 <= p <= 1.0 for p in prob.values())
        # the abstaining twin says null exactly where its own probability is below 0.5
        assert {k for k in scored if nulls[k] is None} == {k for k in scored if prob[k] < 0.5}
