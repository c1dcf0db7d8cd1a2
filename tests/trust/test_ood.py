"""Out-of-domain probes: the shipped corpus, the verified edits, the per-model rates."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from fieldwise._lexicon import DMY, ISO_DATE, MDY
from fieldwise.errors import UserError
from fieldwise.scoring import get_profile
from fieldwise.tasks import Example, load_task
from fieldwise.tasks.isaf import (
    EVENT_TYPES,
    PROVINCE_ALIASES,
    PROVINCES,
    TARGET_ALIASES,
    TARGET_GROUPS,
)
from fieldwise.trust import align_value
from fieldwise.trust.ood import (
    Probe,
    Target,
    build_probes,
    load_probes,
    offtopic_texts,
    ood_metrics,
    write_probes,
)
from fieldwise.trust.ood._perturb import candidates, change_value, remove_value
from tests.trust.test_grounding_metrics import _gold

ISAF = load_task("isaf")


def test_the_corpus_is_large_varied_and_holds_no_answer() -> None:
    texts = offtopic_texts()
    assert len(texts) >= 60
    assert len({t["id"] for t in texts}) == len(texts)
    assert len({t["genre"] for t in texts}) >= 8
    labels = {w.replace("_", " ") for w in [*PROVINCES, *TARGET_GROUPS, *EVENT_TYPES]}
    labels |= set(PROVINCE_ALIASES) | set(TARGET_ALIASES)
    banned = {w for w in labels if len(w) >= 3} | {
        "invoice", "vat", "eur", "usd", "gbp", "gmbh", "ltd", "killed", "detained",
        "captured", "arrested", "insurgent", "insurgents", "afghanistan", "province",
    }  # fmt: skip
    for t in texts:
        low = t["text"].lower()
        assert 250 <= len(t["text"]) <= 1200, t["id"]
        found = [w for w in banned if re.search(rf"\b{re.escape(w)}\b", low)]
        assert not found, (t["id"], found)
        assert not re.search(r"[£€$]", t["text"]), t["id"]
        assert not (MDY.search(t["text"]) or DMY.search(t["text"]) or ISO_DATE.search(t["text"]))
        # no label of a label field of ISAF can be grounded in it
        for label in PROVINCES:
            assert align_value(t["text"], label, ISAF.field("province")).status == "none"


TEXT = "Forces detained a man in Kandahar province. The night was calm."
#       0         1         2         3         4
#       01234567890123456789012345678901234567890123


def test_removing_a_value_cuts_its_sentences_and_nothing_else() -> None:
    ex = Example("r", TEXT, _gold(["kandahar"]))
    (leaf,) = [c for c in candidates(ISAF, ex) if c.path == "province[0]"]
    edit = remove_value(ex, leaf)
    assert edit is not None
    assert edit.text == "The night was calm."
    assert edit.target == Target("province[0]", "kandahar", None)


def test_a_value_written_twice_is_cut_everywhere_or_not_at_all() -> None:
    calm = "The night was calm and the roads stayed open until morning."
    twice = f"Kandahar police spoke.\nForces detained a man in Kandahar. {calm}"
    ex = Example("r", twice, _gold(["kandahar"]))
    (leaf,) = [c for c in candidates(ISAF, ex) if c.path == "province[0]"]
    edit = remove_value(ex, leaf)
    assert edit is not None and edit.text == calm
    everywhere = Example("r", "Forces detained a man in Kandahar.", _gold(["kandahar"]))
    (leaf,) = [c for c in candidates(ISAF, everywhere) if c.path == "province[0]"]
    assert remove_value(everywhere, leaf) is None  # nothing would be left


def test_changing_a_value_rewrites_it_and_the_gold() -> None:
    ex = Example("r", TEXT, _gold(["kandahar"]))
    (leaf,) = [c for c in candidates(ISAF, ex) if c.path == "province[0]"]
    edit = change_value(ISAF, ex, leaf, {}, random.Random(3))
    assert edit is not None and edit.gold is not None
    new = edit.target.now
    assert new in PROVINCES and new != "kandahar"
    written = new.replace("_", " ").title()
    assert edit.text == TEXT.replace("Kandahar", written)
    assert edit.gold["province"] == [new] and ex.gold is not None
    assert ex.gold["province"] == ["kandahar"]  # the source is untouched


def test_numbers_and_dates_keep_their_written_form() -> None:
    task = load_task(f"{Path(__file__).resolve().parents[2] / 'tests' / 'nested_task.py'}:INVOICE")
    text = "Invoice INV-1 dated March 5, 2024: 12 x 0.25 for A-1 steel bolts."
    gold = {
        "number": "INV-1", "issued": "2024-03-05", "currency": "EUR",
        "vendor": {"name": "Acme", "country": "de", "vat_id": None},
        "line_items": [{"sku": "A-1", "description": "steel bolts", "quantity": 12,
                        "unit_price": 0.25, "total": 3.0}],
        "po_number": None, "note": "",
    }  # fmt: skip
    ex = Example("r", text, gold)
    leaves = {c.path: c for c in candidates(task, ex)}
    rng = random.Random(0)
    date = change_value(task, ex, leaves["issued"], {}, rng)
    assert date is not None and re.search(r"March \d+, 2024", date.text)
    assert date.text != text and date.gold is not None
    assert date.gold["issued"] == date.target.now
    qty = change_value(task, ex, leaves["line_items[0].quantity"], {}, rng)
    assert qty is not None and qty.gold is not None
    assert f": {qty.target.now} x 0.25" in qty.text
    assert qty.gold["line_items"][0]["quantity"] == qty.target.now
    price = change_value(task, ex, leaves["line_items[0].unit_price"], {}, rng)
    assert price is not None and re.search(r"12 x \d\.\d\d for", price.text)


def test_a_change_that_would_touch_another_gold_value_is_refused() -> None:
    task = load_task(f"{Path(__file__).resolve().parents[2] / 'tests' / 'nested_task.py'}:INVOICE")
    text = (
        "Invoice INV-1 dated March 5, 2024.\n"
        "A-1 server with 4 cores: 4 x 25.00\n"
        "B-2 cables: 4 x 3.10\n"
        "C-3 rack: 1 x 90.00"
    )
    items = [
        {"sku": "A-1", "description": "server with 4 cores", "quantity": 4, "unit_price": 25.0,
         "total": 100.0},
        {"sku": "B-2", "description": "cables", "quantity": 4, "unit_price": 3.1, "total": 12.4},
        {"sku": "C-3", "description": "rack", "quantity": 1, "unit_price": 90.0, "total": 90.0},
    ]  # fmt: skip
    gold = {
        "number": "INV-1", "issued": "2024-03-05", "currency": "EUR",
        "vendor": {"name": "Acme", "country": "de", "vat_id": None},
        "line_items": items, "po_number": None, "note": "",
    }  # fmt: skip
    ex = Example("r", text, gold)
    leaves = {c.path: c for c in candidates(task, ex)}
    for seed in range(5):
        rng = random.Random(seed)
        # every "4" is another item's quantity or inside a description: rewriting them all
        # would leave those gold values wrong, so neither quantity 4 is changed
        assert change_value(task, ex, leaves["line_items[0].quantity"], {}, rng) is None
        assert change_value(task, ex, leaves["line_items[1].quantity"], {}, rng) is None
        rack = change_value(task, ex, leaves["line_items[2].quantity"], {}, rng)
        assert rack is not None and rack.gold is not None
        now = rack.gold["line_items"][2]["quantity"]
        assert now in (2, 3)  # never 4: another item's quantity, already in the text
        assert rack.text == text.replace("rack: 1 x", f"rack: {now} x")
        assert [i["quantity"] for i in rack.gold["line_items"]] == [4, 4, now]


def test_build_is_seeded_and_writes_loadable_lines(tmp_path: Path) -> None:
    rows = [
        Example(f"r{i}", f"Forces detained a man in {p.title()} province. The night was calm.",
                _gold([p]))
        for i, p in enumerate(["kandahar", "helmand", "kunduz", "zabul"])
    ]  # fmt: skip
    probes = build_probes(ISAF, rows, perturbed=2, seed=7)
    kinds = [p.probe for p in probes]
    assert kinds.count("offtopic") == len(offtopic_texts())
    assert kinds.count("removed") == 2 and kinds.count("changed") == 2
    assert [p.to_json() for p in build_probes(ISAF, rows, perturbed=2, seed=7)] == [
        p.to_json() for p in probes
    ]
    path = tmp_path / "probes.jsonl"
    write_probes(path, probes)
    again = load_probes(path)
    assert [p.to_json() for p in again] == [p.to_json() for p in probes]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "a", "text": "t", "probe": "weird"}', "probe in"),
        ('{"id": "a", "text": "t", "probe": "removed"}', "needs its targets"),
        ("[1]", "expected a JSON object"),
        ("{nope", "invalid JSON"),
    ],
)
def test_bad_probe_files_are_one_line_errors(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(UserError, match=message):
        load_probes(path)


def test_duplicate_probe_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    line = json.dumps({"id": "a", "text": "t", "probe": "offtopic"})
    path.write_text(line + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(UserError, match="appears twice"):
        load_probes(path)


def test_rates_on_hand_made_outputs() -> None:
    off = [Probe(f"o{i}", "A quiet walk along the river in Kabul.", "offtopic") for i in range(4)]
    removed = Probe("x", "The night was calm.", "removed", source="r1",
                    targets=[Target("province[0]", "kandahar", None)])  # fmt: skip
    changed = Probe("y", "Seen in Helmand.", "changed", source="r2",
                    targets=[Target("province[0]", "kandahar", "helmand")])  # fmt: skip
    probes = [*off, removed, changed]
    outputs = [
        json.dumps({"province": ["kabul"]}),  # grounded: the text names Kabul
        json.dumps({"province": ["zabul"], "min_killed": 0}),  # invented
        json.dumps({"province": [], "min_killed": 0}),  # abstains (a 0 count is no answer)
        "I cannot find an incident in this text.",  # not JSON: abstains, invalid
        json.dumps({"province": ["kandahar"]}),  # the removed value is still given
        json.dumps({"province": ["Helmand"]}),  # the change followed (strict normalises)
    ]
    res = ood_metrics(ISAF, probes, outputs, get_profile("strict"))
    r = res.rates
    assert res.probes == {"offtopic": 4, "removed": 1, "changed": 1}
    assert (r["validity"].hits, r["validity"].n) == (5, 6)
    # one required field (province) per off-topic probe
    assert (r["nonnull"].hits, r["nonnull"].n) == (2, 4)
    assert (r["ungrounded"].hits, r["ungrounded"].n) == (1, 4)
    assert (r["abstention"].hits, r["abstention"].n) == (2, 4)
    assert (r["follows_removed"].hits, r["still_removed"].hits) == (0, 1)
    assert (r["follows_changed"].hits, r["stuck_changed"].hits) == (1, 0)
    ref = ood_metrics(ISAF, probes, outputs, get_profile("reference")).rates
    assert ref["follows_changed"].hits == 0  # "Helmand" is not "helmand" verbatim
    lo, hi = r["ungrounded"].lo, r["ungrounded"].hi
    assert 0.0 <= lo <= 0.25 <= hi <= 1.0


def test_an_unwritable_probe_file_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("x", encoding="utf-8")
    with pytest.raises(UserError, match="cannot write"):
        write_probes(tmp_path / "a_file" / "probes.jsonl", build_probes(ISAF, [], perturbed=0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]
