"""Operational plane records and reads, shared by the live plane and its AS OF views."""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import json
import secrets
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa

from doltplane.errors import NotFound
from doltplane.planes.compiled import compile_in, compile_statement, padded
from doltplane.store.base import Engine
from doltplane.validation import (
    check_id,
    check_ids,
    check_limit,
    check_number,
    check_optional_datetime,
    check_optional_id,
    utc,
)

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
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("agent", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.DateTime(), nullable=False),
    sa.Column("status", sa.JSON(), nullable=False),
    sa.Column("cycle_number", sa.Integer(), nullable=True),
)


_BY_ID = sa.select(operational_state).where(operational_state.c.id == sa.bindparam("id"))
_BY_IDS = sa.select(operational_state).where(
    operational_state.c.id.in_(sa.bindparam("ids", expanding=True))
)
_GET = compile_statement(_BY_ID)


def to_db_time(moment: dt.datetime) -> dt.datetime:
    """Stored times are naive UTC (portable across SQLite and MySQL DATETIME)."""
    return utc(moment).replace(tzinfo=None)


def from_db_time(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return utc(value)


def heartbeat_id(moment: dt.datetime) -> str:
    """A key that sorts by time: 14 hex digits of microseconds since 1970, 10 random.

    Each beat's insert then lands at the end of the table's tree instead of
    on a random leaf (random uuid4 keys dirtied a leaf per row)."""
    micros = int(utc(moment).timestamp() * 1_000_000)
    return f"{max(micros, 0):014x}{secrets.token_hex(5)}"


def _json(value: Any) -> dict[str, Any]:
    return dict(json.loads(value)) if isinstance(value, str | bytes) else dict(value or {})


@dataclasses.dataclass(frozen=True)
class AgentState:
    """One row of ``operational_state``."""

    id: str
    rig: str
    agent: str
    status: str
    state: dict[str, Any]
    version: int
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> AgentState:
        return cls(
            id=row["id"],
            rig=row["rig"],
            agent=row["agent"],
            status=row["status"],
            state=_json(row["state"]),
            version=int(row["version"]),
            updated_at=from_db_time(row["updated_at"]),
        )


@dataclasses.dataclass(frozen=True)
class StateVersion:
    """An ``operational_state`` row as one snapshot commit recorded it."""

    commit: str
    committed_at: dt.datetime
    record: AgentState


@dataclasses.dataclass(frozen=True)
class Heartbeat:
    agent: str
    timestamp: dt.datetime
    status: dict[str, Any]
    cycle_number: int | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Heartbeat:
        return cls(
            agent=row["agent"],
            timestamp=from_db_time(row["timestamp"]),
            status=_json(row["status"]),
            cycle_number=row["cycle_number"],
        )


@dataclasses.dataclass(frozen=True)
class AgentHealth:
    """An agent's last heartbeat, and whether it is older than the stale threshold."""

    agent: str
    last_seen: dt.datetime
    age_seconds: float
    stale: bool
    cycle_number: int | None
    status: dict[str, Any]


class StateReader:
    """Queries over the operational tables at one point: live, or a past commit."""

    def __init__(
        self,
        engine: Engine,
        revision: str | None,
        *,
        stale_after: float,
        moment: dt.datetime | None = None,
    ) -> None:
        self._engine = engine
        self.revision = revision
        """The commit this reader sees, or None for the live state."""
        self.moment = moment
        """The time this reader stands for (None: now). Heartbeats are never committed:
        a past view answers them from the live log, by their own timestamps."""
        self.stale_after = stale_after
        """Default seconds without a heartbeat before an agent counts as stale."""

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
        rows = self._engine.fetch_rows(_GET.sql, (id,), self.revision)
        row = _GET.mappings(rows[:1])[0] if rows else None
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
        rows = statement.mappings(self._engine.fetch_rows(statement.sql, params, self.revision))
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
        filters = {
            "rig": check_optional_id(rig, "rig"),
            "agent": check_optional_id(agent, "agent"),
            "status": check_optional_id(status, "status"),
        }
        updated_since = check_optional_datetime(updated_since, "updated_since")
        check_limit(limit)
        table = operational_state
        query = sa.select(table).order_by(table.c.updated_at.desc(), table.c.id)
        for column, value in filters.items():
            if value is not None:
                query = query.where(table.c[column] == value)
        if updated_since is not None:
            query = query.where(table.c.updated_at >= to_db_time(updated_since))
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [AgentState.from_row(r) for r in conn.execute(query).mappings().all()]

    def heartbeats(self, agent: str, *, limit: int = 100) -> builtins.list[Heartbeat]:
        """An agent's heartbeats, newest first (in a past view: those made by its moment)."""
        check_id(agent, "agent")
        check_limit(limit)
        query = (
            sa.select(heartbeats)
            .where(heartbeats.c.agent == agent)
            .order_by(heartbeats.c.timestamp.desc(), heartbeats.c.id.desc())
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
        log = self._beats()
        latest = (
            sa.select(log.c.agent, sa.func.max(log.c.timestamp).label("last"))
            .group_by(log.c.agent)
            .subquery()
        )
        query = (
            sa.select(log)
            .join(
                latest,
                sa.and_(log.c.agent == latest.c.agent, log.c.timestamp == latest.c["last"]),
            )
            .order_by(log.c.agent)
        )
        with self._engine.read() as conn:
            beats = [Heartbeat.from_row(r) for r in conn.execute(query).mappings().all()]
        result: dict[str, AgentHealth] = {}
        for beat in beats:
            age = (now - beat.timestamp).total_seconds()
            result[beat.agent] = AgentHealth(
                beat.agent, beat.timestamp, age, age > threshold, beat.cycle_number, beat.status
            )
        return list(result.values())
