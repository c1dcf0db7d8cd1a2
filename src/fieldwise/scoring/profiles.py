"""The registry of scoring profiles, and the two that ship with fieldwise.

A profile is policy only (see :class:`Profile`): the metrics do the scoring.

- ``reference`` reproduces the published ISAF numbers exactly: each field's declared
  metric, verbatim. So ``1 == true`` (``equal``), extra labels are free (``set_recall``),
  labels are compared as written (no case folding, no ``;`` splitting, no aliases), and a
  missing key or a value of the wrong shape scores 0: quirks count as errors, as they did
  when published.
- ``strict`` is what a careful reader would accept: labels normalised on both sides, the
  lenient equality metrics (``exact``, ``equal``, ``int_equal``, ``set_equal``,
  ``set_recall``) re-read by the field's kind (label sets by F1, so over-prediction costs;
  a real JSON integer or boolean; any number within 1e-6 relative; a valid ISO date; a
  normalised label or text), the other metrics (``number``, ``text_similarity``,
  ``date``, plugins) as declared, and a top-level ``null`` or ``"unknown"`` that is not
  right counted as an abstention: neither right nor wrong, it lowers ``coverage``. A
  missing key, or an output that did not parse at all, is not an abstention and scores 0.

A user adds their own by subclassing :class:`Profile` and calling :func:`register_profile`,
or from another package with an entry point in the ``fieldwise.profiles`` group.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import ClassVar, TypeVar

from fieldwise import registry
from fieldwise.scoring._profile import MISSING, Profile
from fieldwise.tasks._task import Metric

__all__ = [
    "GROUNDING_SUFFIX",
    "MISSING",
    "PROFILES",
    "Profile",
    "ReferenceProfile",
    "StrictProfile",
    "get_profile",
    "register_profile",
    "with_grounding",
]

GROUNDING_SUFFIX = "+grounding"
"""A profile name ending in this is the named profile with ``require_grounding`` on."""

P = TypeVar("P", Profile, type[Profile])

PROFILES = registry.profiles
"""Profile name → profile (a :class:`~fieldwise.registry.Registry`: ``in``, iteration in
registration order, ``[name]``, ``pop``)."""


class ReferenceProfile(Profile):
    """Each field's declared metric, verbatim (see the module docstring)."""

    name: ClassVar[str] = "reference"
    description: ClassVar[str] = (
        "reproduces the published ISAF numbers (lenient: 1 == true, extras free)"
    )
    accepts_fenced: ClassVar[bool] = False
    """Never: the published numbers read a fenced output as invalid JSON."""


class StrictProfile(Profile):
    """Normalised labels, set F1, type checks, and abstention (see the module docstring)."""

    name: ClassVar[str] = "strict"
    description: ClassVar[str] = "normalised labels, set F1, type checks; null/'unknown' = abstain"
    normalise: ClassVar[bool] = True
    strict_types: ClassVar[bool] = True
    abstain: ClassVar[bool] = True
    accepts_fenced: ClassVar[bool] = True  # with strip_fences: a careful reader strips it
    rereads: ClassVar[frozenset[str]] = frozenset(
        {"exact", "equal", "int_equal", "set_equal", "set_recall"}
    )
    by_kind: ClassVar[Mapping[str, Metric]] = {
        "label_set": Metric("set_f1"),
        "int": Metric("int_equal"),
        "bool": Metric("equal"),
        "float": Metric("number", rel=1e-6, abs=1e-9),
        "date": Metric("date"),
        "label": Metric("exact"),
        "text": Metric("exact"),
    }


def register_profile(profile: P) -> P:
    """Register a profile (an instance, or a class with a no-argument constructor).

    Returns its argument, so it also works as a class decorator. A later registration
    under the same name replaces the earlier one.
    """
    instance = profile() if isinstance(profile, type) else profile
    if not getattr(instance, "name", ""):
        raise ValueError("a scoring profile needs a non-empty `name`")
    registry.profiles.register(instance.name, instance)
    return profile


def get_profile(name: str) -> Profile:
    """Look up a profile by name; ``NAME+grounding`` is profile NAME with the option
    ``require_grounding`` on. An unknown name is a :class:`UserError`."""
    if name.endswith(GROUNDING_SUFFIX) and name not in registry.profiles:
        base = name[: -len(GROUNDING_SUFFIX)]
        if base in registry.profiles:  # an unknown base falls through to the one error
            plain = get_profile(base)
            made = _DERIVED.get(name)
            if made is None or made[0] is not plain:  # new, or its base was replaced
                made = _DERIVED[name] = (plain, with_grounding(plain))
            return made[1]
    found = registry.profiles.get(name)
    if isinstance(found, type):  # a plugin may declare the class: one instance per process
        found = found()
        registry.profiles.register(name, found)
    assert isinstance(found, Profile)
    return found


_DERIVED: dict[str, tuple[Profile, Profile]] = {}
"""``NAME+grounding`` → (the NAME profile it was made from, the derived profile). Kept out
of the registry: they are options of registered profiles, not profiles of their own."""


def with_grounding(profile: Profile) -> Profile:
    """``profile`` with ``require_grounding`` on, named ``<name>+grounding``."""
    derived = copy.copy(profile)
    derived.name = profile.name + GROUNDING_SUFFIX  # type: ignore[misc]
    derived.description = (  # type: ignore[misc]
        f"{profile.description}; a required value not found in the text = abstain"
    )
    derived.require_grounding = True
    return derived


registry.profiles.configure(check=Profile)
register_profile(ReferenceProfile)
register_profile(StrictProfile)
