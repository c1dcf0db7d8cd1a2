"""The record of one hosted fine-tuning job, on disk before anything costs money.

A hosted job is paid for once it is created, and a ``kill -9`` (or a lost answer) can
come at any moment, so every step is written down before the next one starts: the
uploaded file's id, that a create is about to be sent (and when), the job id the moment
the service returns it (before the first wait), then the state and progress after every
poll. Writes are atomic (a temporary file, fsynced, renamed over the record), so a kill
mid-write leaves the previous version, never half a record.

The record is found again by :func:`job_key`: the service and where it is, the base
model, the training file's content and every setting that changes the job. Rerunning
the same ``fieldwise finetune CONFIG`` therefore resumes the same job (waiting, or
adopting the job a lost create made) instead of starting a second one; a job that
failed or was cancelled is not resumed (the rerun starts a new one, reusing the upload).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from fieldwise._hashing import content_hash
from fieldwise.errors import UserError

__all__ = ["JobRecord", "file_digest", "job_key"]


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (the training data's identity in the job key)."""
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def job_key(**parts: Any) -> str:
    """A stable name for a job: the hash of everything that makes it this job."""
    return content_hash(parts)[:16]


@dataclass
class JobRecord:
    """What is known about one job, saved after every step (see the module docstring)."""

    key: str
    provider: str
    base_model: str
    base_url: str | None = None
    label: str | None = None
    file_digest: str | None = None
    file_id: str | None = None
    rows: int | None = None
    estimate_usd: float | None = None
    estimate_source: str | None = None
    create_sent_at: float | None = None
    """Epoch seconds at which a create was last sent; from then on a job may exist."""
    job_id: str | None = None
    state: str = "new"
    """``new``, then the provider's normalised state (``queued`` ... ``succeeded``)."""
    raw_status: str | None = None
    progress: float | None = None
    cost_usd: float | None = None
    error: str | None = None
    previous_jobs: list[str] = field(default_factory=list)
    """Jobs this record ran before that failed or were cancelled."""
    provider_state: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    updated_at: float = 0.0
    path: Path | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, path: Path, **new: Any) -> JobRecord:
        """The record at ``path``, or a fresh one made of ``new`` when there is none."""
        if not path.is_file():
            record = cls(**new)
            record.path = path
            return record
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(
                f"cannot read the job record {path}: {exc}",
                hint="it is written atomically, so this is damage from outside; "
                "move it away to start over (a job it named keeps running)",
            ) from None
        known = {f.name for f in fields(cls)} - {"path"}
        record = cls(**{k: v for k, v in data.items() if k in known})
        record.path = path
        return record

    def save(self) -> None:
        """Write atomically: a temporary file in the same folder, fsynced, renamed."""
        assert self.path is not None
        self.updated_at = time.time()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {k: v for k, v in asdict(self).items() if k != "path"}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2, default=str)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(self.path.parent)

    def start_over(self) -> None:
        """Forget an ended (failed, cancelled) job but keep the upload, for a new job."""
        if self.job_id:
            self.previous_jobs.append(self.job_id)
        self.job_id = None
        self.create_sent_at = None
        self.state = "new"
        self.raw_status = self.error = None
        self.progress = self.cost_usd = None
        self.provider_state = {}
        self.result = None


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
