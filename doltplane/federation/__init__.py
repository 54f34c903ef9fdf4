"""The federation plane: a Git repository of shared roles, formulas and templates.

``Federation(settings)`` (also ``dp.federation``) is the whole public surface:
catalog lookups (``get``, ``list``, ``validate``), set-up (``init``,
``clone``, ``status``), sync (``pull``, ``conflicts``, ``resolve``, ``push``),
review (``reviews``, ``review``, ``approve``, ``merge_review``) and the
scheduler's ``pull_if_due``.
"""

from doltplane.federation.models import Formula, Kind, Problem, Role, Step, Template
from doltplane.federation.plane import Federation
from doltplane.federation.results import (
    FederationStatus,
    MergeStatus,
    PullResult,
    PushResult,
    PushStatus,
    RepoInfo,
    ResolveResult,
    Review,
    ReviewDetail,
    ReviewMerge,
    ScheduledPull,
)
from doltplane.federation.validate import ValidationReport

__all__ = [
    "Federation",
    "FederationStatus",
    "Formula",
    "Kind",
    "MergeStatus",
    "Problem",
    "PullResult",
    "PushResult",
    "PushStatus",
    "RepoInfo",
    "ResolveResult",
    "Review",
    "ReviewDetail",
    "ReviewMerge",
    "Role",
    "ScheduledPull",
    "Step",
    "Template",
    "ValidationReport",
]
