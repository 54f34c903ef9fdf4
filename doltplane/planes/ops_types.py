"""Operational plane records and their decoding, without SQLAlchemy.

The cold CLI read (``doltplane ops get``) decodes rows with these and nothing
heavier, so this module imports only the standard library and doltplane's own
light modules.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from doltplane.validation import utc


def to_db_time(moment: dt.datetime) -> dt.datetime:
    """Stored times are naive UTC (portable across SQLite and MySQL DATETIME)."""
    return utc(moment).replace(tzinfo=None)


def from_db_time(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return utc(value)


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


def health(beats: list[Heartbeat], threshold: float, now: dt.datetime) -> list[AgentHealth]:
    """Each agent's last beat (one per agent, in the order given), flagged stale past
    ``threshold`` seconds."""
    result: dict[str, AgentHealth] = {}
    for beat in beats:
        age = (now - beat.timestamp).total_seconds()
        result[beat.agent] = AgentHealth(
            beat.agent, beat.timestamp, age, age > threshold, beat.cycle_number, beat.status
        )
    return list(result.values())
