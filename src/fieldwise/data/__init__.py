"""Data: load examples from files or the Hub, fingerprint them, split them, check leakage."""

from __future__ import annotations

from fieldwise.data.fingerprint import fingerprint_examples
from fieldwise.data.loading import Dataset, load_examples, write_jsonl
from fieldwise.data.splits import check_leakage, group_kfold, train_test_split

__all__ = [
    "Dataset",
    "check_leakage",
    "fingerprint_examples",
    "group_kfold",
    "load_examples",
    "train_test_split",
    "write_jsonl",
]
