"""Operational plane records and reads, shared by the live plane and its AS OF views."""

from __future__ import annotations

import builtins
import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa

from doltplane.cache import ReadCache
from doltplane.errors import NotFound
from doltplane.planes.compiled import compile_in, padded
from doltplane.planes.ops_queries import LIST_FILTERS, compiled_read, list_key, list_query
from doltplane.planes.ops_types import (
    AgentHealth,
    AgentState,
    Heartbeat,
    StateVersion,
    from_db_time,
    health,
    to_db_time,
)
from doltplane.store.base import Engine
from doltplane.validation import (
    check_id,
    check_ids,
    check_limit,
    check_number,
    check_optional_datetime,
)

__all__ = [
    "HEARTBEAT_TABLE",
    "AgentHealth",
    "AgentState",
    "Heartbeat",
    "StateReader",
    "StateVersion",
    "from_db_time",
    "heartbeats",
    "metadata",
    "operational_state",
    "to_db_time",
]

metadata = sa.MetaData()

operational_state = sa.Table(
    "operational_state",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("rig", sa.String(255), nullable=False),
    sa.Column("agent", sa.String(255), nullable=False),
    sa.Column("status", sa.String(64), nullable=False),
    sa.Column("state", sa.JSON(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
)

HEARTBEAT_TABLE = "heartbeat_log"
"""Listed in ``dolt_ignore``: never committed, so beats cost no history (see heartbeats)."""

heartbeats = sa.Table(
    HEARTBEAT_TABLE,
    metadata,
    # keyed by (agent, time): each agent's beats in time order, 92 bytes a beat (ops_0003)
    sa.Column("agent", sa.String(255), primary_key=True),
    sa.Column("timestamp", sa.DateTime(), primary_key=True),
    sa.Column("status", sa.JSON(), nullable=False),
    sa.Column("cycle_number", sa.Integer(), nullable=True),
)


_BY_ID = sa.select(operational_state).where(operational_state.c.id == sa.bindparam("id"))
_BY_IDS = sa.select(operational_state).where(
    operational_state.c.id.in_(sa.bindparam("ids", expanding=True))
)


def list_statement(
    *, rig: bool, agent: bool, status: bool, since: bool, limit: bool
) -> sa.Select[Any]:
    """``list()`` with the filters named true, each a bind parameter of its column's name
    (``since``, ``limit`` for the others)."""
    table = operational_state
    query = sa.select(table).order_by(table.c.updated_at.desc(), table.c.id)
    for column, wanted in (("rig", rig), ("agent", agent), ("status", status)):
        if wanted:
            query = query.where(table.c[column] == sa.bindparam(column))
    if since:
        query = query.where(table.c.updated_at >= sa.bindparam("since"))
    if limit:
        query = query.limit(sa.bindparam("limit"))
    return query


def agents_statement(log: sa.Table | sa.Subquery) -> sa.Select[Any]:
    """Each agent's newest beat in ``log``."""
    latest = (
        sa.select(log.c.agent, sa.func.max(log.c.timestamp).label("last"))
        .group_by(log.c.agent)
        .subquery()
    )
    return (
        sa.select(log)
        .join(
            latest,
            sa.and_(log.c.agent == latest.c.agent, log.c.timestamp == latest.c["last"]),
        )
        .order_by(log.c.agent)
    )


def fast_statements() -> dict[str, sa.Select[Any]]:
    """The reads the cold CLI runs without SQLAlchemy, by their key in ``ops_sql.py``."""
    statements: dict[str, sa.Select[Any]] = {
        "get": _BY_ID,
        "agents": agents_statement(heartbeats),
    }
    for flags in itertools.product((False, True), repeat=len(LIST_FILTERS)):
        chosen = dict(zip(LIST_FILTERS, flags, strict=True))
        statements[list_key(chosen)] = list_statement(**chosen)
    return statements


class StateReader:
    """Queries over the operational tables at one point: live, or a past commit."""

    def __init__(
        self,
        engine: Engine,
        revision: str | None,
        *,
        stale_after: float,
        moment: dt.datetime | None = None,
        cache: ReadCache | None = None,
    ) -> None:
        self._engine = engine
        # live reads go through the cache only when the settings turn live caching on
        usable = cache is not None and cache.enabled and (revision is not None or cache.live)
        self._cache = cache if usable else None
        self.revision = revision
        """The commit this reader sees, or None for the live state."""
        self.moment = moment
        """The time this reader stands for (None: now). Heartbeats are never committed:
        a past view answers them from the live log, by their own timestamps."""
        self.stale_after = stale_after
        """Default seconds without a heartbeat before an agent counts as stale."""

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Rows of a compiled read at this reader's revision, through the L1 cache if any."""
        revision, engine = self.revision, self._engine
        if self._cache is None:
            return engine.fetch_rows(sql, params, revision)
        return self._cache.rows(
            (sql, tuple(params)), revision, lambda: engine.fetch_rows(sql, params, revision)
        )

    def _read(self) -> AbstractContextManager[sa.Connection]:
        return self._engine.read(self.revision)

    def _beats(self) -> sa.Table | sa.Subquery:
        """The heartbeats this reader can see: all of them live, those up to its moment."""
        if self.moment is None:
            return heartbeats
        return (
            sa.select(heartbeats)
            .where(heartbeats.c.timestamp <= to_db_time(self.moment))
            .subquery(HEARTBEAT_TABLE)
        )

    def get(self, id: str) -> AgentState:
        """One record; NotFound when there is none."""
        check_id(id)
        statement = compiled_read("get")
        rows = self._fetch(statement.sql, (id,))
        row = statement.mappings(rows[:1])[0] if rows else None
        if row is None:
            where = f" at {self.revision}" if self.revision else ""
            raise NotFound("operational state", id, hint=f"no such id{where}")
        return AgentState.from_row(row)

    def get_many(self, ids: Iterable[str]) -> dict[str, AgentState]:
        """Records by id in one query; ids that do not exist are absent from the result."""
        wanted = check_ids(ids)
        if not wanted:
            return {}
        params = padded(wanted)
        statement = compile_in(_BY_IDS, "ids", len(params))
        rows = statement.mappings(self._fetch(statement.sql, params))
        return {row["id"]: AgentState.from_row(row) for row in rows}

    def list(
        self,
        *,
        rig: str | None = None,
        agent: str | None = None,
        status: str | None = None,
        updated_since: dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[AgentState]:
        """Records matching every filter given, most recently updated first."""
        key, params = list_query(
            rig=rig, agent=agent, status=status, updated_since=updated_since, limit=limit
        )
        statement = compiled_read(key)
        rows = self._fetch(statement.sql, statement.params(params))
        return [AgentState.from_row(row) for row in statement.mappings(rows)]

    def heartbeats(self, agent: str, *, limit: int = 100) -> builtins.list[Heartbeat]:
        """An agent's heartbeats, newest first (in a past view: those made by its moment)."""
        check_id(agent, "agent")
        check_limit(limit)
        query = (
            sa.select(heartbeats)
            .where(heartbeats.c.agent == agent)
            .order_by(heartbeats.c.timestamp.desc())
            .limit(limit)
        )
        if self.moment is not None:
            query = query.where(heartbeats.c.timestamp <= to_db_time(self.moment))
        with self._engine.read() as conn:
            return [Heartbeat.from_row(r) for r in conn.execute(query).mappings().all()]

    def agents(
        self, *, stale_after: float | None = None, now: dt.datetime | None = None
    ) -> builtins.list[AgentHealth]:
        """The last heartbeat of every agent, flagged stale when older than ``stale_after`` s."""
        threshold = check_number(
            self.stale_after if stale_after is None else stale_after, "stale_after"
        )
        now = check_optional_datetime(now, "now") or self.moment or dt.datetime.now(dt.UTC)
        query = agents_statement(self._beats())
        with self._engine.read() as conn:
            beats = [Heartbeat.from_row(r) for r in conn.execute(query).mappings().all()]
        return health(beats, threshold, now)
