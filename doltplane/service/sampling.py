"""What the service learns by looking at the stores on a timer: sizes, commits, rows and
writes made by any process (agents, CLI calls, other services' clients), and the latency of
a few probe reads per plane.

Sampling rather than counting in each client: writers in other processes need no shared
directory or hook, and a crashed writer cannot leave a counter file behind.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from doltplane.errors import DatabaseBusy
from doltplane.store import PLANES

if TYPE_CHECKING:
    from doltplane.client import DataPlane
    from doltplane.service.metrics import ServiceMetrics

PROBE_LIMIT = 50


def _user_tables(dp: DataPlane, plane: str) -> list[str]:
    with dp.engine(plane).read() as conn:
        names = sa.inspect(conn).get_table_names()
    return sorted(n for n in names if not n.startswith(("_", "dolt_")))


def _probes(dp: DataPlane) -> dict[tuple[str, str], Callable[[], Any]]:
    """Reads an agent makes all day, one of each kind per plane."""
    return {
        ("ops", "get"): lambda: dp.ops.get_many(["doltplane-service-probe"]),
        ("ops", "list"): lambda: dp.ops.list(limit=PROBE_LIMIT),
        ("ops", "as_of"): lambda: dp.ops.as_of("HEAD").list(limit=PROBE_LIMIT),
        ("ledger", "issues"): lambda: dp.ledger.issues(limit=PROBE_LIMIT),
        ("ledger", "log"): lambda: dp.ledger.log(limit=PROBE_LIMIT),
    }


def _parse_date(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str) and value:
        moment = dt.datetime.fromisoformat(value)
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class StoreSampler:
    """Keeps the last sample of each counter, so new commits and writes become increments."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        self.metrics = metrics
        self._last: dict[str, int] = {}

    def _increase(self, key: str, value: int) -> int:
        """How much ``value`` grew since the last sample (0 the first time, or after a drop:
        cleanup deletes rows and squashes commits)."""
        before = self._last.get(key)
        self._last[key] = value
        return max(0, value - before) if before is not None else 0

    def sample(self, dp: DataPlane, now: float) -> dict[str, Any]:
        """One round: probes, then the stores; a summary for the log line."""
        summary: dict[str, Any] = {}
        for (plane, operation), probe in _probes(dp).items():
            began = time.perf_counter()
            try:
                probe()
            except DatabaseBusy:
                self.metrics.busy_retries.labels(plane).inc()
                continue
            self.metrics.observe_latency(plane, operation, time.perf_counter() - began, now)
        for plane in PLANES:
            summary[plane] = self._sample_plane(dp, plane, now)
        return summary

    def _sample_plane(self, dp: DataPlane, plane: str, now: float) -> dict[str, Any]:
        m = self.metrics
        engine = dp.engine(plane)
        size = engine.size_bytes()
        growth = m.record_storage(plane, size, now)
        commits = engine.commit_count()
        m.commits.labels(plane).inc(self._increase(f"{plane}.commits", commits))
        for table in _user_tables(dp, plane):
            (count,) = engine.fetch_rows(f'SELECT COUNT(*) FROM "{table}"')[0]
            m.live_rows.labels(plane, table).set(int(count))
        oldest = _parse_date(engine.fetch_rows("SELECT MIN(date) FROM dolt_log")[0][0])
        if oldest is not None:
            m.oldest_as_of.labels(plane).set(oldest.timestamp())
        m.writes.labels(plane).inc(self._increase(f"{plane}.writes", _write_mark(dp, plane)))
        return {"bytes": size, "growth_24h": growth, "commits": commits}


def _write_mark(dp: DataPlane, plane: str) -> int:
    """A number that grows by one per write, whoever wrote: on ops, the sum of record
    versions (each state write bumps one) plus the heartbeats; on the ledger, where every
    write is a commit, the commits of every branch."""
    engine = dp.engine(plane)
    if plane == "ops":
        (versions,) = engine.fetch_rows("SELECT COALESCE(SUM(version), 0) FROM operational_state")[
            0
        ]
        (beats,) = engine.fetch_rows("SELECT COUNT(*) FROM heartbeat_log")[0]
        return int(versions) + int(beats)
    return sum(engine.commit_count(b.name) for b in engine.branches())
