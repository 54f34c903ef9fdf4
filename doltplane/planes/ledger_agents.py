"""Agent sessions: each agent writes the ledger on its own branch, then merges into main.

A session's branch is created from main by the first write that changes
something (a write that fails or changes nothing leaves no branch).
``sync()`` merges main into it (so the agent sees everyone's merged work and
its merge never goes stale); ``merge()`` syncs, merges the branch into main
with a merge commit naming the agent, and deletes the branch. Conflicts come
back as a ``MergeResult`` with status CONFLICT and both branches untouched.

Sides, defined once for every agent merge: **ours is the agent's branch,
theirs is main**, and a conflicting result reads as the sync that meets it
(source main, target the agent's branch). That holds even when main moves
between the sync and the merge into main: the conflict the second merge then
meets is reported with its sides swapped back.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from doltplane.errors import (
    DoltplaneError,
    InvalidBranchName,
    InvalidInput,
    InvalidRevision,
    NotFound,
)
from doltplane.planes.ledger_records import KINDS, TABLES, CvEntry, Issue, Kind, LedgerReader
from doltplane.planes.ledger_writes import LedgerWriter, whole_record
from doltplane.store.base import MAIN, ConflictRow, Engine, MergeResult, MergeStatus, Resolution
from doltplane.store.scratch import PREVIEW_PREFIX, scratch_branch_name
from doltplane.validation import check_branch_name

SCRATCH_PREFIX = PREVIEW_PREFIX
"""Short-lived branches doltplane makes itself (conflict previews); never an agent's."""

_AUTHOR_UNSAFE = re.compile(r"[<>@,\"']")


def check_agent_name(name: object) -> str:
    """An agent name usable as a branch name and inside a commit author."""
    branch = check_branch_name(name)
    if branch == MAIN or branch.startswith(SCRATCH_PREFIX):
        raise InvalidBranchName(branch, "reserved for doltplane")
    if _AUTHOR_UNSAFE.search(branch):
        raise InvalidBranchName(branch, "contains one of < > @ , \" '")
    return branch


RowsResolution = Mapping[str, Sequence[Mapping[str, Any] | Issue | CvEntry]]
"""Final rows per table: a conflict's ``ours``/``theirs`` rows (edited or not), plain
mappings of column values, or ledger records."""

_KIND_OF_TABLE: dict[str, Kind] = {TABLES[kind].name: kind for kind in KINDS}


def final_rows(resolution: Resolution | RowsResolution) -> Resolution:
    """A resolution the engine takes: every final row checked as a whole record, exactly as
    a write of it would be, and handed on as column values (bound by the column types)."""
    if isinstance(resolution, str):
        if resolution not in ("ours", "theirs"):
            raise InvalidInput(f"resolution must be 'ours', 'theirs' or rows, got {resolution!r}")
        return resolution
    if not isinstance(resolution, Mapping):
        raise InvalidInput("resolution must be 'ours', 'theirs' or {table: [rows]}")
    out: dict[str, list[dict[str, Any]]] = {}
    for table, rows in resolution.items():
        kind = _KIND_OF_TABLE.get(table) if isinstance(table, str) else None
        if kind is None:
            raise InvalidInput(f"not a ledger table: {table!r}", hint="issues or cv_entries")
        if isinstance(rows, str | bytes | Mapping) or not isinstance(rows, Sequence):
            raise InvalidInput(f"final rows for {table} must be a list, got {rows!r}")
        out[table] = []
        for row in rows:
            try:
                out[table].append(whole_record(kind, row).to_row())
            except InvalidInput as exc:
                key = row.get("id") if isinstance(row, Mapping) else getattr(row, "id", None)
                exc.args = (f"final row for {table} {key!r}: {exc.message}",)
                raise exc from None
    return out


def _agent_sides(result: MergeResult, branch: str) -> MergeResult:
    """A conflict met merging ``branch`` into main, told as the sync that meets it would
    tell it: ours = the agent's branch, theirs = main."""
    if result.ok or result.target != MAIN:
        return result
    swapped = tuple(
        dataclasses.replace(row, ours=row.theirs, theirs=row.ours) for row in result.conflicts
    )
    return MergeResult(MergeStatus.CONFLICT, MAIN, branch, None, swapped)


def agent_author(name: str) -> str:
    """The Dolt commit author of an agent: ``<name> <<name>@doltplane>``."""
    return f"{name} <{name}@doltplane>"


