"""Write the packaged ISAF-style sample (``src/fieldwise/tasks/samples/isaf_sample.jsonl``).

Every release is invented: names, villages, sentences and incidents are made up for
fieldwise (districts and provinces are real geography so that locations are plausible).
Nothing is copied from the published dataset. Labels are built together with the text, so
they agree with it by construction, under the annotation rules of ``ISAF_TASK.md``:

- vague quantities map to minimums ("several" = 3, "a handful" = 4, bare plural = 2, ...);
- ``start_date`` is resolved against the release's header date ("yesterday", weekdays);
- commanders, shadow governors and named leaders are leaders; facilitators are not;
- ``killcaptureraid`` is true for targeted operations (in search of / targeting someone),
  false for patrols, air weapons team engagements, checkpoints and civilian-casualty notes;
- an air weapons team (helicopter gunfire) is not an air strike; a precision strike is;
- several incidents in one release: counts are summed, sets are unions.

Run ``python scripts/make_isaf_sample.py`` from the repository root; the output is
byte-identical for a given seed. ``--check`` regenerates in memory and fails if the packaged
file differs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from isaf_sample_handwritten import HANDWRITTEN  # noqa: E402
from isaf_sample_incidents import (  # noqa: E402
    BUILDERS,
    MONTH_ABBR,
    Incident,
    Writer,
    decap,
    detention_incident,
    fmt_header,
)
from isaf_sample_vocab import REGIONS  # noqa: E402

SEED = 20110303
OUT = Path("src/fieldwise/tasks/samples/isaf_sample.jsonl")
N_GENERATED = 222
DUPLICATES = 4

_ABBREVIATIONS = ("Jan.", "Feb.", "Aug.", "Sept.", "Oct.", "Nov.", "Dec.", "mm.")


def sentences(text: str) -> list[str]:
    """Split on sentence ends, not on the period of an abbreviated month."""
    for abbr in _ABBREVIATIONS:
        text = text.replace(abbr + " ", abbr[:-1] + "\x00 ")
    parts = re.split(r"(?<=[.])\s+(?=[A-Z])", text.strip())
    return [p.replace("\x00", ".") for p in parts if p]


def paragraphs(w: Writer, text: str) -> list[str]:
    """Split an incident's sentences into one or two paragraphs."""
    sents = sentences(text)
    if len(sents) <= 2 or w.chance(0.3):
        return [" ".join(sents)]
    cut = w.rng.randrange(1, len(sents))
    return [" ".join(sents[:cut]), " ".join(sents[cut:])]


def release_number(w: Writer, release: dt.date) -> str:
    office = "CA" if release.year <= 2010 else "S"
    return f"{release.year}-{release.month:02d}-{office}-{w.rng.randrange(1, 320):03d}"


def header_style(w: Writer, release: dt.date, multi: bool) -> str:
    if w.chance(0.07) and not multi:
        return "nodate"
    if multi:
        return w.pick(
            ["update", "update", "ijc", "stacked"]
            if release.year <= 2011
            else ["stacked", "update"]
        )
    table = {
        2009: ["news2009", "news2009", "oneline"],
        2010: ["oneline", "oneline", "ijc"],
        2011: ["stacked", "oneline", "update", "stacked"],
        2012: ["minimal", "stacked", "minimal"],
        2013: ["minimal", "stacked"],
    }
    return w.pick(table[release.year])


def compose(w: Writer, release: dt.date, style: str, headline: str, paras: list[str]) -> str:
    """Wrap body paragraphs in one of the header layouts ISAF used over the years."""
    num = release_number(w, release)
    rng = w.rng
    if style == "oneline":
        date = fmt_header(release, rng, with_year=w.chance(0.5))
        dash = w.pick(["—", "–", "-"])
        body = "   ".join(paras)
        pdf = w.pick([" Download PDF", ""])
        return (
            f"{headline}\nISAF Joint Command - Afghanistan {num} For Immediate Release{pdf}"
            f"   KABUL, Afghanistan ({date}) {dash} {body}"
        )
    if style == "news2009":
        short = f"{MONTH_ABBR[release.month - 1]} {release.day}"
        return (
            f"{short}: {headline}\n\nNEWS RELEASE ISAF Joint Command - Afghanistan  {num} "
            f"For Immediate Release  KABUL, Afghanistan ({short}) - " + "  ".join(paras)
        )
    if style == "update":
        kind = w.pick(["Morning", "Morning", "Evening"])
        long = f"{release.strftime('%B')} {release.day}, {release.year}"
        return (
            f"ISAF Joint Command {kind} Operational Update {long}\nISAF Joint Command - "
            f"Afghanistan {num} For Immediate Release  KABUL, Afghanistan ({long})  "
            + "  ".join(paras)
        )
    if style == "ijc":
        return (
            f"IJC Operational Update, {release.strftime('%B')} {release.day}\n"
            f"ISAF Joint Command - Afghanistan  {num} For Immediate Release\n\n "
            + "\n\n".join(paras)
        )
    if style == "stacked":
        top = f"{headline}\n" if w.chance(0.35) else ""
        sep = w.pick(["\n\n", "\n", "\n \n"])
        return (
            f"{top}ISAF Joint Command - Afghanistan\n{num}\nFor Immediate Release\n\n"
            f"KABUL, Afghanistan ({fmt_header(release, rng)})\n" + sep.join(paras)
        )
    if style == "minimal":
        lead = f"KABUL, Afghanistan ({fmt_header(release, rng)})"
        joiner = w.pick([" – ", "\n"])
        return f"{num}\nFor Immediate Release\n\n{lead}{joiner}" + "\n".join(paras)
    # "nodate": the header carries no date; the body names the day outright.
    return f"{headline}\nISAF Joint Command - Afghanistan\n{num}\nFor Immediate Release\n\n" + (
        "\n\n".join(paras)
    )


