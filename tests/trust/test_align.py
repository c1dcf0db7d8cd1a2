"""The evidence aligner on hand-computed vectors: each expected offset below was counted
by hand from the literal text, not found with ``str.find``."""

from __future__ import annotations

import pytest

from fieldwise.tasks import FieldSpec, Metric, load_task
from fieldwise.trust import Document, Evidence, align_row, align_value, field_path
from tests.nested_task import INVOICE

TEXT = "FieldSpec"
DATE = FieldSpec("d", "date", "exact")
PRICE = FieldSpec("p", "float", Metric.number(rel=0.01))
LABEL = FieldSpec(
    "province",
    "label_set",
    "set_equal",
    ("paktya", "sar_e_pul", "kabul"),
    {"paktia": "paktya", "sar-e pul": "sar_e_pul"},
)


def ev(start: int | None, end: int | None, status: str) -> Evidence:
    return Evidence(start, end, status)  # type: ignore[arg-type]


# --- exact: planted values at known offsets ---------------------------------------------

PLANTED = "Invoice INV-1001 from Acme Widgets GmbH, issued 2024-03-05; total 470.52 EUR."
#          0         1         2         3         4         5         6         7
#          0123456789012345678901234567890123456789012345678901234567890123456789012345


@pytest.mark.parametrize(
    ("value", "spec", "expected"),
    [
        ("INV-1001", None, ev(8, 16, "exact")),
        ("Acme Widgets GmbH", None, ev(22, 39, "exact")),
        ("2024-03-05", DATE, ev(48, 58, "exact")),
        (470.52, PRICE, ev(66, 72, "exact")),
        ("EUR", None, ev(73, 76, "exact")),
    ],
)
def test_planted_values_are_found_exactly_at_their_offsets(
    value: object, spec: FieldSpec | None, expected: Evidence
) -> None:
    assert align_value(PLANTED, value, spec) == expected


def test_exact_matches_never_cut_a_word_or_a_number() -> None:
    text = "Paid 1,200 for AB-2 and Dec. 5, 2011 and 2011-01-S-125."
    #       0123456789012345678901234567890123456789012345678901234
    assert align_value(text, 200).status == "none"  # only inside "1,200"
    assert align_value(text, "B-2").status == "none"  # only inside "AB-2"
    assert align_value(text, 5).status == "none"  # the day of a date is no count
    assert align_value(text, 1).status == "none"  # "01" of a release number
    assert align_value(text, 1200) == ev(5, 10, "normalised")  # "1,200" for 1200
    assert align_value(text, 2011) == ev(32, 36, "exact")  # a year still counts


# --- normalised: case, spacing, punctuation, Unicode forms ------------------------------


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("Sold by ACME WIDGETS GMBH today", "Acme Widgets GmbH", ev(8, 25, "normalised")),
        ("Sold by Acme  Widgets\nGmbH today", "Acme Widgets GmbH", ev(8, 26, "normalised")),
        ("Ref. INV 1001 / paid", "inv-1001", ev(5, 13, "normalised")),
        ("Ref. INV/1001 / paid", "INV 1001", ev(5, 13, "normalised")),
        ("office in Zu\u0308rich, CH", "Zürich", ev(10, 17, "normalised")),
        ("office in ZURICH", "Zürich", ev(10, 16, "normalised")),
        ("qty \uff11\uff12 units", 12, ev(4, 6, "normalised")),
    ],
)
def test_normalised_matches(text: str, value: object, expected: Evidence) -> None:
    assert align_value(text, value) == expected


def test_a_paragraph_break_is_not_a_normalised_gap() -> None:
    text = "Our supplier is Acme.\n\n\n\nWidgets GmbH will call."
    assert align_value(text, "Acme Widgets GmbH").status != "normalised"


# --- numbers in digits and words ---------------------------------------------------------

