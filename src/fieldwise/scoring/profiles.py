"""The registry of scoring profiles.

Two ship with fieldwise: ``reference`` (reproduces the published ISAF numbers, lenient
in known ways) and ``strict`` (normalised labels, set F1, type checks, abstention). A user
adds their own by subclassing :class:`Profile` and calling :func:`register_profile`.
"""

from __future__ import annotations

import copy

from fieldwise.errors import UserError
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

PROFILES: dict[str, Profile] = {}
"""Profile name → profile instance, in registration order."""


def register_profile(profile: Profile | type[Profile]) -> Profile | type[Profile]:
    """Register a profile (an instance, or a class with a no-argument constructor).

    Returns its argument, so it also works as a class decorator. A later registration
    under the same name replaces the earlier one.
    """
    instance = profile() if isinstance(profile, type) else profile
    if not getattr(instance, "name", ""):
        raise ValueError("a scoring profile needs a non-empty `name`")
    PROFILES[instance.name] = instance
    return profile


def get_profile(name: str) -> Profile:
    """Look up a profile by name; ``NAME+grounding`` is profile NAME with the option
    ``require_grounding`` on. An unknown name is a :class:`UserError`."""
    if name not in PROFILES and name.endswith(GROUNDING_SUFFIX):
        base = name[: -len(GROUNDING_SUFFIX)]
        if base in PROFILES and not PROFILES[base].require_grounding:
            register_profile(with_grounding(PROFILES[base]))
    try:
        return PROFILES[name]
    except KeyError:
        raise UserError(
            f"unknown scoring profile '{name}'",
            hint=f"choose from {', '.join(PROFILES)} (add {GROUNDING_SUFFIX} to any of them "
            "to score ungrounded values as abstentions)",
        ) from None


def with_grounding(profile: Profile) -> Profile:
    """``profile`` with ``require_grounding`` on, named ``<name>+grounding``."""
    derived = copy.copy(profile)
    derived.name = profile.name + GROUNDING_SUFFIX  # type: ignore[misc]
    derived.description = (  # type: ignore[misc]
        f"{profile.description}; a required value not found in the text = abstain"
    )
    derived.require_grounding = True
    return derived


register_profile(ReferenceProfile)
register_profile(StrictProfile)
