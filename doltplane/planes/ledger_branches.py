"""Agent branches as a whole: which exist, how far ahead and behind main, which are idle,
which can go, and the records they hold that main does not have yet."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa

from doltplane.errors import EngineError, InvalidRevision, NotFound
from doltplane.planes.ledger_agents import SCRATCH_PREFIX
from doltplane.planes.ledger_records import TABLES, Kind, Record, chunks, record_from_row
from doltplane.store.base import MAIN, Engine
from doltplane.validation import utc


@dataclasses.dataclass(frozen=True)
class AgentBranch:
    """One agent's ledger branch, compared with main."""

    name: str
    head: str
    last_commit_at: dt.datetime
    last_author: str
    last_message: str
    ahead: int
    """Commits on the branch that main does not have (0: merged, or nothing written)."""
    behind: int
    """Commits on main that the branch does not have (sync() brings them in)."""
    dirty: bool
    """Uncommitted changes on the branch (a write whose commit did not happen)."""
    idle_seconds: float
    stale: bool
    """Idle longer than the threshold asked for."""

    @property
    def prunable(self) -> bool:
        """Merged or empty, and nothing uncommitted: deleting it loses nothing."""
        return self.ahead == 0 and not self.dirty


@dataclasses.dataclass(frozen=True)
class PruneResult:
    dry_run: bool
    deleted: tuple[str, ...]
    kept: tuple[str, ...]
    """Branches with unmerged work: listed, never deleted."""


def agent_branches(
    engine: Engine, *, stale_after: float, now: dt.datetime | None = None
) -> list[AgentBranch]:
    """Every agent branch (all branches but main and doltplane's scratch ones)."""
    moment = utc(now or dt.datetime.now(dt.UTC))
    on_main = {c.hash for c in engine.log(MAIN)}
    result = []
    for info in engine.branches():
        if info.name == MAIN or info.name.startswith(SCRATCH_PREFIX):
            continue
        on_branch = {c.hash for c in engine.log(info.hash)}
        idle = (moment - info.last_commit_date).total_seconds()
        try:
            dirty = engine.is_dirty(info.name)
        except NotFound:  # its agent merged it away (or prune deleted it) since the listing
            continue
        result.append(
            AgentBranch(
                name=info.name,
                head=info.hash,
                last_commit_at=info.last_commit_date,
                last_author=info.last_author,
                last_message=info.last_commit_message,
                ahead=len(on_branch - on_main),
                behind=len(on_main - on_branch),
                dirty=dirty,
                idle_seconds=idle,
                stale=idle >= stale_after,
            )
        )
    return result


def prune(engine: Engine, *, dry_run: bool = False) -> PruneResult:
    """Delete merged or empty agent branches; branches with unmerged work are kept.
    Scratch branches a killed process left behind (conflict previews) go too."""
    leftovers = engine.remove_scratch_leftovers(dry_run=dry_run)
    branches = agent_branches(engine, stale_after=0)
    doomed = [b.name for b in branches if b.prunable]
    kept = tuple(b.name for b in branches if not b.prunable)
    if dry_run:
        return PruneResult(dry_run, (*doomed, *leftovers), kept)
    deleted: list[str] = []
    for name in doomed:
        try:
            engine.delete_branch(name)  # not forced: Dolt refuses it if work is unmerged
        except (NotFound, InvalidRevision, EngineError):
            # live agents race us: the branch may have merged and gone since we listed it,
            # or taken a new commit (then Dolt refuses the delete and the work stays)
            if not engine.has_branch(name):
                continue
            now = {b.name: b for b in agent_branches(engine, stale_after=0)}.get(name)
            if now is None or now.prunable:
                raise
            kept = (*kept, name)
            continue
        deleted.append(name)
    return PruneResult(dry_run, (*deleted, *leftovers), kept)


Narrow = Callable[[sa.Select[tuple[object, ...]]], sa.Select[tuple[object, ...]]]


def unmerged_records(engine: Engine, kind: Kind, narrow: Narrow) -> list[Record]:
    """Records that agent branches added or changed since they last met main, each with
    ``branch`` set; ``narrow`` applies the caller's filters to the query."""
    table = TABLES[kind]
    found: list[Record] = []
    main_head = engine.resolve_revision(MAIN)
    for info in engine.branches():
        if info.name == MAIN or info.name.startswith(SCRATCH_PREFIX):
            continue
        base = engine.merge_base(main_head, info.hash)
        if base == info.hash:
            continue  # everything on the branch is already on main
        changed = [
            str(c.key["id"])
            for c in engine.diff(table.name, base, info.hash)
            if c.diff_type != "removed"
        ]
        if not changed:
            continue
        with engine.read(info.hash) as conn:
            for part in chunks(changed):
                query = narrow(sa.select(table).where(table.c.id.in_(part)))
                for row in conn.execute(query).mappings():
                    found.append(record_from_row(kind, row, info.name))
    return found
