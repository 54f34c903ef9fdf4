"""The workflow pack's views answer from live rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from doltplane import DataPlane
from doltplane.errors import NotFound
from doltplane.packs import registry


def _instances(dp: DataPlane, rows: list[dict[str, Any]], now: dt.datetime) -> None:
    table = registry.get("workflow").metadata.tables["workflow_instances"]
    stamped = [{"created_at": now, "updated_at": now, "completed_at": None, **r} for r in rows]

    def run(conn: sa.Connection) -> None:
        conn.execute(table.insert(), stamped)

    dp.engine("ops").write(run)


def test_long_running_and_failing_views(packs: DataPlane) -> None:
    # taken when the test runs: the views compare with the server's clock, so a time taken
    # at import drifted past the tolerance in a long suite
    NOW = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for id in ("flaky", "solid", "old"):
        packs.table("workflow_definitions").put(
            {"id": id, "name": id, "version": 1, "definition_json": {}}
        )
    hour = dt.timedelta(hours=1)
    minute = dt.timedelta(minutes=1)
    _instances(
        packs,
        [
            {
                "id": "slow",
                "definition_id": "solid",
                "status": "running",
                "started_at": NOW - 3 * hour,
            },
            {
                "id": "quick",
                "definition_id": "solid",
                "status": "running",
                "started_at": NOW - minute,
            },
            {
                "id": "f1",
                "definition_id": "flaky",
                "status": "failed",
                "started_at": NOW - 2 * hour,
                "completed_at": NOW - 2 * hour + 10 * minute,
            },
            {
                "id": "f2",
                "definition_id": "flaky",
                "status": "failed",
                "started_at": NOW - 2 * hour,
                "completed_at": NOW - 2 * hour + 20 * minute,
            },
            {
                "id": "f3",
                "definition_id": "flaky",
                "status": "completed",
                "started_at": NOW - 2 * hour,
                "completed_at": NOW - 2 * hour + 30 * minute,
            },
            {
                "id": "s1",
                "definition_id": "solid",
                "status": "completed",
                "started_at": NOW - 2 * hour,
                "completed_at": NOW - hour,
            },
            {
                "id": "o1",
                "definition_id": "old",
                "status": "failed",
                "started_at": NOW - 50 * hour,
                "completed_at": NOW - 49 * hour,
            },
        ],
        NOW,
    )
    long_running = packs.packs.view("long_running_workflows")
    assert [r["id"] for r in long_running] == ["slow"]
    assert 3 * 3600 - 120 < float(long_running[0]["running_seconds"]) < 3 * 3600 + 120
    (failing,) = packs.packs.view("failing_workflow_definitions")
    assert failing["definition_id"] == "flaky"
    assert (int(failing["total"]), int(failing["successes"]), int(failing["failures"])) == (3, 1, 2)
    assert float(failing["avg_duration_seconds"]) == pytest.approx(20 * 60, abs=1)
    with pytest.raises(NotFound):
        packs.packs.view("no_such_view")