def merge(incidents: list[Incident]) -> Incident:
    """Labels of a release with several incidents: sums and unions."""

    def union(lists: list[list[str]]) -> list[str]:
        out: list[str] = []
        for item in (x for lst in lists for x in lst):
            if item not in out:
                out.append(item)
        named = [x for x in out if x]
        return named if named or not out else [""]

    return Incident(
        text="",
        headline="",
        event=union([i.event for i in incidents]),
        provinces=union([i.provinces for i in incidents]),
        groups=union([i.groups for i in incidents]),
        killed=sum(i.killed for i in incidents),
        captured=sum(i.captured for i in incidents),
        leaders_killed=sum(i.leaders_killed for i in incidents),
        leaders_captured=sum(i.leaders_captured for i in incidents),
        kcr=any(i.kcr for i in incidents),
        air=any(i.air for i in incidents),
        nsf=any(i.nsf for i in incidents),
    )


def make_release(w: Writer) -> dict:
    release = w.release_date()
    multi = w.chance(0.11)
    style = header_style(w, release, multi)
    when, day = w.when(release, style != "nodate")
    builders, weights = zip(*BUILDERS, strict=True)
    if not multi:
        inc = w.rng.choices(builders, weights)[0](w, w.province(), when)
        text = compose(w, release, style, inc.headline, paragraphs(w, inc.text))
        return row(text, inc.headline, day, inc)
    incidents: list[Incident] = []
    paras: list[str] = []
    used: set[str] = set()
    mixed = w.chance(0.35)  # a "no shots fired" line never sits beside a deadly incident
    for k in range(w.rng.choice([2, 2, 3])):
        prov = w.province()
        if k and mixed:
            inc = w.rng.choices(builders[2:], weights[2:])[0](w, prov, when)
        else:
            inc = detention_incident(w, prov, when, nsf_ok=not mixed)
        region = next(r for r, provs in REGIONS.items() if prov in provs)
        intro = w.pick([f"In {region} Afghanistan, ", ""])
        if intro in used or (k and not intro):
            intro = w.pick(["In a separate operation, ", "Elsewhere, ", "Also, "])
        used.add(intro)
        first, *rest = paragraphs(w, inc.text)
        paras += [intro + decap(first) if intro else first, *rest]
        incidents.append(inc)
    merged = merge(incidents)
    provs = " and ".join(dict.fromkeys(w.pname(p) for p in merged.provinces))
    headline = w.pick(
        [
            f"Afghan, coalition forces conduct operations in {provs}",
            f"Security operations in {provs}",
            f"Insurgents detained in {provs}",
        ]
    )
    text = compose(w, release, style, headline, paras)
    return row(text, headline, day, merged)


def row(text: str, name: str, day: dt.date, inc: Incident) -> dict:
    return {
        "text": text,
        "name": name,
        "start_date": day.isoformat(),
        "event_type": inc.event,
        "province": inc.provinces,
        "target_group": inc.groups,
        "min_killed": inc.killed,
        "min_captured": inc.captured,
        "killq": inc.killed > 0,
        "captureq": inc.captured > 0,
        "killcaptureraid": inc.kcr,
        "airstrike": inc.air,
        "noshotsfired": inc.nsf,
        "min_leaders_killed": inc.leaders_killed,
        "min_leaders_captured": inc.leaders_captured,
    }


def build(seed: int = SEED) -> list[dict]:
    """All rows, ids assigned, duplicates of a few texts included (same text, new id)."""
    w = Writer(random.Random(seed))
    rows = [make_release(w) for _ in range(N_GENERATED)]
    rows += [dict(r) for r in HANDWRITTEN]
    w.rng.shuffle(rows)
    for original in w.rng.sample(rows, DUPLICATES):
        rows.insert(w.rng.randrange(len(rows)), dict(original))
    return [{"id": f"sample-{i:04d}", **r} for i, r in enumerate(rows, 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="fail if --out is out of date")
    args = parser.parse_args()
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in build())
    if args.check:
        same = args.out.is_file() and args.out.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{args.out} differs from the generator output")
        raise SystemExit(0 if same else 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10))} rows to {args.out}")


if __name__ == "__main__":
    main()