WORDS = "We saw two dogs, twenty-one cats, a dozen eggs and three hundred and five ants."
#        0         1         2         3         4         5         6         7
#        0123456789012345678901234567890123456789012345678901234567890123456789012345678


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2, ev(7, 10, "normalised")),
        (21, ev(17, 27, "normalised")),
        (12, ev(34, 41, "normalised")),
        (305, ev(51, 73, "normalised")),
        (2.0, ev(7, 10, "normalised")),
        (7, ev(None, None, "none")),
        (100, ev(None, None, "none")),  # "hundred" is part of 305 here, not a number alone
    ],
)
def test_numbers_written_in_words(value: float, expected: Evidence) -> None:
    assert align_value(WORDS, value) == expected


def test_grouped_and_european_numbers_and_no_one() -> None:
    text = "Net 1,200.50 or 1.200,50; 12 500 units; no one was hurt."
    #       012345678901234567890123456789012345678901234567890123456
    assert align_value(text, 1200.5) == ev(4, 12, "normalised")
    assert align_value(text, 12500) == ev(26, 32, "normalised")
    assert align_value(text, 1).status == "none"  # "no one" is nobody


def test_a_number_within_the_fields_tolerance_is_fuzzy() -> None:
    assert align_value("unit price 8.31 each", 8.3, PRICE) == ev(11, 15, "fuzzy")
    assert align_value("unit price 8.31 each", 8.0, PRICE).status == "none"
    assert align_value("unit price 8.31 each", 8.3).status == "none"  # no tolerance


# --- dates in common written forms ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Issued Jan. 25, 2013 in Kabul.", ev(7, 20, "normalised")),
        ("Issued 25 January 2013 in Kabul.", ev(7, 22, "normalised")),
        ("Issued on the 25th of January 2013.", ev(14, 34, "normalised")),
        ("Issued 25/01/2013.", ev(7, 17, "normalised")),
        ("Issued 01/25/2013.", ev(7, 17, "normalised")),
        ("Issued 2013/01/25.", ev(7, 17, "normalised")),
        ("(Jan. 26, 2013) The raid took place on January 25.", ev(39, 49, "normalised")),
        ("The raid took place on January 25.", ev(23, 33, "fuzzy")),  # no year named
        ("(Jan. 26, 2012) The raid took place on January 25.", ev(None, None, "none")),
        ("Issued January 2013, paid Jan. 26, 2013.", ev(None, None, "none")),
    ],
)
def test_dates_in_written_forms(text: str, expected: Evidence) -> None:
    assert align_value(text, "2013-01-25", DATE) == expected


# --- labels through the task's aliases ----------------------------------------------------


def test_labels_are_found_through_aliases_and_separators() -> None:
    task = load_task("isaf")
    text = "Forces detained two men in Paktia province and one in Sar-e Pul."
    #       0         1         2         3         4         5         6
    #       0123456789012345678901234567890123456789012345678901234567890123
    evidence = align_row(task, text, {"province": ["paktya", "sar_e_pul", "kabul"]})
    assert evidence == {
        "province[0]": ev(27, 33, "normalised"),  # the alias "paktia", another case
        "province[1]": ev(54, 63, "normalised"),
        "province[2]": ev(None, None, "none"),
    }


# --- fuzzy near-misses --------------------------------------------------------------------


def test_fuzzy_near_misses_and_misses() -> None:
    text = "Line 1: steel bolts, 10mm, galvanised, 100 pieces."
    #       0123456789012345678901234567890123456789012345678
    # 4 of 5 tokens (steel bolts 10 mm) in order: coverage 0.8 >= 0.75
    assert align_value(text, "steel bolts 10 mm zinc") == ev(8, 25, "fuzzy")
    # a plural is the same word for the fuzzy tier
    assert align_value("from Acme Widget GmbH", "Acme Widgets GmbH") == ev(5, 21, "fuzzy")
    # a spelling variant of a long word
    assert align_value("in Paktiya province", "paktya") == ev(3, 10, "fuzzy")
    # 2 of 4 tokens: coverage 0.5 < 0.75
    assert align_value(text, "copper bolts 12 mm").status == "none"
    # the words are there but spread over 16 tokens: density 3/16 < 1/3
    spread = "steel is cheap, and many bolts are sold in bulk by the crate, hex or 10 mm"
    assert align_value(spread, "steel bolts hex").status == "none"