class AgentSession(LedgerReader, LedgerWriter):
    """``dp.agent(name)``: ledger reads and writes on the agent's own branch."""

    def __init__(self, engine: Engine, name: str, lock: threading.Lock) -> None:
        self.name = check_agent_name(name)
        self.branch = self.name
        LedgerReader.__init__(self, engine, None)
        LedgerWriter.__init__(
            self,
            engine,
            branch=self.branch,
            author=agent_author(self.name),
            actor=self.name,
            lock=lock,
        )

    def __repr__(self) -> str:
        return f"<AgentSession {self.name}>"

    # --- where reads and writes go ------------------------------------------
    def exists(self) -> bool:
        """Whether the agent's branch exists (it does from the first write until merged)."""
        return self._engine.has_branch(self.branch)

    def _read_revision(self) -> str | None:
        return self.branch if self.exists() else None

    def _prepare_branch(self) -> str | None:
        if self.exists():
            return None
        start = self._engine.resolve_revision(MAIN)
        try:
            self._engine.create_branch(self.branch, start)
        except InvalidInput:
            if not self.exists():  # lost a race with another process of the same agent
                raise
            return None
        return start

    def _discard_branch(self, start: str) -> None:
        # only a branch this write made, still at its start with nothing uncommitted; the
        # delete is not forced, so work another process committed meanwhile is never lost
        try:
            if self._engine.resolve_revision(self.branch) == start and not self._engine.is_dirty(
                self.branch
            ):
                self._engine.delete_branch(self.branch)
        except DoltplaneError:
            pass  # the write's own outcome matters more than this tidy-up

    # --- keeping in step with main ---------------------------------------------
    def _nothing(self, source: str, target: str) -> MergeResult:
        return MergeResult(MergeStatus.UP_TO_DATE, source, target)

    def sync(self) -> MergeResult:
        """Merge main into the agent's branch; a conflict leaves both as they were
        (ours = the agent's branch, theirs = main)."""
        if not self.exists():
            return self._nothing(MAIN, self.branch)
        return self._engine.merge(
            MAIN,
            into=self.branch,
            message=f"sync ledger branch of agent {self.name} with main",
            author=self._author,
            no_ff=False,
        )

    def merge(self) -> MergeResult:
        """Sync, merge the branch into main (a merge commit naming the agent), delete it.
        A conflict comes back as data, both branches untouched, with ours = the agent's
        branch and theirs = main, even if main moved after the sync."""
        if not self.exists():
            return self._nothing(self.branch, MAIN)
        with self._write_lock:
            synced = self.sync()
            if synced.status is MergeStatus.CONFLICT:
                return synced
            return self._merge_into_main()

    def _merge_into_main(self) -> MergeResult:
        result = self._engine.merge(
            self.branch,
            into=MAIN,
            message=f"merge ledger work of agent {self.name}",
            author=self._author,
        )
        if result.ok:
            try:
                self._engine.delete_branch(self.branch)
            except (NotFound, InvalidRevision):
                # `ledger prune` saw the branch merged and deleted it first: gone either way
                if self.exists():
                    raise
        return _agent_sides(result, self.branch)

    def conflicts(self) -> list[ConflictRow]:
        """What ``merge()`` would meet, found on a scratch copy: nothing real changes."""
        if not self.exists():
            return []
        scratch = scratch_branch_name(SCRATCH_PREFIX)  # names its owner: see store.scratch
        self._engine.create_branch(scratch, self.branch)
        try:
            preview = self._engine.merge(MAIN, into=scratch, author=self._author)
        finally:
            self._engine.delete_branch(scratch, force=True)
        return list(preview.conflicts)

    def resolve(self, strategy: Resolution | RowsResolution) -> MergeResult:
        """Finish a conflicting ``merge()``: ``"ours"`` keeps the agent's rows, ``"theirs"``
        main's, or ``{table: [final rows]}`` for exactly the conflicting keys, each checked
        like any write; every non-conflicting row of both sides stays. A refused
        resolution writes nothing."""
        resolution = final_rows(strategy)
        if not self.exists():
            raise NotFound("agent branch", self.branch, hint="nothing to resolve")
        with self._write_lock:
            synced = self._engine.resolve_merge(
                MAIN,
                resolution,
                into=self.branch,
                message=f"sync ledger branch of agent {self.name} with main (resolved)",
                author=self._author,
            )
            if synced.status is MergeStatus.CONFLICT:
                return synced
            return self._merge_into_main()
