"""The registry of scoring profiles.

Two ship with fieldwise: ``reference`` (reproduces the published ISAF numbers, lenient
in known ways) and ``strict`` (normalised labels, set F1, type checks, abstention). A user
adds their own by subclassing :class:`Profile` and calling :func:`register_profile`, or
from another package with an entry point in the ``fieldwise.profiles`` group.
"""

from __future__ import annotations

from typing import TypeVar

from fieldwise import registry
from fieldwise.scoring._profile import MISSING, Profile
from fieldwise.scoring._reference import ReferenceProfile
from fieldwise.scoring._strict import StrictProfile

__all__ = ["MISSING", "PROFILES", "Profile", "get_profile", "register_profile"]

P = TypeVar("P", Profile, type[Profile])

PROFILES = registry.profiles
"""Profile name → profile (a :class:`~fieldwise.registry.Registry`: ``in``, iteration in
registration order, ``[name]``, ``pop``)."""


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
