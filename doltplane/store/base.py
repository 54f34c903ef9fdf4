"""The engine boundary: the version-control operations the planes need, engine-neutral.

Planes write plain SQL through SQLAlchemy Core on connections the engine
hands out, and ask the engine for every version-control operation. Each
engine (embedded doltlite, Dolt sql-server) translates those into its own
dialect, and translates its driver's errors into doltplane errors.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    import sqlalchemy as sa

    from doltplane.store.capabilities import Capabilities

T = TypeVar("T")

MAIN = "main"


@dataclasses.dataclass(frozen=True)
class Commit:
    """One commit. ``date`` is Dolt's (one-second resolution); ``time`` is the precise
    moment doltplane recorded when it made the commit (None: made by another tool);
    ``replaces`` are earlier hashes of the same content (a history squash replays kept
    commits under new hashes); ``squashed`` counts the commits a squash folded into it."""

    hash: str
    author: str
    email: str
    date: dt.datetime
    message: str
    time: dt.datetime | None = None
    replaces: tuple[str, ...] = ()
    squashed: int = 0


@dataclasses.dataclass(frozen=True)
class BranchInfo:
    name: str
    hash: str
    last_commit_date: dt.datetime
    last_commit_message: str
    last_author: str


class MergeStatus(enum.Enum):
    UP_TO_DATE = "up_to_date"
    FAST_FORWARD = "fast_forward"
    MERGED = "merged"
    CONFLICT = "conflict"


@dataclasses.dataclass(frozen=True)
class ConflictRow:
    """One conflicting row: the common ancestor's values and each side's (None: absent).

    ``ours`` is the version on the merge's target (the branch merged into) and
    ``theirs`` the version on its source. The ledger's agent merges always
    report the agent's branch as the target: ours = the agent, theirs = main.
    """

    table: str
    key: dict[str, Any]
    base: dict[str, Any] | None
    ours: dict[str, Any] | None
    theirs: dict[str, Any] | None


@dataclasses.dataclass(frozen=True)
class MergeResult:
    """The outcome of merging ``source`` into ``target``: conflicts are data, not exceptions.

    In ``conflicts``, ``ours`` is ``target``'s side and ``theirs`` is ``source``'s (for an
    agent's ledger merge: ours = the agent's branch, theirs = main, see ``ConflictRow``).
    """

    status: MergeStatus
    source: str
    target: str
    commit: str | None = None
    conflicts: tuple[ConflictRow, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status is not MergeStatus.CONFLICT


@dataclasses.dataclass(frozen=True)
class RowChange:
    """One row's change between two revisions (``added``, ``modified``, ``removed``)."""

    table: str
    diff_type: str
    key: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclasses.dataclass(frozen=True)
class RowVersion:
    """A row as it stood at one commit (from a row's history)."""

    commit: str
    date: dt.datetime
    author: str
    row: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class SquashResult:
    commits_before: int
    commits_after: int
    squashed: int
    thinned: int = 0
    """Commits newer than the cutoff that thinning dropped (see ``Thinning``)."""


