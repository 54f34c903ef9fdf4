"""The ledger plane: the permanent work record (issues, CV entries), never deleted.

Every change is one Dolt commit authored by whoever acted. Agents write on
their own branches (``dp.agent(name)``) and merge into ``main``; direct
writes on ``dp.ledger`` go to ``main``. Gas Town dropped branch-per-agent
for three reasons, and each has an answer here:

- visibility: ``issues(include_unmerged=True)`` also lists what agent
  branches hold that main does not, each record with its ``branch``;
- staleness: ``agent.sync()`` merges main into the agent branch, and
  ``agent.merge()`` syncs first;
- pile-up: ``merge()`` deletes the merged branch, ``branches()`` flags idle
  ones, ``prune()`` deletes merged or empty ones (never unmerged work).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from doltplane.cache import from_settings
from doltplane.config import Settings
from doltplane.errors import InvalidInput, NotFound
from doltplane.planes import jsonl
from doltplane.planes.ledger_agents import (
    AgentSession,
    RowsResolution,
    check_agent_name,
)
from doltplane.planes.ledger_branches import (
    AgentBranch,
    PruneResult,
    agent_branches,
    prune,
    unmerged_records,
)
from doltplane.planes.ledger_records import (
    TABLES,
    CvEntry,
    Issue,
    LedgerChange,
    LedgerReader,
    RecordVersion,
    check_kind,
    cv_entries,
    record_from_row,
)
from doltplane.planes.ledger_writes import LedgerWriter, check_record
from doltplane.planes.ops_records import to_db_time
from doltplane.store.base import MAIN, Commit, ConflictRow, Engine, MergeResult, Resolution
from doltplane.validation import (
    MAX_DAYS,
    check_callable,
    check_collection,
    check_flag,
    check_id,
    check_limit,
    check_number,
    check_path,
    check_revision,
    check_text,
    parse_when,
)

__all__ = [
    "AgentBranch",
    "AgentSession",
    "CvEntry",
    "Issue",
    "Ledger",
    "LedgerChange",
    "LedgerView",
    "PruneResult",
    "RecordVersion",
]


class LedgerView(LedgerReader):
    """The ledger as it was at one commit (read-only, same queries as the live ledger)."""

    def __repr__(self) -> str:
        return f"<LedgerView at {self.revision}>"


def _author_name(author: str) -> str:
    return author.split("<", 1)[0].strip() or author


class Ledger(LedgerReader, LedgerWriter):
    """``dp.ledger``: reads, writes on main, agent branches, history and JSONL migration."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.settings = settings
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self._locks_guard = threading.Lock()
        self.cache = from_settings(settings)
        """The L1 cache of reads at a commit (AS OF views); see doltplane/cache.py."""
        LedgerReader.__init__(self, engine, None)
        LedgerWriter.__init__(
            self,
            engine,
            branch=None,
            author=settings.author,
            actor=_author_name(settings.author),
            lock=self._lock_for(MAIN),
        )

    def __repr__(self) -> str:
        return f"<Ledger {self._engine.location}>"

    def _lock_for(self, branch: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks[branch]

    # --- agents ------------------------------------------------------------------
    def agent(self, name: str) -> AgentSession:
        """A session whose writes go to branch ``name`` (created from main on first write)."""
        branch = check_agent_name(name)
        return AgentSession(self._engine, branch, self._lock_for(branch))

    def _existing_agent(self, name: str) -> AgentSession:
        session = self.agent(name)
        if not session.exists():
            raise NotFound("agent branch", name, hint="it was merged already, or never written")
        return session

    def sync(self, agent: str) -> MergeResult:
        return self._existing_agent(agent).sync()

    def merge(self, agent: str) -> MergeResult:
        """Merge an agent's branch into main (see ``AgentSession.merge``)."""
        return self._existing_agent(agent).merge()

    def conflicts(self, agent: str) -> list[ConflictRow]:
        """The conflicts merging ``agent`` would meet, found without changing anything."""
        return self._existing_agent(agent).conflicts()

    def resolve(self, agent: str, strategy: Resolution | RowsResolution) -> MergeResult:
        """Finish a conflicting merge of ``agent`` (see ``AgentSession.resolve``)."""
        return self._existing_agent(agent).resolve(strategy)

    def tag(self, name: str, revision: str = MAIN) -> str:
        """Name a point of the ledger's history (e.g. a release); returns its commit."""
        return self._engine.create_tag(name, revision)

    def branches(
        self, *, stale_after: float | dt.timedelta | None = None, stale_only: bool = False
    ) -> list[AgentBranch]:
        """Agent branches with how far they are ahead/behind main; ``stale`` when idle for
        ``stale_after`` (seconds or a timedelta; default ``branch_stale_days``)."""
        if stale_after is None:
            seconds: object = self.settings.branch_stale_days * 86400
        elif isinstance(stale_after, dt.timedelta):
            seconds = stale_after.total_seconds()
        else:
            seconds = stale_after
        check_flag(stale_only, "stale_only")
        limit = check_number(seconds, "stale_after (seconds)", maximum=MAX_DAYS * 86400)
        found = agent_branches(self._engine, stale_after=limit)
        return [b for b in found if b.stale] if stale_only else found

    def prune(self, *, dry_run: bool = False) -> PruneResult:
        """Delete merged or empty agent branches; branches with unmerged work stay."""
        return prune(self._engine, dry_run=check_flag(dry_run, "dry_run"))

    # --- reads that can include unmerged work -----------------------------------------
    def issues(
        self,
        *,
        status: str | None = None,
        owner: str | None = None,
        type: str | None = None,
        created_by: str | None = None,
        created_since: dt.datetime | None = None,
        created_until: dt.datetime | None = None,
        limit: int | None = None,
        include_unmerged: bool = False,
    ) -> list[Issue]:
        """Issues on main matching the filters; with ``include_unmerged`` also every
        matching issue an agent branch added or changed, each with its ``branch``
        (with a ``limit``: the newest that many of them all)."""
        check_flag(include_unmerged, "include_unmerged")
        found = LedgerReader.issues(
            self,
            status=status,
            owner=owner,
            type=type,
            created_by=created_by,
            created_since=created_since,
            created_until=created_until,
            limit=limit,
        )
        if not include_unmerged:
            return found
        main = [dataclasses.replace(i, branch=MAIN) for i in found]
        query = self._issue_query(status, owner, type, created_by, created_since, created_until)
        condition = query.whereclause

        def narrow(select: sa.Select[Any]) -> sa.Select[Any]:
            return select if condition is None else select.where(condition)

        extra = [r for r in unmerged_records(self._engine, "issue", narrow) if isinstance(r, Issue)]
        if limit is None:
            return main + extra
        return sorted(main + extra, key=lambda i: i.created_at, reverse=True)[:limit]

    def cv_entries(
        self,
        *,
        owner_email: str | None = None,
        bead_id: str | None = None,
        activity_type: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
        include_unmerged: bool = False,
    ) -> list[CvEntry]:
        """CV entries on main; with ``include_unmerged`` also those on agent branches."""
        check_flag(include_unmerged, "include_unmerged")
        found = LedgerReader.cv_entries(
            self,
            owner_email=owner_email,
            bead_id=bead_id,
            activity_type=activity_type,
            since=since,
            until=until,
            limit=limit,
        )
        if not include_unmerged:
            return found
        table = cv_entries

        def narrow(select: sa.Select[Any]) -> sa.Select[Any]:
            for column, value in (
                ("owner_email", owner_email),
                ("bead_id", bead_id),
                ("activity_type", activity_type),
            ):
                if value is not None:
                    select = select.where(table.c[column] == value)
            if since is not None:
                select = select.where(table.c.timestamp >= to_db_time(since))
            if until is not None:
                select = select.where(table.c.timestamp < to_db_time(until))
            return select

        main = [dataclasses.replace(e, branch=MAIN) for e in found]
        extra = [
            r for r in unmerged_records(self._engine, "cv_entry", narrow) if isinstance(r, CvEntry)
        ]
        if limit is None:
            return main + extra
        return sorted(main + extra, key=lambda e: e.timestamp, reverse=True)[:limit]

    # --- AS OF, history, diff, log -------------------------------------------------
    def as_of(self, when: dt.datetime | str, *, branch: str | None = None) -> LedgerView:
        """The ledger at a datetime, ISO timestamp, commit (or a 7+ character prefix),
        branch, tag or ``HEAD~n``. A time means the state ``branch`` (default main) had
        then: the newest commit of its first-parent line made at or before it."""
        moment = parse_when(when)
        if branch is not None:
            check_revision(branch)
        if isinstance(moment, dt.datetime):
            commit = self._engine.resolve_time(moment, branch=branch)
        else:
            commit = self._engine.resolve_revision(moment)
        return LedgerView(self._engine, commit, self.cache)

    def history(
        self, id: str, *, kind: str = "issue", revision: str | None = None
    ) -> list[RecordVersion]:
        """Every committed version of one record on ``revision`` (default main), newest
        first; NotFound when no commit holds it."""
        check_id(id)
        table = TABLES[check_kind(kind)]
        if revision is not None:
            check_revision(revision)
        versions = self._engine.row_history(table.name, {"id": id}, revision=revision)
        if not versions:
            raise NotFound(f"{kind} history", id, hint="no commit holds it")
        # dolt_history lists the row at every commit that holds it; keep the commits that
        # made a version: those where the row differs from (or is absent in) the first parent
        # (stored rows compared first: equal rows are equal records, and most commits that
        # hold the row did not touch it, so only the few changes are decoded)
        rows = {v.commit: v.row for v in versions}
        parents = self._first_parents(list(rows))
        records: dict[str, Any] = {}

        def record(commit: str) -> Any:
            if commit not in records:
                records[commit] = record_from_row(kind, rows[commit])
            return records[commit]

        def changed(commit: str) -> bool:
            parent = parents.get(commit, "")
            if parent not in rows:
                return True
            return rows[parent] != rows[commit] and record(parent) != record(commit)

        return [
            RecordVersion(v.commit, v.date, v.author, record(v.commit))
            for v in versions
            if changed(v.commit)
        ]

    def _first_parents(self, commits: list[str]) -> dict[str, str]:
        return self._engine.first_parents(commits)

    def first_parents(self, commits: Iterable[str]) -> dict[str, str]:
        """Each given commit's first parent (root commits are left out); read-only."""
        return self._engine.first_parents([check_revision(c) for c in commits])

    def first_parent_line(self, branch: str | None = None) -> list[Commit]:
        """The commits ``branch`` (default main) stood at, newest first: without the commits
        that merges brought in (those stay in ``log``); read-only."""
        return self._engine.first_parent_line(MAIN if branch is None else check_revision(branch))

    def diff(self, from_revision: str, to_revision: str = MAIN) -> list[LedgerChange]:
        """Every record added, modified or removed between two revisions."""
        changes = []
        for kind, table in TABLES.items():
            for change in self._engine.diff(table.name, from_revision, to_revision):
                changes.append(
                    LedgerChange(
                        kind=kind,
                        id=str(change.key["id"]),
                        change=change.diff_type,
                        before=None
                        if change.before is None
                        else record_from_row(kind, change.before),
                        after=None if change.after is None else record_from_row(kind, change.after),
                    )
                )
        return changes

    def log(self, *, branch: str | None = None, limit: int | None = None) -> list[Commit]:
        """Commits on ``branch`` (default main), newest first."""
        check_limit(limit)
        return self._engine.log(MAIN if branch is None else check_revision(branch), limit=limit)

    def commit_count(self, branch: str | None = None) -> int:
        return self._engine.commit_count(MAIN if branch is None else check_revision(branch))

    # --- JSONL migration ---------------------------------------------------------
    def export_jsonl(
        self, out: IO[str], *, format: str = "doltplane", progress: jsonl.Progress | None = None
    ) -> jsonl.ExportResult:
        """Write every record as one JSON line, in the ``doltplane`` or the ``beads``
        format (docs/ledger.md)."""
        if not callable(getattr(out, "write", None)):
            raise InvalidInput(f"out must be a writable text stream, got {type(out).__name__}")
        check_callable(progress, "progress")
        return jsonl.export_as(self, out, format=format, progress=progress)

    def import_jsonl(
        self,
        path: str | Path,
        *,
        format: str | None = None,
        force: bool = False,
        dry_run: bool = False,
        progress: jsonl.Progress | None = None,
    ) -> jsonl.ImportResult:
        """Upsert every record of a JSONL file (or a Beads backup folder) in one commit
        (none when nothing changed); the format is detected unless given. A Beads record
        older than the ledger's copy is skipped unless ``force``. A malformed line raises
        InvalidDocument naming ``file:line``; nothing is written."""
        check_flag(force, "force")
        check_flag(dry_run, "dry_run")
        check_callable(progress, "progress")
        return jsonl.import_path(
            self, check_path(path), format=format, force=force, dry_run=dry_run, progress=progress
        )

    def verify_jsonl(
        self, path: str | Path, *, format: str | None = None, progress: jsonl.Progress | None = None
    ) -> jsonl.VerifyReport:
        """Compare the ledger with a JSONL file (or Beads backup folder) record by record."""
        check_callable(progress, "progress")
        return jsonl.verify_path(self, check_path(path), format=format, progress=progress)

    def write_records(self, records: Iterable[Issue | CvEntry], message: str) -> jsonl.UpsertCounts:
        """Upsert whole records as they are (one commit; none when nothing changed), each
        checked like any write first: a bad one raises InvalidInput and nothing is written."""
        batch = check_collection(records, "records")
        return jsonl.upsert(self, [check_record(r) for r in batch], check_text(message, "message"))


def _table(kind: str) -> sa.Table:
    if kind not in TABLES:
        raise NotFound("record kind", kind, hint="issue or cv_entry")
    return TABLES[kind]
