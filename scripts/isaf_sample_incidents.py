"""Incident builders for ``make_isaf_sample.py``: one function per kind of incident.

Each builder writes the paragraph(s) for one incident and returns the labels that text
supports, so text and labels cannot drift apart. Conventions are listed in the docstring of
``make_isaf_sample.py``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from isaf_sample_vocab import (
    ACTIVITIES,
    CACHES,
    DISTRICTS,
    FIRST_NAMES,
    FORCES,
    GROUP_BY_PROVINCE,
    LAST_NAMES,
    OP_DETAILS,
    PROVINCE_NAMES,
    PROVINCE_WEIGHTS,
    ROLES,
    TITLES,
    VILLAGES,
)

WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]
VAGUE = [  # (phrase, minimum) from the annotation rules
    ("several", 3),
    ("a few", 3),
    ("multiple", 3),
    ("a couple of", 2),
    ("numerous", 4),
    ("a handful of", 4),
    ("a small group of", 3),
    ("a group of", 3),
    ("a large number of", 5),
]
MONTH_ABBR = [
    "Jan.",
    "Feb.",
    "March",
    "April",
    "May",
    "June",
    "July",
    "Aug.",
    "Sept.",
    "Oct.",
    "Nov.",
    "Dec.",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
NO_SHOTS = [
    "No shots were fired during the operation.",
    "The security force did not fire their weapons during the operation.",
    "The assault force conducted the search without firing their weapons.",
    "The operation was completed with no shots fired.",
    "No shots were fired and no one was injured.",
    "Afghan and coalition forces did not fire their weapons, and they protected the women "
    "and children for the duration of the search.",
]
WOMEN_CHILDREN = [
    "The security force protected the women and children for the duration of the search.",
    "Women and children at the compound were kept safe throughout the operation.",
    "Afghan forces used a loudspeaker to call for the occupants to come out peacefully "
    "before the compound was searched.",
    "No civilians were harmed in the operation.",
]

T = TypeVar("T")


@dataclass
class Incident:
    """One incident: its paragraph(s) and the labels that paragraph supports."""

    text: str
    headline: str
    event: list[str]
    provinces: list[str]
    groups: list[str]
    killed: int = 0
    captured: int = 0
    leaders_killed: int = 0
    leaders_captured: int = 0
    kcr: bool = False
    air: bool = False
    nsf: bool = False
    extra: list[str] = field(default_factory=list)


class Writer:
    """Slot fillers that draw from one seeded RNG, so the whole sample is reproducible."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def pick(self, items: Sequence[T]) -> T:
        return items[self.rng.randrange(len(items))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # -- people and places -------------------------------------------------------------
    def person(self) -> str:
        title = self.pick(TITLES) if self.chance(0.6) else ""
        name = f"{self.pick(FIRST_NAMES)} {self.pick(LAST_NAMES)}"
        return f"{title} {name}".strip()

    def province(self) -> str:
        provs, weights = zip(*PROVINCE_WEIGHTS.items(), strict=True)
        return self.rng.choices(provs, weights)[0]

    def pname(self, prov: str) -> str:
        return self.pick(PROVINCE_NAMES.get(prov, [prov.replace("_", " ").title()]))

    def location(self, prov: str) -> str:
        district = self.pick(DISTRICTS[prov])
        pn = self.pname(prov)
        style = self.rng.random()
        if style < 0.45:
            return f"{district} district, {pn} province"
        if style < 0.6:
            return f"the {district} district of {pn} province"
        if style < 0.72:
            return f"{pn} province's {district} district"
        if style < 0.84:
            return f"{pn} province"
        return f"the village of {self.pick(VILLAGES)} in {district} district, {pn} province"

    def group(self, prov: str) -> str:
        groups, weights = zip(*GROUP_BY_PROVINCE(prov).items(), strict=True)
        return self.rng.choices(groups, weights)[0]

    # -- numbers -------------------------------------------------------------------------
    def count(self, n: int, noun: str, *, vague_ok: bool = True) -> tuple[str, int]:
        """A noun phrase for ``n`` people, in digits, words or a vague quantity."""
        r = self.rng.random()
        if n == 1:
            article = "an" if noun[0] in "aeiou" else "a"
            word = self.pick([article, "one", article])
            return f"{word} {noun}", 1
        plural = noun + "s"
        if vague_ok and r < 0.22:
            if r < 0.05:
                return f"suspected {plural}" if "suspected" not in noun else plural, 2
            phrase, value = self.pick(VAGUE)
            return f"{phrase} {plural}", value
        if r < 0.6 and n < len(WORDS):
            return f"{WORDS[n]} {plural}", n
        return f"{n} {plural}", n

    # -- dates ---------------------------------------------------------------------------
    def release_date(self) -> dt.date:
        year = self.rng.choices([2009, 2010, 2011, 2012, 2013], [3, 26, 44, 23, 4])[0]
        start = dt.date(year, 9, 1) if year == 2009 else dt.date(year, 1, 1)
        end = dt.date(year, 6, 30) if year == 2013 else dt.date(year, 12, 31)
        return start + dt.timedelta(days=self.rng.randrange((end - start).days + 1))

    def when(self, release: dt.date, header_has_date: bool) -> tuple[str, dt.date]:
        """A time phrase and the incident date it resolves to against the release date."""
        if not header_has_date:
            offset = self.rng.randrange(0, 4)
            day = release - dt.timedelta(days=offset)
            return f"on {fmt_long(day)}", day
        r = self.rng.random()
        if r < 0.1:
            return "today", release
        if r < 0.45:
            return "yesterday", release - dt.timedelta(days=1)
        if r < 0.55:
            return self.pick(["last night", "late last night"]), release - dt.timedelta(days=1)
        if r < 0.88:
            offset = self.rng.randrange(1, 7)
            day = release - dt.timedelta(days=offset)
            name = WEEKDAYS[day.weekday()]
            if offset >= 2 and self.chance(0.3):
                return f"last {name}", day
            return self.pick([name, f"on {name}", f"early {name} morning", f"{name} night"]), day
        offset = self.rng.randrange(1, 5)
        day = release - dt.timedelta(days=offset)
        return f"on {MONTH_ABBR[day.month - 1]} {day.day}", day


def fmt_long(day: dt.date) -> str:
    return f"{day.strftime('%B')} {day.day}, {day.year}"


def fmt_header(day: dt.date, rng: random.Random, with_year: bool = True) -> str:
    month = MONTH_ABBR[day.month - 1] if rng.random() < 0.6 else day.strftime("%B")
    return f"{month} {day.day}, {day.year}" if with_year else f"{month} {day.day}"


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def glabels(key: str) -> list[str]:
    """Group key from the vocabulary ("" or "aq+taliban") to target_group labels."""
    return key.split("+") if key else [""]


def target_phrase(w: Writer, prov: str) -> tuple[str, str, bool]:
    """A targeted person: (phrase, group label, is_leader)."""
    group = w.group(prov)
    leader = w.chance(0.62)
    role = w.pick(ROLES[group]["leader" if leader else "facilitator"])
    role = role.format(district=w.pick(DISTRICTS[prov]), prov=w.pname(prov))
    return role, group, leader


def detention_incident(
    w: Writer, prov: str, when: str, *, targeted: bool = True, nsf_ok: bool = True
) -> Incident:
    loc = w.location(prov)
    force = w.pick(FORCES)
    if not targeted:
        return patrol_detention(w, prov, when, loc, force)
    role, group, leader = target_phrase(w, prov)
    article = "an" if role[0].lower() in "aeiou" else "a"
    outcome = w.rng.random()
    n_others = w.rng.choices([1, 2, 3, 4, 5, 6, 8], [18, 30, 22, 14, 8, 5, 3])[0]
    captured, lc = 0, 0
    if outcome < 0.38:  # the target got away; others detained
        phrase, captured = w.count(n_others, "suspected insurgent")
        lead = w.pick(
            [
                f"{force} detained {phrase} during a security operation in search of {article} "
                f"{role} in {loc} {when}.",
                f"{force} searching for {article} {role} detained {phrase} in {loc} {when}.",
                f"{cap(when)}, {decap(force)} detained {phrase} in {loc} during an "
                f"operation targeting {article} {role}.",
                f"{cap(phrase)} {'was' if captured == 1 else 'were'} detained in {loc} {when} when "
                f"{decap(force)} went after {article} {role}.",
            ]
        )
        headline_n = f"{captured} detained" if w.chance(0.5) else "Suspected insurgents detained"
    elif outcome < 0.62:  # the target alone
        name = w.person()
        captured, lc = 1, int(leader)
        lead = w.pick(
            [
                f"{force} captured {article} {role} in {loc} {when}.",
                f"{force} detained {name}, {article} {role}, in {loc} {when}.",
                f"{cap(article)} {role} was arrested by {decap(force)} in {loc} {when}.",
            ]
        )
        headline_n = f"{role.split(' for ')[0].title()} detained"
    elif outcome < 0.85:  # the target and others
        phrase, others = w.count(n_others, "suspected insurgent")
        captured, lc = 1 + others, int(leader)
        lead = w.pick(
            [
                f"{force} detained {article} {role} and {phrase} in {loc} {when}.",
                f"{force} arrested {article} {role}, along with {phrase}, in {loc} {when}.",
                f"{cap(when)}, {decap(force)} detained {article} {role} and "
                f"{phrase} during an operation in {loc}.",
            ]
        )
        headline_n = f"{role.split(' for ')[0].title()} among those detained"
    else:  # n detained including the target
        total = max(2, n_others)
        phrase = str(total) if w.chance(0.4) else WORDS[total] if total < 13 else str(total)
        captured, lc = total, int(leader)
        lead = w.pick(
            [
                f"{force} detained {phrase} suspected insurgents, including the targeted {role}, "
                f"in {loc} {when}.",
                f"{force} targeting {article} {role} in {loc} detained {phrase} people {when}, "
                f"among them the {role.split(' for ')[0]}.",
            ]
        )
        headline_n = f"{captured} detained, including {role.split(' for ')[0]}"
    short = role.split(" for ")[0].split(" with ")[0].split(" who ")[0]
    subject = w.pick([f"The {short.split(' ')[-1]}", f"The {short}", "He"])
    body = [lead, f"{subject} {w.pick(ACTIVITIES)}."]
    body += details(w, prov)
    nsf = nsf_ok and w.chance(0.22)
    extra = w.pick(WOMEN_CHILDREN) if w.chance(0.4) else ""
    if nsf:
        body.append(w.pick(NO_SHOTS))
    elif extra:
        body.append(extra)
    return Incident(
        text=" ".join(body),
        headline=f"{headline_n} in {w.pname(prov)}",
        event=["detention"],
        provinces=[prov],
        groups=glabels(group),
        captured=captured,
        leaders_captured=lc,
        kcr=True,
        nsf=nsf,
    )


def details(w: Writer, prov: str) -> list[str]:
    out = []
    for template in w.rng.sample(OP_DETAILS, w.rng.choice([0, 1, 1, 2, 2])):
        out.append(template.format(village=w.pick(VILLAGES), district=w.pick(DISTRICTS[prov])))
    if w.chance(0.35):
        out.append(f"The security force also found {w.pick(CACHES)} at the site.")
    return out


def patrol_detention(w: Writer, prov: str, when: str, loc: str, force: str) -> Incident:
    n = w.rng.choices([1, 2, 3, 4], [30, 40, 20, 10])[0]
    phrase, captured = w.count(n, "man", vague_ok=False)
    phrase = phrase.replace("mans", "men")
    cache = w.pick(CACHES)
    lead = w.pick(
        [
            f"An Afghan Border Police patrol, partnered with coalition forces, stopped a vehicle "
            f"at a checkpoint in {loc} {when} and detained {phrase} after finding {cache} inside.",
            f"A combined patrol searching a bazaar in {loc} {when} detained {phrase} who were "
            f"carrying {cache}.",
            f"Afghan Uniformed Police and coalition soldiers on a routine patrol in {loc} detained "
            f"{phrase} {when} after local residents pointed out a hidden cache of {cache}.",
        ]
    )
    nsf = w.chance(0.45)
    body = [lead]
    if nsf:
        body.append(w.pick(NO_SHOTS[:2] + NO_SHOTS[3:5]))
    body.append(
        w.pick(
            [
                "The detainees were handed over to the Afghan National Police for questioning.",
                "The materials were destroyed on site.",
                "Afghan authorities are questioning the men.",
            ]
        )
    )
    return Incident(
        text=" ".join(body),
        headline=f"Patrol detains {captured} in {w.pname(prov)}",
        event=["detention"],
        provinces=[prov],
        groups=[""],
        captured=captured,
        nsf=nsf,
    )


def raid_with_kills(w: Writer, prov: str, when: str) -> Incident:
    loc = w.location(prov)
    force = w.pick(FORCES)
    role, group, leader = target_phrase(w, prov)
    article = "an" if role[0].lower() in "aeiou" else "a"
    killed_n = w.rng.choices([1, 2, 3, 4, 5, 6], [30, 30, 18, 10, 7, 5])[0]
    kphrase, killed = w.count(killed_n, "insurgent", vague_ok=w.chance(0.4))
    lk = 0
    if w.chance(0.3):  # the target himself was killed
        name = w.person()
        lead = w.pick(
            [
                f"{force} killed {name}, {article} {role}, and {kphrase} during an operation in "
                f"{loc} {when}.",
                f"{cap(article)} {role} and {kphrase} were killed when {decap(force)}"
                f" raided a compound in {loc} {when}.",
            ]
        )
        killed += 1
        lk = int(leader)
        follow = "The force came under fire as it approached the compound and returned fire."
    else:
        lead = w.pick(
            [
                f"{force} killed {kphrase} during an operation targeting {article} {role} in {loc} "
                f"{when}.",
                f"During a security operation in search of {article} {role} in {loc} {when}, "
                f"{decap(force)} killed {kphrase}.",
            ]
        )
        they = "The insurgent was" if killed == 1 else "The insurgents were"
        follow = w.pick(
            [
                f"{they} killed after opening fire on the security force from a nearby tree line.",
                "As the force approached the compound, it was engaged from a rooftop and returned "
                "fire.",
                f"{they} killed when {'he' if killed == 1 else 'they'} threatened the force with "
                "automatic weapons.",
            ]
        )
    captured = 0
    body = [lead, follow]
    if w.chance(0.5):
        n = w.rng.choices([1, 2, 3, 4], [35, 35, 20, 10])[0]
        cphrase, captured = w.count(n, "suspected insurgent")
        verb = "was" if captured == 1 else "were"
        body.append(
            w.pick(
                [
                    f"After initial questioning at the scene, {cphrase} {verb} detained.",
                    f"The security force also detained {cphrase}.",
                    f"{cap(cphrase)} {verb} taken into custody for further questioning.",
                ]
            )
        )
    if w.chance(0.3):
        body.append(f"The force recovered {w.pick(CACHES)}.")
    if w.chance(0.25):
        body.append(
            w.pick(
                [
                    "One insurgent was wounded and treated at the scene.",
                    "No Afghan or coalition forces were injured.",
                ]
            )
        )
    event = ["captureandkill"] if captured else ["insurgentskilled"]
    return Incident(
        text=" ".join(body),
        headline=f"Insurgents killed in {w.pname(prov)} operation",
        event=event,
        provinces=[prov],
        groups=glabels(group),
        killed=killed,
        captured=captured,
        leaders_killed=lk,
        kcr=True,
    )


def patrol_engagement(w: Writer, prov: str, when: str) -> Incident:
    loc = w.location(prov)
    n = w.rng.choices([1, 2, 3, 4, 5], [30, 30, 20, 12, 8])[0]
    group = "taliban" if w.chance(0.3) else ""
    enemy = "Taliban fighters" if group else "insurgents"
    awt = w.chance(0.35)
    kphrase, killed = w.count(n, "insurgent", vague_ok=False)
    if awt:
        text = w.pick(
            [
                f"In {loc}, an ISAF air weapons team observed {enemy} planting a roadside bomb "
                f"{when}. After confirming they were armed, the team engaged, killing {kphrase}.",
                f"An ISAF patrol in {loc} spotted {enemy} moving weapons toward a firing position "
                f"{when} and called for air support. An air weapons team engaged the position, "
                f"killing {kphrase}.",
            ]
        )
    else:
        text = w.pick(
            [
                f"A coalition patrol came under small-arms fire from {enemy} in {loc} {when}. The "
                f"patrol returned fire, killing {kphrase}.",
                f"{cap(enemy)} attacked an Afghan National Army checkpoint in {loc} {when}. "
                f"Afghan soldiers, supported by coalition mentors, repelled the attack and killed "
                f"{kphrase}.",
                f"An Afghan and coalition foot patrol was ambushed with rocket-propelled grenades "
                f"in {loc} {when}. The patrol fought back, killing {kphrase}.",
            ]
        )
    text += " " + w.pick(
        [
            "No Afghan or coalition forces were injured.",
            "One coalition service member suffered minor wounds.",
            "The remaining insurgents fled the area.",
            "",
        ]
    )
    return Incident(
        text=text.strip(),
        headline=f"{cap(WORDS[killed])} insurgent{'s' if killed > 1 else ''} killed in "
        f"{w.pname(prov)}",
        event=["insurgentskilled"],
        provinces=[prov],
        groups=glabels(group),
        killed=killed,
    )


def air_strike(w: Writer, prov: str, when: str) -> Incident:
    loc = w.location(prov)
    role, group, leader = target_phrase(w, prov)
    article = "an" if role[0].lower() in "aeiou" else "a"
    kcr = w.chance(0.3)
    if kcr:  # air support called in during a targeted ground operation
        force = w.pick(FORCES)
        opening = (
            f"{force} on an operation to capture {article} {role} in {loc} came under "
            f"heavy fire {when} and called in an air strike."
        )
        subject = "The strike"
    else:
        opening = ""
        subject = w.pick(
            [
                f"A precision air strike in {loc} {when}",
                f"An air strike on a compound in {loc} {when}",
            ]
        )
    short = role.split(" for ")[0]
    aim = "" if kcr else f", aimed at {article} {role},"
    r = w.rng.random()
    killed, lk = 0, 0
    if r < 0.45:
        n = w.rng.choice([0, 1, 2, 3])
        others = f", along with {w.count(n, 'insurgent', vague_ok=False)[0]}" if n else ""
        text = f"{subject} killed {w.person()}, {article} {role}{others}."
        killed, lk = 1 + n, int(leader)
    elif r < 0.8:
        kphrase, killed = w.count(w.rng.choice([2, 3, 4, 5, 6]), "insurgent")
        text = (
            f"{subject}{aim} killed {kphrase}. The {short} was not among the dead, "
            f"according to an initial assessment."
        )
    else:
        text = (
            f"{subject}{aim} hit an open area away from homes. An assessment of its "
            f"results is under way."
        )
    body = [
        opening,
        text,
        w.pick(["No civilians were harmed.", "", "", "Follow-on forces secured the site."]),
    ]
    return Incident(
        text=" ".join(b for b in body if b),
        headline=f"Air strike in {w.pname(prov)}",
        event=["airstrike"],
        provinces=[prov],
        groups=glabels(group),
        killed=killed,
        leaders_killed=lk,
        kcr=kcr,
        air=True,
    )


def civilian_casualty(w: Writer, prov: str, when: str) -> Incident:
    loc = w.location(prov)
    k = w.rng.choice([0, 1, 1, 2, 2, 3])
    injured = w.rng.choice([1, 2, 3])
    air = w.chance(0.3)
    cause = (
        "an air strike aimed at insurgents hit a nearby home"
        if air
        else w.pick(
            [
                "rounds fired at insurgents struck a nearby compound",
                "a coalition vehicle failed to stop at an intersection",
                "coalition troops fired on a car that did not stop at a checkpoint",
            ]
        )
    )

    def people(n: int) -> str:
        return f"{WORDS[n]} civilian{'s were' if n > 1 else ' was'}"

    harm = f"{people(k)} killed and {WORDS[injured]} injured" if k else f"{people(injured)} injured"
    text = (
        f"A joint Afghan and ISAF assessment team has confirmed that {harm} when {cause} in "
        f"{loc} {when}. "
        + w.pick(
            [
                "ISAF extends its condolences to the families and takes full responsibility.",
                "The injured were taken to a coalition medical facility for treatment.",
                "The incident is under review.",
            ]
        )
    )
    return Incident(
        text=text,
        headline=f"Civilian casualty assessment in {w.pname(prov)}",
        event=["airstrike", "civiliancasualty"] if air else ["civiliancasualty"],
        provinces=[prov],
        groups=[""],
        killed=k,
        air=air,
    )


def exchange_of_fire(w: Writer, prov: str, when: str) -> Incident:
    loc = w.location(prov)
    text = w.pick(
        [
            f"A coalition patrol exchanged fire with a small group of insurgents in {loc} {when}. "
            "The insurgents broke contact and fled; no casualties were reported.",
            f"Afghan and coalition forces traded fire with insurgents near a checkpoint in {loc} "
            f"{when}. No one was hurt and the insurgents withdrew.",
        ]
    )
    return Incident(
        text=text,
        headline=f"Firefight in {w.pname(prov)}",
        event=["exchangeoffire"],
        provinces=[prov],
        groups=[""],
    )


BUILDERS = [  # (builder, weight): detention-heavy like the published labels
    (lambda w, p, t: detention_incident(w, p, t), 64),
    (lambda w, p, t: detention_incident(w, p, t, targeted=False), 6),
    (raid_with_kills, 13),
    (patrol_engagement, 9),
    (air_strike, 5),
    (civilian_casualty, 3),
    (exchange_of_fire, 2),
]

_LOWER_OK = {
    "A",
    "An",
    "The",
    "One",
    "Two",
    "Three",
    "Four",
    "Five",
    "Six",
    "Several",
    "Multiple",
    "Numerous",
    "Yesterday",
    "Today",
    "Last",
    "Late",
    "On",
    "Early",
    "Coalition",
    "International",
    "Insurgents",
    "During",
    "Suspected",
}


def decap(sentence: str) -> str:
    """Lower-case a sentence's first word when it is not a proper noun."""
    first = sentence.split(" ", 1)[0]
    return sentence[:1].lower() + sentence[1:] if first.strip(",") in _LOWER_OK else sentence