@dataclasses.dataclass(frozen=True)
class Thinning:
    """Snapshot thinning in a squash: of the commits made before ``before`` (and after the
    squash's cutoff) whose message starts with ``prefix``, only the newest of each
    ``every_seconds`` interval, aligned to the epoch, is kept; other commits (migrations,
    named checkpoints) all stay. An AS OF time in a thinned interval answers with the
    newest kept commit at or before it, as it always does."""

    before: dt.datetime
    every_seconds: float
    prefix: str = ""

    def keep(self, commits: Sequence[Commit]) -> list[Commit]:
        """``commits`` (newest first) without those thinning drops; a squash commit stays."""
        kept: list[Commit] = []
        buckets: set[int] = set()
        for commit in commits:
            moment = commit.time or commit.date
            if (
                commit.squashed
                or moment >= self.before
                or not commit.message.startswith(self.prefix)
            ):
                kept.append(commit)
                continue
            bucket = int(moment.timestamp() // self.every_seconds)
            if bucket not in buckets:
                buckets.add(bucket)
                kept.append(commit)
        return kept


@dataclasses.dataclass(frozen=True)
class RemoteHeads:
    """What one remote database holds: branch and tag name -> commit hash."""

    branches: dict[str, str]
    tags: dict[str, str]


Resolution = Literal["ours", "theirs"] | Mapping[str, Sequence[Mapping[str, Any]]]
"""How to finish a conflicting merge: one side wins, or the final rows per table.

Final rows are Python values (datetimes, dicts for JSON columns) that the engine
binds through each table's column types; they must cover every conflicting key
and no other key (InvalidInput, nothing written)."""


class Engine(Protocol):
    """One plane's database, with every version-control operation the planes use.

    ``branch=None`` means the default branch (``main``). Revisions are branch
    names, tags, commit hashes or unique prefixes of 7+ characters (also hashes a
    history squash replaced), or ``<rev>~n``; ``resolve_time`` turns a timestamp
    into a commit of a branch's first-parent line. Capabilities an engine lacks raise
    ``UnsupportedOperation``, never a silent fallback.
    """

    name: str
    location: str

    @property
    def capabilities(self) -> Capabilities:
        """What this engine can do beyond SQL and commits (gc, squash, remotes, sizes)."""
        ...

    # --- SQL access -------------------------------------------------------
    def write(
        self,
        fn: Callable[[sa.Connection], T],
        *,
        branch: str | None = None,
        message: Callable[[T], str | None] | None = None,
        author: str | None = None,
    ) -> T:
        """Run ``fn`` in one write transaction on ``branch``, retried whole while locked.

        With ``message``, the transaction ends in a Dolt commit of the branch
        (message ``message(result)``; None: no commit) taken under the same
        lock, so no other writer's change can slip into it.
        """
        ...

    def read(self, revision: str | None = None) -> AbstractContextManager[sa.Connection]:
        """A read-only connection where table names mean their state at ``revision``
        (None: the live working state of main, uncommitted writes included)."""
        ...

    def fetch_rows(
        self, sql: str, params: Sequence[Any] = (), revision: str | None = None
    ) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement given as driver SQL (compiled once from
        SQLAlchemy Core) with positional parameters, at ``revision`` as in ``read``."""
        ...

    def query(
        self,
        sql: str,
        params: Any = None,
        *,
        attach: Mapping[str, Engine] | None = None,
        timeout: float | None = None,
    ) -> list[dict[str, Any]]:
        """Rows of one read-only statement on the live main state, with other planes'
        databases visible under the given names; anything but reading is refused. A
        statement still running after ``timeout`` seconds (None or 0: no limit) is
        stopped with QueryTimeout; Ctrl-C stops it with KeyboardInterrupt."""
        ...

    def schema_engine(self) -> sa.Engine:
        """The SQLAlchemy engine migrations run on (main branch, read-write)."""
        ...

    # --- commits and branches -------------------------------------------
    def commit(
        self,
        message: str,
        *,
        author: str | None = None,
        branch: str | None = None,
        allow_empty: bool = False,
        date: dt.datetime | None = None,
    ) -> str | None:
        """Commit every change on ``branch``; the hash, or None when nothing changed."""
        ...

    def log(self, revision: str | None = None, *, limit: int | None = None) -> list[Commit]: ...

    def commit_count(self, revision: str | None = None) -> int: ...

    def branches(self) -> list[BranchInfo]: ...

    def create_branch(self, name: str, start: str | None = None) -> None: ...

    def delete_branch(self, name: str, *, force: bool = False) -> None: ...

    def has_branch(self, name: str) -> bool: ...

    def create_tag(self, name: str, revision: str | None = None) -> str:
        """Tag the commit ``revision`` names (default: main); returns that commit."""
        ...

    def is_dirty(self, branch: str | None = None) -> bool:
        """Whether ``branch`` has uncommitted changes."""
        ...

    def resolve_revision(self, revision: str) -> str:
        """The commit hash ``revision`` names; InvalidRevision when it names none."""
        ...

    def resolve_time(self, when: dt.datetime, *, branch: str | None = None) -> str:
        """The commit ``branch`` (default main) stood at at ``when``: the newest commit of its
        first-parent line known to be made at or before ``when``. InvalidRevision before
        the first commit, before squashed history, or outside the supported range."""
        ...

    def first_parent_line(self, revision: str | None = None) -> list[Commit]:
        """The commits ``revision`` (default main) stood at, newest first: its first-parent
        line, without the commits that merges brought in."""
        ...

    def first_parents(self, commits: Sequence[str]) -> dict[str, str]:
        """Each given commit's first parent (root commits are left out)."""
        ...

    def merge_base(self, a: str, b: str) -> str: ...

    # --- merges ------------------------------------------------------------
    def merge(
        self,
        source: str,
        *,
        into: str | None = None,
        message: str | None = None,
        author: str | None = None,
        no_ff: bool = True,
    ) -> MergeResult:
        """Merge ``source`` into ``into``. A conflict changes nothing and comes back as data."""
        ...

    def resolve_merge(
        self,
        source: str,
        resolution: Resolution,
        *,
        into: str | None = None,
        message: str | None = None,
        author: str | None = None,
    ) -> MergeResult:
        """Redo a conflicting merge and finish it with ``resolution``, keeping every row."""
        ...

    # --- history -----------------------------------------------------------
    def row_history(
        self, table: str, key: Mapping[str, Any], *, revision: str | None = None
    ) -> list[RowVersion]:
        """Every committed version of one row, newest first."""
        ...

    def diff(self, table: str, from_revision: str, to_revision: str) -> Iterator[RowChange]: ...

    # --- storage -----------------------------------------------------------
    def gc(self) -> None: ...

    def squash_before(
        self, cutoff: dt.datetime, *, branch: str | None = None, thin: Thinning | None = None
    ) -> SquashResult:
        """Fold every commit older than ``cutoff`` into one, keeping newer commits as they were
        (with ``thin``: those that thinning keeps)."""
        ...

    def size_bytes(self) -> int: ...

    def squash_running(self) -> bool:
        """Whether some process is squashing this database's history right now."""
        ...

    def size_after_gc(self) -> int | None:
        """The size the last ``gc`` by any process on this machine left (None: unknown)."""
        ...

    def remove_scratch_leftovers(self, *, dry_run: bool = False) -> list[str]:
        """Delete doltplane's scratch branches whose owner process is gone; their names."""
        ...

    def reset_connections(self) -> None:
        """Drop pooled connections, e.g. after a schema change that adds tables."""
        ...

    def close(self) -> None: ...

    # --- remotes (capability: supports_remotes) ------------------------------
    # A remote is named (a Dolt remote of this database) and located by a URL that
    # names one database (file:///dir/ledger.db, http://host:port/ledger.db).
    @property
    def supports_remotes(self) -> bool:
        """Whether this engine can push to, fetch from and clone Dolt remotes."""
        ...

    def tags(self) -> dict[str, str]:
        """Every tag, name -> commit hash."""
        ...

    def remote_heads(self, url: str) -> RemoteHeads | None:
        """The branches and tags the database at ``url`` holds (None: no database there yet),
        read without changing anything here."""
        ...

    def push(self, remote: str, url: str, branch: str, *, force: bool = False) -> None:
        """Push ``branch`` to the same name at ``url``; RemoteRejected if not a fast-forward
        (unless ``force``)."""
        ...

    def push_tags(self, remote: str, url: str) -> None: ...

    def delete_remote_branch(self, remote: str, url: str, branch: str) -> None: ...

    def fetch(self, remote: str, url: str, branch: str) -> str:
        """Fetch ``branch`` from ``url``; the revision naming what was fetched."""
        ...

    def clone_from(self, url: str, remote: str) -> RemoteHeads:
        """Fill this empty database from ``url``: full history, every branch and tag."""
        ...
