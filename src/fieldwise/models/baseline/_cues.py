"""ISAF wording cues for the incident-level flags (kill-capture raid, no shots fired).

The releases describe a targeted raid in stock phrases: a "security force" conducts a
"security operation" "in search of" / "in pursuit of" / "targeting" a named leader or
facilitator, at a "compound", often "overnight", calling the "occupants" out. Other
incidents read differently: a "patrol" or an "outpost" "came under" fire, an "air weapons
team" engaged insurgents "emplacing" a bomb, a "cache" was found, a man "turned himself in".
Whether the release says no shots were fired is a stock sentence too.

Each cue is reported twice: in the release's lead sentence (the first sentence after the
header and dateline, which names the incident the labels describe) and as a capped count
over the whole text (later paragraphs add detail, or other incidents).
"""

from __future__ import annotations

import re

from fieldwise.models.baseline._text import sentences

# Boilerplate before the story: release number, "For Immediate Release", "Download PDF",
# and the dateline "KABUL, Afghanistan (Oct. 9, 2012) –".
_HEADER = re.compile(
    r"(?i)for immediate release|download pdf|afghanistan\s*\([^)]{3,25}\)\s*[-\u2013\u2014:]*"
)
_HEADER_SPAN = 600  # the header never runs longer; later matches are story text

CUES = {
    "security_force": r"\bsecurity (?:force|team)s?\b",
    "security_op": r"\bsecurity operations?\b",
    "patrol": r"\bpatrol",
    "clearing": r"\bclear(?:ing|ance) operations?\b",
    "outpost": r"\boutpost\b|\bobservation post\b|\bbase\b",
    "aerial": r"\bair weapons team|\baerial\b|\baircraft\b|\bhelicopter",
    "air_strike": r"\bair ?strike|\bprecision strike",
    "pursuit": r"\bin search of\b|\bsearching for\b|\bin pursuit of\b|\bpursuing\b|\bsought\b",
    "targeted": r"\btarget(?:ed|ing)\b",
    "raid": r"\braid\b",
    "night": r"\bnight\b|\bovernight\b|\bhours of darkness\b",
    "compound": r"\bcompound",
    "callout": r"\boccupants\b|\bcall-?outs?\b|\bloudspeaker\b",
    "surrender": r"\bturned (?:himself|themselves) in\b|\bsurrender",
    "cache": r"\bcache",
    "vehicle": r"\binterdiction\b|\bvehicle\b|\bmotorcycle",
    "emplacing": r"\bemplac",
    "attacked": r"\bcame under\b|\bengaged by\b|\battacked\b|\bopened fire on\b|\bfired upon\b|"
    r"\bsmall[- ]arms fire\b|\bambush",
    "confirmed": r"\bconfirmed (?:the )?(?:capture|arrest|death|detention)\b",
    "arrest": r"\barrest",
    "leader": r"\bleader|\bcommander|\bfacilitator",
    "afghan_unit": r"\bprovincial response company\b|\bcrisis response unit\b|\bcommandos?\b|"
    r"\bkandak\b|\bafghan (?:national )?(?:police|army)\b",
    "narcotics": r"\bnarcotic|\bdrugs?\b|\bopium\b|\bheroin\b|\bhashish\b",
    "civilian": r"\bcivilian",
}  # fmt: skip
# Matched against the lower-cased text: case-sensitive regexes run several times faster.
_CUES = {name: re.compile(pattern) for name, pattern in CUES.items()}

# The stock sentence itself: "No shots were fired", "without firing their weapons",
# "did not fire their weapons", "with no shots fired".
NO_SHOTS = re.compile(r"\bno shots\b|\bwithout (?:any )?(?:firing|shots)\b|\bdid not fire\b")


def lead_sentence(text: str) -> str:
    """The first sentence of the story, after the release's header and dateline."""
    end = 0
    for m in _HEADER.finditer(text[:_HEADER_SPAN]):
        end = m.end()
    first = sentences(text[end:])
    return first[0] if first else ""


def cue_features(text: str) -> dict[str, float]:
    """Lead-sentence and whole-text indicators of how the incident is described."""
    lead, low = lead_sentence(text).lower(), text.lower()
    feats = {"isaf:no_shots_stated": 1.0 if NO_SHOTS.search(low) else 0.0}
    for name, pattern in _CUES.items():
        feats[f"isaf:lead_{name}"] = 1.0 if pattern.search(lead) else 0.0
        feats[f"isaf:any_{name}"] = min(len(pattern.findall(low)), 3) / 3
    return feats
