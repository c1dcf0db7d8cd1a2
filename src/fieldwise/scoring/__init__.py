"""Scoring: parse each output once, score every field under one or more profiles.

``score_outputs(task, golds, outputs)`` is the entry point; ``reference`` reproduces the
published ISAF numbers, ``strict`` is the careful reading (see ``profiles.py``).
"""

from __future__ import annotations

from fieldwise.scoring._types import ModelResult, ModelScore, ParsedOutput, ParseStatus
from fieldwise.scoring.aggregate import (
    DEFAULT_PROFILES,
    GoldTable,
    check_profiles,
    prepare_golds,
    score_outputs,
    score_parsed,
)
from fieldwise.scoring.audit import LabelIssue, audit_labels
from fieldwise.scoring.parse import parse_output, parse_outputs
from fieldwise.scoring.profiles import (
    MISSING,
    PROFILES,
    Profile,
    get_profile,
    register_profile,
)
from fieldwise.scoring.stats import Comparison, PairwiseTable, Resamples, pairwise

__all__ = [
    "DEFAULT_PROFILES",
    "Comparison",
    "PairwiseTable",
    "Resamples",
    "MISSING",
    "PROFILES",
    "GoldTable",
    "LabelIssue",
    "ModelResult",
    "ModelScore",
    "ParseStatus",
    "ParsedOutput",
    "Profile",
    "audit_labels",
    "check_profiles",
    "get_profile",
    "pairwise",
    "parse_output",
    "parse_outputs",
    "prepare_golds",
    "register_profile",
    "score_outputs",
    "score_parsed",
]
