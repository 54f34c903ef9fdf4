"""Federation: the one object behind ``dp.federation`` and ``doltplane federation``."""

from __future__ import annotations

import builtins
import datetime as dt
import functools
from pathlib import Path
from typing import Literal

from doltplane.config import Settings
from doltplane.errors import DoltplaneError, NotFound
from doltplane.federation import bootstrap, history, review, sync
from doltplane.federation.catalog import Catalog
from doltplane.federation.models import Entry
from doltplane.federation.repo import MAIN, UPSTREAM, Repo
from doltplane.federation.results import (
    CatalogChange,
    FederationStatus,
    PullResult,
    PushResult,
    RepoInfo,
    ResolveResult,
    Review,
    ReviewDetail,
    ReviewMerge,
    ScheduledPull,
)
from doltplane.federation.validate import ValidationReport, validate_files
from doltplane.validation import check_int

CLONE_DIR = "federation"


class Federation:
    """The site clone at ``<data_dir>/federation``: catalog lookups, sync and review."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.repo = Repo(settings.data_dir.resolve() / CLONE_DIR)  # git runs in other cwds

    @property
    def path(self) -> str:
        return str(self.repo.path)

    @functools.cached_property
    def catalog(self) -> Catalog:
        return Catalog(self.repo.head, self.repo.files_at)

    def _ready(self) -> Repo:
        return self.repo.require()

    # -- set-up -------------------------------------------------------------------------------

    def init(self, remote: str | None = None) -> RepoInfo:
        """A new catalog from the starter layout; with ``remote`` (empty), published there too."""
        bootstrap.init(self.repo, remote, self.settings.author)
        return self.info()

    def clone(self, url: str | None = None) -> RepoInfo:
        """Clone the shared repository (``url`` or the ``federation_remote`` setting)."""
        bootstrap.clone(self.repo, url or self.settings.federation_remote)
        return self.info()

    @staticmethod
    def init_shared(path: str) -> str:
        """An empty bare repository for every site to share (e.g. on a file server)."""
        return bootstrap.init_bare(Path(path))

    def info(self) -> RepoInfo:
        repo = self._ready()
        head = repo.head()
        files = len(repo.git.run("ls-files", "-z").stdout.split("\0")) - 1
        return RepoInfo(path=self.path, remote=repo.remote_url(), head=head, files=files)

    def status(self, fetch: bool = False) -> FederationStatus:
        """Ahead/behind the fetched main, local changes, pending conflicts, the last pull."""
        repo = self._ready()
        if fetch:
            repo.fetch()
        head = repo.rev("HEAD")
        upstream = repo.rev(UPSTREAM)
        ahead = behind = 0
        if head and upstream:
            ahead, behind = repo.ahead_behind(head, upstream)
        return FederationStatus(
            path=self.path,
            remote=repo.remote_url(),
            branch=repo.current_branch(),
            head=head,
            upstream=UPSTREAM if upstream else None,
            ahead=ahead,
            behind=behind,
            local_changes=repo.all_local_changes(),
            conflicts=sync.pending_conflicts(repo),
            merge_in_progress=repo.merge_in_progress(),
            last_pull=sync.last_pull(repo),
        )

    # -- catalog ------------------------------------------------------------------------------

    def get(self, kind: str, name: str, version: int | str | None = None) -> Entry:
        """``get("role", "polecat")``, ``get("formula", "mol-witness-patrol", version=2)``."""
        self._ready()
        return self.catalog.get(kind, name, version)

    def list(self, kind: str | None = None) -> builtins.list[Entry]:
        self._ready()
        return self.catalog.entries(kind)

    def versions(self, formula: str) -> builtins.list[int]:
        self._ready()
        return self.catalog.versions(formula)

    def changes(self, kind: str, name: str, *, limit: int = 100) -> builtins.list[CatalogChange]:
        """Commits of the clone's HEAD that changed an entry's file (every version of a
        formula), newest first; read-only."""
        repo = self._ready()
        if kind == "formula":
            paths = sorted({e.path for e in self.catalog.entries("formula") if e.name == name})
            if not paths:
                raise NotFound("formula", name)
        else:
            paths = [self.get(kind, name).path]
        return history.changes(repo, paths, limit=check_int(limit, "limit", minimum=1))

    def validate(self) -> ValidationReport:
        """Every problem in the work tree (what a push would send), as ``path:line: message``."""
        return validate_files(self._ready().worktree_files())

    def validate_revision(self, rev: str) -> ValidationReport:
        return validate_files(self._ready().files_at(rev))

    # -- sync ---------------------------------------------------------------------------------

    def pull(self) -> PullResult:
        return sync.pull(self._ready(), self.settings.author)

    def conflicts(self) -> builtins.list[str]:
        return sync.pending_conflicts(self._ready())

    def begin_resolve(self) -> builtins.list[str]:
        """Start the merge so conflict markers appear in the files for editing."""
        return sync.begin_resolve(self._ready(), self.settings.author)

    def resolve(self, path: str, side: Literal["ours", "theirs"]) -> ResolveResult:
        return sync.resolve(self._ready(), path, side, self.settings.author)

    def mark_resolved(self, path: str) -> ResolveResult:
        return sync.mark_resolved(self._ready(), path, self.settings.author)

    def abort_resolve(self) -> None:
        sync.abort_resolve(self._ready())

    def push(
        self, *, review: bool = True, topic: str | None = None, message: str | None = None
    ) -> PushResult:
        """Validate, commit, push to ``review/<site>/<topic>``; main only with ``review=False``."""
        repo = self._ready()
        return _review.push(
            repo,
            review=review,
            site=self.settings.site,
            topic=topic,
            message=message,
            author=self.settings.author,
            validate=self.validate,
        )

    # -- review -------------------------------------------------------------------------------

    def reviews(self) -> builtins.list[Review]:
        return _review.list_reviews(self._ready())

    def review(self, name: str) -> ReviewDetail:
        return _review.show_review(self._ready(), name)

    def approve(self, name: str, approver: str | None = None) -> Review:
        who = approver or f"{self.settings.site} ({self.settings.author})"
        return _review.approve(self._ready(), name, who, self.settings.author)

    def merge_review(self, name: str) -> ReviewMerge:
        return _review.merge_review(
            self._ready(), name, self.settings.author, self.validate_revision
        )

    # -- scheduled pull -----------------------------------------------------------------------

    def next_pull_due(self) -> dt.datetime | None:
        """When the scheduler should pull next (None: automatic pulls are off)."""
        interval = self.settings.federation_pull_interval_seconds
        if interval <= 0:
            return None
        last = sync.last_pull(self._ready())
        if not last or not isinstance(last.get("at"), str):
            return dt.datetime.fromtimestamp(0, dt.UTC)  # never pulled: due now
        return dt.datetime.fromisoformat(str(last["at"])) + dt.timedelta(seconds=interval)

    def pull_if_due(self, now: dt.datetime | None = None) -> ScheduledPull:
        """The long-running service calls this on a timer; it pulls when the interval has passed."""
        now = now or dt.datetime.now(dt.UTC)
        due = self.next_pull_due()
        if due is None or due > now:
            return ScheduledPull(
                ran=False, due_at=due.isoformat() if due else "", result=None, error=None
            )
        return self.scheduled_pull()

    def scheduled_pull(self) -> ScheduledPull:
        """Pull once; a conflict or failure is recorded (``status().last_pull``), never resolved."""
        repo = self._ready()
        interval = dt.timedelta(seconds=self.settings.federation_pull_interval_seconds)
        try:
            result = sync.pull(repo, self.settings.author)
        except DoltplaneError as exc:  # local changes, a merge in progress, an unreachable remote
            sync.record_pull(repo, None, exc.one_line())
            due = dt.datetime.now(dt.UTC) + interval
            return ScheduledPull(
                ran=True, due_at=due.isoformat(), result=None, error=exc.one_line()
            )
        due = dt.datetime.now(dt.UTC) + interval
        return ScheduledPull(ran=True, due_at=due.isoformat(), result=result, error=None)

    def __repr__(self) -> str:
        return f"<Federation {self.path} ({MAIN})>"


_review = review