def test_values_absent_from_the_text_are_none() -> None:
    for value in ("Globex Corporation", 99, "1999-12-31", 3.14):
        assert align_value(PLANTED, value, DATE if value == "1999-12-31" else None) == ev(
            None, None, "none"
        )


# --- whole answers: paths, groundings, repeated mentions ----------------------------------

INVOICE_TEXT = (
    "Invoice INV-7 from Acme Widgets GmbH.\n"
    "A-1 steel bolts: 4 x 0.25\n"
    "B-2 hex nuts: 4 x 0.10\n"
    "Total 1.40 EUR. Acme ships in 4 days."
)
#   line 1: offsets 0-37 ("Invoice INV-7 from Acme Widgets GmbH." + "\n" at 37)
#   line 2 starts at 38: "A-1" 38-41, " steel bolts: " 41-55, "4" 55-56, " x " 56-59,
#                        "0.25" 59-63, "\n" at 63
#   line 3 starts at 64: "B-2" 64-67, " hex nuts: " 67-78, "4" 78-79, " x " 79-82,
#                        "0.10" 82-86, "\n" at 86
#   line 4 starts at 87: "Total " 87-93, "1.40" 93-97, " EUR. " 97-103, "Acme" 103-107,
#                        " ships in " 107-117, "4" 117-118


def test_repeated_mentions_inside_a_record_take_the_one_nearest_its_other_values() -> None:
    answer = {
        "number": "INV-7",
        "vendor": {"name": "Acme Widgets GmbH", "country": "de"},
        "line_items": [
            {"sku": "B-2", "description": "hex nuts", "quantity": 4, "unit_price": 0.1},
            {"sku": "A-1", "description": "steel bolts", "quantity": 4, "unit_price": 0.25},
        ],
    }
    evidence = align_row(INVOICE, INVOICE_TEXT, answer)
    assert evidence["line_items[0].quantity"] == ev(78, 79, "exact")  # the B-2 line
    assert evidence["line_items[1].quantity"] == ev(55, 56, "exact")  # the A-1 line
    assert evidence["line_items[0].unit_price"] == ev(82, 86, "normalised")
    assert evidence["line_items[1].sku"] == ev(38, 41, "exact")
    assert evidence["line_items[1].unit_price"] == ev(59, 63, "exact")
    assert evidence["number"] == ev(8, 13, "exact")
    assert evidence["vendor.name"] == ev(19, 36, "exact")


def test_a_repeated_value_outside_a_record_takes_the_first_occurrence() -> None:
    task = load_task("isaf")
    text = "Kabul: an operation near Kabul. Kabul province was calm."
    assert align_row(task, text, {"province": ["kabul"]}) == {"province[0]": ev(0, 5, "normalised")}


def test_what_is_not_aligned() -> None:
    task = load_task("isaf")
    answer = {
        "name": "Insurgents detained in Kabul",  # ignored field: grounding none
        "province": ["kabul", "", "unknown"],  # blanks are not values
        "event_type": ["detention"],  # declared none
        "killq": True,  # bool: none
        "target_group": None,
        "min_killed": "two",  # a string where an int belongs is looked for as text
    }
    evidence = align_row(task, "Two insurgents were detained in Kabul.", answer)
    assert evidence == {
        "province[0]": ev(32, 37, "normalised"),
        "min_killed": ev(0, 3, "normalised"),
    }
    assert align_row(task, "text", None) == {} and align_row(task, "text", "garbage") == {}  # type: ignore[arg-type]


def test_field_path_is_the_scored_leaf() -> None:
    assert field_path("line_items[2].sku") == "line_items[].sku"
    assert field_path("province[0]") == "province"
    assert field_path("vendor.name") == "vendor.name"
    assert field_path("a[1].b[3].c[0]") == "a[].b[].c"


def test_a_document_is_reused_across_values() -> None:
    doc = Document(PLANTED)
    assert align_value(doc, "EUR") == align_value(PLANTED, "EUR")
    assert align_row(INVOICE, doc, {"number": "INV-1001"}) == {"number": ev(8, 16, "exact")}
