"""What operational cleanup deletes, found without holding the write lock.

Every row to delete is found by a read (a read connection, which never blocks a
writer) and then deleted by its primary key in short write transactions of at
most ``size`` keys. Finding the rows inside the write transaction, as cleanup
first did, scanned the whole heartbeat log by time while every writer waited
(the log is keyed by ``(agent, timestamp)``, so a condition on the time alone
reads every row): 600,000 rows at the design's load.

Heartbeats are read one agent at a time, a range of the key each: the agents are
found by seeking to the next one (``agent > ?``, one row), the expired beats of
an agent are ``agent = ? AND timestamp < cutoff``. Operational state is small (a
row per live record) and keyed by id; its deletes repeat the expiry condition,
so a record updated between the read and the delete stays.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa

from doltplane.planes.ops_records import heartbeats, operational_state
from doltplane.planes.ops_types import from_db_time, to_db_time
from doltplane.store.base import Engine


def beating_agents(engine: Engine) -> list[str]:
    """Every agent with a beat in the log, in key order: one seek per agent."""
    agents: list[str] = []
    column = heartbeats.c.agent
    with engine.read() as conn:
        while True:
            query = sa.select(column).order_by(column).limit(1)
            if agents:
                query = query.where(column > agents[-1])
            row = conn.execute(query).first()
            if row is None:
                return agents
            agents.append(str(row[0]))


def count_expired(engine: Engine, agents: list[str], cutoff: dt.datetime) -> tuple[int, int]:
    """How many state rows and beats are older than ``cutoff``."""
    stamp = to_db_time(cutoff)
    state = sa.select(sa.func.count()).where(operational_state.c.updated_at < stamp)
    beats = sa.select(sa.func.count()).where(
        heartbeats.c.agent == sa.bindparam("agent"), heartbeats.c.timestamp < stamp
    )
    with engine.read() as conn:
        rows = int(conn.execute(state).scalar_one())
        beat_count = sum(int(conn.execute(beats, {"agent": a}).scalar_one()) for a in agents)
    return rows, beat_count


def delete_expired_state(engine: Engine, cutoff: dt.datetime, size: int) -> int:
    """Delete the state rows last written before ``cutoff``, ``size`` per transaction."""
    stamp = to_db_time(cutoff)
    column = operational_state.c.updated_at
    deleted = 0
    previous: list[str] = []
    while True:
        with engine.read() as conn:
            query = sa.select(operational_state.c.id).where(column < stamp).limit(size)
            ids = [str(row[0]) for row in conn.execute(query)]
        if not ids or ids == previous:  # nothing left (a batch never comes back twice)
            return deleted
        engine.write(functools.partial(_delete_state, ids=ids, stamp=stamp))
        deleted += len(ids)  # at most: a record written anew in between stays
        previous = ids
        if len(ids) < size:
            return deleted


def expired_beats(engine: Engine, agents: list[str], cutoff: dt.datetime) -> Iterator[list[Any]]:
    """Keys ``(agent, timestamp)`` of the beats older than ``cutoff``, agent by agent."""
    query = (
        sa.select(heartbeats.c.agent, heartbeats.c.timestamp)
        .where(heartbeats.c.agent == sa.bindparam("agent"))
        .where(heartbeats.c.timestamp < to_db_time(cutoff))
    )
    for agent in agents:
        with engine.read() as conn:
            keys = [tuple(row) for row in conn.execute(query, {"agent": agent})]
        if keys:
            yield keys


def thinned_beats(
    engine: Engine, agents: list[str], start: dt.datetime, end: dt.datetime, interval: float
) -> Iterator[list[Any]]:
    """Keys of the beats thinning removes from ``[start, end)``: all but the newest of each
    agent in each ``interval`` seconds (aligned to the epoch), agent by agent."""
    query = (
        sa.select(heartbeats.c.agent, heartbeats.c.timestamp)
        .where(heartbeats.c.agent == sa.bindparam("agent"))
        .where(heartbeats.c.timestamp >= to_db_time(start))
        .where(heartbeats.c.timestamp < to_db_time(end))
        .order_by(heartbeats.c.timestamp.desc())
    )
    for agent in agents:
        with engine.read() as conn:
            rows = list(conn.execute(query, {"agent": agent}))
        seen: set[int] = set()
        doomed = []
        for name, stamp in rows:
            bucket = int(from_db_time(stamp).timestamp() // interval)
            if bucket in seen:
                doomed.append((name, stamp))
            else:
                seen.add(bucket)
        if doomed:
            yield doomed


def delete_beats(engine: Engine, groups: Iterable[list[Any]], size: int) -> Iterator[int]:
    """Delete the beats of ``groups`` by key, ``size`` keys per write transaction; yields
    how many each transaction deleted (for progress)."""
    pending: list[Any] = []
    for keys in groups:
        pending.extend(keys)
        whole = len(pending) - len(pending) % size
        for start in range(0, whole, size):
            yield _delete_beats_now(engine, pending[start : start + size])
        del pending[:whole]
    if pending:
        yield _delete_beats_now(engine, pending)


def _delete_beats_now(engine: Engine, keys: list[Any]) -> int:
    engine.write(functools.partial(_delete_beats, keys=keys))
    return len(keys)


def _delete_beats(conn: sa.Connection, *, keys: list[Any]) -> None:
    statement = sa.delete(heartbeats).where(
        heartbeats.c.agent == sa.bindparam("k_agent"),
        heartbeats.c.timestamp == sa.bindparam("k_timestamp"),
    )
    conn.execute(statement, [{"k_agent": a, "k_timestamp": t} for a, t in keys])


def _delete_state(conn: sa.Connection, *, ids: list[str], stamp: dt.datetime) -> None:
    statement = sa.delete(operational_state).where(
        operational_state.c.id == sa.bindparam("k_id"),
        operational_state.c.updated_at < stamp,  # still expired: not written in between
    )
    conn.execute(statement, [{"k_id": key} for key in ids])
