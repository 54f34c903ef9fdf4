"""Retention tiers for heartbeats, exact cleanup, and the migration that moved them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from doltplane import DataPlane, connect
from doltplane.config import Settings
from doltplane.migrations import runner
from doltplane.planes.ops_records import heartbeat_id, heartbeats, to_db_time
from doltplane.store import open_engine

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _beats(dp: DataPlane, agent: str, every_minutes: int, hours: int) -> list[dt.datetime]:
    moments = [NOW - dt.timedelta(minutes=m) for m in range(0, hours * 60, every_minutes)]
    rows = [
        {
            "id": heartbeat_id(m),
            "agent": agent,
            "timestamp": to_db_time(m),
            "status": {"m": m.isoformat()},
            "cycle_number": i,
        }
        for i, m in enumerate(moments)
    ]
    dp.engine("ops").write(lambda conn: conn.execute(heartbeats.insert(), rows))
    return moments


def _stored(dp: DataPlane) -> dict[str, list[dt.datetime]]:
    out: dict[str, list[dt.datetime]] = {}
    for agent in ("a", "b"):
        out[agent] = sorted(b.timestamp for b in dp.ops.heartbeats(agent, limit=100_000))
    return out


def _expected(
    moments: list[dt.datetime], window_days: float, full_hours: float
) -> list[dt.datetime]:
    cutoff = NOW - dt.timedelta(days=window_days)
    edge = (NOW - dt.timedelta(hours=full_hours)).timestamp()
    thin_end = edge - edge % 3600
    newest: dict[int, dt.datetime] = {}
    kept = []
    for m in moments:
        if m < cutoff:
            continue
        if m.timestamp() >= thin_end:
            kept.append(m)
        else:
            bucket = int(m.timestamp() // 3600)
            newest[bucket] = max(newest.get(bucket, m), m)
    return sorted(kept + list(newest.values()))


def test_tiers_keep_exactly_what_they_promise(data_dir: Path) -> None:
    with connect(
        data_dir,
        checkpoint_every_writes=0,
        checkpoint_every_seconds=0,
        heartbeat_full_hours=6,
        heartbeat_thin_seconds=3600,
    ) as dp:
        a = _beats(dp, "a", 10, 72)
        b = _beats(dp, "b", 25, 72)
        dp.ops.set_state("s", rig="r", agent="a", status="up", state={})
        dp.ops.checkpoint()
        want = {"a": _expected(a, 2, 6), "b": _expected(b, 2, 6)}
        expired = sum(1 for m in a + b if m < NOW - dt.timedelta(days=2))
        thinned = len(a) + len(b) - expired - len(want["a"]) - len(want["b"])
        assert thinned > 100 and expired > 100
        before = _stored(dp)
        dry = dp.ops.cleanup(retention_days=2, now=NOW, dry_run=True)
        assert (dry.heartbeats_deleted, dry.heartbeats_thinned) == (expired, thinned)
        assert _stored(dp) == before
        result = dp.ops.cleanup(retention_days=2, now=NOW)
        assert (result.heartbeats_deleted, result.heartbeats_thinned) == (expired, thinned)
        assert _stored(dp) == want
        # a second run at the same moment has nothing left to do
        later = dp.ops.cleanup(retention_days=2, now=NOW)
        assert (later.heartbeats_deleted, later.heartbeats_thinned) == (0, 0)
        assert not dp.engine("ops").is_dirty()


def test_thinning_off_keeps_every_beat_in_the_window(data_dir: Path) -> None:
    with connect(
        data_dir, checkpoint_every_writes=0, checkpoint_every_seconds=0, heartbeat_thin_seconds=0
    ) as dp:
        a = _beats(dp, "a", 10, 72)
        result = dp.ops.cleanup(retention_days=2, now=NOW)
        assert result.heartbeats_thinned == 0
        assert _stored(dp)["a"] == sorted(m for m in a if m >= NOW - dt.timedelta(days=2))


def test_cleanup_deletes_exactly_the_expired_rows(dp: DataPlane) -> None:
    cutoff = NOW - dt.timedelta(days=1)
    rows = [
        {
            "id": f"s{i}",
            "rig": "r",
            "agent": "a",
            "status": "up",
            "state": {},
            "version": 1,
            "updated_at": to_db_time(cutoff + dt.timedelta(seconds=s)),
        }
        for i, s in enumerate((-3600, -1, 0, 1, 3600))
    ]
    from doltplane.planes.ops_records import operational_state

    dp.engine("ops").write(lambda conn: conn.execute(operational_state.insert(), rows))
    dp.ops.checkpoint()
    result = dp.ops.cleanup(retention_days=1, now=NOW)
    assert result.state_rows_deleted == 2
    assert sorted(s.id for s in dp.ops.list()) == ["s2", "s3", "s4"]


def test_migration_moves_old_heartbeats(tmp_path: Path) -> None:
    settings = Settings.load({"data_dir": tmp_path / "dp"})
    engine = open_engine(settings, "ops")
    try:
        script = runner.script_directory("ops")
        assert runner._apply(engine, script, "ops_0001")
        engine.commit("migration ops ops_0001")
        old = sa.Table(
            "heartbeats",
            sa.MetaData(),
            sa.Column("id", sa.String(36), primary_key=True),
            sa.Column("agent", sa.String(255)),
            sa.Column("timestamp", sa.DateTime()),
            sa.Column("status", sa.JSON()),
            sa.Column("cycle_number", sa.Integer()),
        )
        rows = [
            {
                "id": f"{i:032x}",
                "agent": f"a{i % 3}",
                "timestamp": to_db_time(NOW - dt.timedelta(minutes=i)),
                "status": {"i": i},
                "cycle_number": i,
            }
            for i in range(30)
        ]
        engine.write(lambda conn: conn.execute(old.insert(), rows))
        old_commit = engine.commit("beats in the versioned table")
    finally:
        engine.close()
    with connect(tmp_path / "dp", checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
        moved = {
            b.cycle_number or 0: b for agent in ("a0", "a1", "a2") for b in dp.ops.heartbeats(agent)
        }
        assert sorted(moved) == list(range(30))
        assert all(moved[i].status == {"i": i} for i in range(30))
        assert not dp.engine("ops").is_dirty()
        with dp.engine("ops").read() as conn:
            ids = conn.execute(
                sa.select(heartbeats.c.id).order_by(heartbeats.c.timestamp)
            ).scalars()
            keys = list(ids)
        assert keys == sorted(keys)
        assert old_commit is not None
        # the old commit still holds the old table; the view answers from the log by time
        assert len(dp.ops.as_of(old_commit).heartbeats("a0")) == 10
