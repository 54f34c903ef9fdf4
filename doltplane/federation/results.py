"""Result values of federation operations: data, not exceptions (only misuse raises)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from doltplane.store.base import MergeStatus

__all__ = [
    "CatalogChange",
    "FederationStatus",
    "MergeStatus",
    "PullResult",
    "PushResult",
    "PushStatus",
    "RepoInfo",
    "ResolveResult",
    "Review",
    "ReviewDetail",
    "ReviewMerge",
    "ScheduledPull",
]


@dataclasses.dataclass(frozen=True)
class CatalogChange:
    """One commit of the federation repository that changed a catalog file."""

    commit: str
    time: dt.datetime
    author: str
    subject: str
    paths: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class RepoInfo:
    """Where the site clone is and what it tracks."""

    path: str
    remote: str | None
    head: str | None
    files: int


@dataclasses.dataclass(frozen=True)
class FederationStatus:
    path: str
    remote: str | None
    branch: str | None
    head: str | None
    upstream: str | None
    ahead: int
    behind: int
    local_changes: list[str]
    conflicts: list[str]
    """Paths that conflict between HEAD and the fetched main (a pull would stop on them)."""
    merge_in_progress: bool
    last_pull: dict[str, object] | None
    """What the last pull (scheduled or not) recorded: time, status, conflicts, error."""


@dataclasses.dataclass(frozen=True)
class PullResult:
    """``status`` is UP_TO_DATE, FAST_FORWARD, MERGED or CONFLICT (then nothing changed)."""

    status: MergeStatus
    before: str | None
    after: str | None
    upstream: str | None
    conflicts: list[str]
    changed_files: list[str]


class PushStatus(enum.Enum):
    PUSHED = "pushed"
    UP_TO_DATE = "up_to_date"


@dataclasses.dataclass(frozen=True)
class PushResult:
    status: PushStatus
    branch: str
    """``main``, or ``review/<site>/<topic>``."""
    commit: str | None
    committed: bool
    """Whether local changes were committed first."""
    review: str | None
    """``<site>/<topic>`` for a review push."""


@dataclasses.dataclass(frozen=True)
class ResolveResult:
    path: str
    resolution: str
    """``ours``, ``theirs`` or ``edited``."""
    remaining: list[str]
    merge_commit: str | None
    """The merge commit, once the last conflict is resolved."""


@dataclasses.dataclass(frozen=True)
class Review:
    """A proposed change on ``review/<site>/<topic>``."""

    name: str
    branch: str
    site: str
    topic: str
    head: str
    author: str
    subject: str
    approved: bool
    approved_by: str | None
    merges_cleanly: bool
    conflicts: list[str]


@dataclasses.dataclass(frozen=True)
class ReviewDetail:
    review: Review
    files: list[dict[str, str]]
    """``{"status": "A|M|D|R", "path": ...}`` against main."""
    diff: str


@dataclasses.dataclass(frozen=True)
class ReviewMerge:
    review: str
    status: MergeStatus
    """FAST_FORWARD or MERGED."""
    commit: str


@dataclasses.dataclass(frozen=True)
class ScheduledPull:
    """What one run of the scheduler did; a conflict is recorded here, never resolved."""

    ran: bool
    due_at: str
    result: PullResult | None
    error: str | None
