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

from collections.abc import Mapping
from typing import ClassVar, TypeVar

from fieldwise import registry
from fieldwise.scoring._profile import MISSING, Profile
from fieldwise.tasks._task import Metric

__all__ = [
    "MISSING",
    "PROFILES",
    "Profile",
    "ReferenceProfile",
    "StrictProfile",
    "get_profile",
    "register_profile",
]

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
    """Look up a profile by name; an unknown name is a :class:`UserError`."""
    found = registry.profiles.get(name)
    if isinstance(found, type):  # a plugin may declare the class: one instance per process
        found = found()
        registry.profiles.register(name, found)
    assert isinstance(found, Profile)
    return found


registry.profiles.configure(check=Profile)
register_profile(ReferenceProfile)
register_profile(StrictProfile)
