"""Agent sessions: each agent writes the ledger on its own branch, then merges into main.

A session's branch is created from main on the first write. ``sync()`` merges
main into it (so the agent sees everyone's merged work and its merge never
goes stale); ``merge()`` syncs, merges the branch into main with a merge
commit naming the agent, and deletes the branch. Conflicts come back as a
``MergeResult`` with status CONFLICT and both branches untouched; in those
rows ``ours`` is the agent's version and ``theirs`` is main's.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from doltplane.errors import InvalidBranchName, InvalidInput, NotFound
from doltplane.planes.ledger_records import CvEntry, Issue, LedgerReader
from doltplane.planes.ledger_writes import LedgerWriter
from doltplane.planes.ops_records import to_db_time
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
"""Final rows per table: raw conflict rows, plain mappings, or ledger records."""


def _raw_value(value: Any) -> Any:
    # the engine writes final rows with the driver directly: JSON as text, times as
    # SQLAlchemy's SQLite DATETIME text (naive UTC)
    if isinstance(value, dt.datetime):
        return to_db_time(value).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, Mapping | list):
        return json.dumps(value)
    return value


def raw_resolution(resolution: Resolution | RowsResolution) -> Resolution:
    """A resolution the engine takes: records and mappings become raw column values."""
    if isinstance(resolution, str):
        return resolution
    if not isinstance(resolution, Mapping):
        raise InvalidInput("resolution must be 'ours', 'theirs' or {table: [rows]}")
    out: dict[str, list[dict[str, Any]]] = {}
    for table, rows in resolution.items():
        if table not in ("issues", "cv_entries"):
            raise InvalidInput(f"not a ledger table: {table!r}")
        out[table] = []
        for row in rows:
            if isinstance(row, Issue | CvEntry):
                row = row.to_row()
            if not isinstance(row, Mapping) or "id" not in row:
                raise InvalidInput(f"a final row must be a record or a mapping with an id: {row!r}")
            out[table].append({str(k): _raw_value(v) for k, v in row.items()})
    return out


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

    def _prepare_branch(self) -> None:
        if self.exists():
            return
        try:
            self._engine.create_branch(self.branch, MAIN)
        except InvalidInput:
            if not self.exists():  # lost a race with another process of the same agent
                raise

    # --- keeping in step with main ---------------------------------------------
    def _nothing(self, source: str, target: str) -> MergeResult:
        return MergeResult(MergeStatus.UP_TO_DATE, source, target)

    def sync(self) -> MergeResult:
        """Merge main into the agent's branch; a conflict leaves both as they were."""
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
        """Sync, merge the branch into main (a merge commit naming the agent), delete it."""
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
            self._engine.delete_branch(self.branch)
        return result

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
        main's, or ``{table: [final rows]}``; every non-conflicting row of both sides stays."""
        if not self.exists():
            raise NotFound("agent branch", self.branch, hint="nothing to resolve")
        with self._write_lock:
            synced = self._engine.resolve_merge(
                MAIN,
                raw_resolution(strategy),
                into=self.branch,
                message=f"sync ledger branch of agent {self.name} with main (resolved)",
                author=self._author,
            )
            if synced.status is MergeStatus.CONFLICT:
                return synced
            return self._merge_into_main()
