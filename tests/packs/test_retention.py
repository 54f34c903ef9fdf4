"""Pack retention deletes exactly the expired rows of each rule, and nothing else."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from doltplane import DataPlane
from doltplane.packs import registry

NOW = dt.datetime(2026, 6, 1, 12, 0, 0)
TINY = dt.timedelta(microseconds=1)


def _insert(dp: DataPlane, table: str, rows: list[dict[str, Any]]) -> None:
    target = registry.get("workflow").metadata.tables[table]

    def run(conn: sa.Connection) -> None:
        conn.execute(target.insert(), rows)

    dp.engine("ops").write(run)


def _ids(dp: DataPlane, table: str) -> set[str]:
    return {r["id"] for r in dp.table(table).list()}


def _instance(id: str, status: str, completed: dt.datetime | None) -> dict[str, Any]:
    return {
        "id": id,
        "definition_id": "d1",
        "status": status,
        "completed_at": completed,
        "created_at": NOW - dt.timedelta(days=400),
        "updated_at": NOW - dt.timedelta(days=400),
    }


def test_cleanup_deletes_exactly_the_expired_rows(packs: DataPlane) -> None:
    old = NOW - dt.timedelta(days=1000)
    packs.table("workflow_definitions").put(
        {"id": "d1", "name": "n", "version": 1, "definition_json": {}, "created_at": old}
    )
    history_cutoff = NOW - dt.timedelta(days=90)
    _insert(
        packs,
        "execution_history",
        [
            {
                "id": f"h{n}",
                "workflow_instance_id": "i",
                "event_type": "workflow_started",
                "created_at": t,
            }
            for n, t in enumerate(
                [history_cutoff - TINY, history_cutoff, history_cutoff + TINY, old, NOW]
            )
        ],
    )
    finished = NOW - dt.timedelta(days=30)
    _insert(
        packs,
        "workflow_instances",
        [
            _instance("done-old", "completed", finished - TINY),
            _instance("failed-old", "failed", finished - dt.timedelta(days=5)),
            _instance("cancelled-old", "cancelled", old),
            _instance("paused-old", "paused", old),  # an old time, but not a finished state
            _instance("running", "running", None),
            _instance("done-edge", "completed", finished),
            _instance("done-new", "completed", NOW),
        ],
    )
    year = NOW - dt.timedelta(days=365)
    _insert(
        packs,
        "performance_metrics",
        [
            {
                "id": f"m{n}",
                "definition_id": "d1",
                "period": "daily",
                "period_start": t,
                "created_at": NOW,
            }
            for n, t in enumerate([year - TINY, year, NOW])
        ],
    )
    ledger_before = packs.engine("ledger").commit_count()

    dry = {(r.pack, r.table): r.deleted for r in packs.packs.cleanup(now=NOW, dry_run=True)}
    assert dry == {
        ("workflow", "execution_history"): 2,
        ("workflow", "workflow_instances"): 3,
        ("workflow", "performance_metrics"): 1,
    }
    assert len(_ids(packs, "execution_history")) == 5  # a dry run deletes nothing

    done = {(r.pack, r.table): r.deleted for r in packs.packs.cleanup(now=NOW)}
    assert done == dry
    assert _ids(packs, "execution_history") == {"h1", "h2", "h4"}
    assert _ids(packs, "workflow_instances") == {"paused-old", "running", "done-edge", "done-new"}
    assert _ids(packs, "performance_metrics") == {"m1", "m2"}
    assert _ids(packs, "workflow_definitions") == {"d1"}  # no rule: untouched however old
    assert packs.engine("ledger").commit_count() == ledger_before
    again = packs.packs.cleanup(now=NOW)
    assert all(r.deleted == 0 for r in again)


def test_cleanup_commits_the_deletions(packs: DataPlane) -> None:
    _insert(
        packs,
        "execution_history",
        [
            {
                "id": "h",
                "workflow_instance_id": "i",
                "event_type": "workflow_started",
                "created_at": NOW - dt.timedelta(days=100),
            }
        ],
    )
    packs.ops.checkpoint()
    engine = packs.engine("ops")
    before = engine.commit_count()
    packs.packs.cleanup(now=NOW)
    assert engine.commit_count() == before + 1
    assert "retention on execution_history deleted 1" in engine.log(limit=1)[0].message
