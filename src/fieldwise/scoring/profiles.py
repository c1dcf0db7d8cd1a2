"""The registry of scoring profiles.

Two ship with fieldwise: ``reference`` (reproduces the published ISAF numbers, lenient
in known ways) and ``strict`` (normalised labels, set F1, type checks, abstention). A user
adds their own by subclassing :class:`Profile` and calling :func:`register_profile`, or
from another package with an entry point in the ``fieldwise.profiles`` group.
"""

from __future__ import annotations

import copy
from typing import TypeVar

from fieldwise import registry
from fieldwise.scoring._profile import MISSING, Profile
from fieldwise.scoring._reference import ReferenceProfile
from fieldwise.scoring._strict import StrictProfile

__all__ = [
    "GROUNDING_SUFFIX",
    "MISSING",
    "PROFILES",
    "Profile",
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
