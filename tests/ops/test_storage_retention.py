"""Retention tiers for heartbeats, exact cleanup, and the migration that moved them."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext

from doltplane import DataPlane, connect
from doltplane.config import Settings
from doltplane.errors import InvalidRevision, NotFound
from doltplane.migrations import runner
from doltplane.planes.ops_records import heartbeats, to_db_time
from doltplane.store import open_engine
from doltplane.store.base import Engine

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _beats(dp: DataPlane, agent: str, every_minutes: int, hours: int) -> list[dt.datetime]:
    moments = [NOW - dt.timedelta(minutes=m) for m in range(0, hours * 60, every_minutes)]
    rows = [
        {
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


def _id_keyed_beats(name: str, key_length: int) -> sa.Table:
    """The heartbeat tables as earlier migrations left them: keyed by an id."""
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.String(key_length), primary_key=True),
        sa.Column("agent", sa.String(255)),
        sa.Column("timestamp", sa.DateTime()),
        sa.Column("status", sa.JSON()),
        sa.Column("cycle_number", sa.Integer()),
    )


@contextlib.contextmanager
def _ops_migrated_to(tmp_path: Path, revision: str) -> Iterator[tuple[Engine, Any]]:
    """An ops engine on a new store, migrated up to ``revision``, and the migrations."""
    engine = open_engine(Settings.load({"data_dir": tmp_path / "dp"}), "ops")
    try:
        script = runner.script_directory("ops")
        _migrate(engine, script, revision)
        yield engine, script
    finally:
        engine.close()


def _migrate(engine: Engine, script: Any, revision: str) -> None:
    assert runner._apply(engine, script, revision)
    engine.commit(f"migration ops {revision}")


def test_migration_moves_old_heartbeats(tmp_path: Path) -> None:
    with _ops_migrated_to(tmp_path, "ops_0001") as (engine, _script):
        old = _id_keyed_beats("heartbeats", 36)
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
    with connect(tmp_path / "dp", checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
        moved = {
            b.cycle_number or 0: b for agent in ("a0", "a1", "a2") for b in dp.ops.heartbeats(agent)
        }
        assert sorted(moved) == list(range(30))
        assert all(moved[i].status == {"i": i} for i in range(30))
        assert not dp.engine("ops").is_dirty()
        with dp.engine("ops").read() as conn:
            shape = sa.inspect(conn)
            key = shape.get_pk_constraint(heartbeats.name)["constrained_columns"]
            assert key == ["agent", "timestamp"] and shape.get_indexes(heartbeats.name) == []
        assert old_commit is not None
        # the old commit still holds the old table; the view answers from the log by time
        assert len(dp.ops.as_of(old_commit).heartbeats("a0")) == 10


def _downgrade(engine: Any, script: Any, target: str) -> None:
    def run(connection: sa.Connection) -> None:
        def steps(rev: Any, context: Any) -> Any:
            return script._downgrade_revs(target, rev)

        with EnvironmentContext(Config(), script, fn=steps, destination_rev=target) as env:
            env.configure(connection=connection, version_table=runner.VERSION_TABLE)
            env.run_migrations()

    engine.write(run)


def test_rekeying_the_log_keeps_beats_at_the_same_instant_and_goes_back(tmp_path: Path) -> None:
    with _ops_migrated_to(tmp_path, "ops_0002") as (engine, script):
        id_keyed = _id_keyed_beats("heartbeat_log", 24)
        same = to_db_time(NOW)
        step = dt.timedelta(microseconds=1)
        rows = [  # three beats of a0 at one instant, one of them where a nudge would land
            {"id": "a", "agent": "a0", "timestamp": same, "status": {"i": 0}, "cycle_number": 0},
            {"id": "b", "agent": "a0", "timestamp": same, "status": {"i": 1}, "cycle_number": 1},
            {"id": "c", "agent": "a0", "timestamp": same, "status": {"i": 2}, "cycle_number": 2},
            {
                "id": "d",
                "agent": "a0",
                "timestamp": same + step,
                "status": {"i": 3},
                "cycle_number": 3,
            },
            {"id": "e", "agent": "a1", "timestamp": same, "status": {"i": 4}, "cycle_number": 4},
        ]
        engine.write(lambda conn: conn.execute(id_keyed.insert(), rows))
        _migrate(engine, script, "ops_0003")
        assert not engine.is_dirty()  # the log and its temporary copy never enter a commit
        with engine.read() as conn:
            kept = conn.execute(
                sa.select(heartbeats.c.agent, heartbeats.c.timestamp, heartbeats.c.status)
            ).all()
            ignored = {r[0] for r in conn.exec_driver_sql("SELECT pattern FROM dolt_ignore")}
        by_status = {status["i"]: (agent, to_db_time(when)) for agent, when, status in kept}
        assert by_status == {
            0: ("a0", same),
            1: ("a0", same + 2 * step),  # same + 1 µs was taken by beat 3
            2: ("a0", same + 3 * step),
            3: ("a0", same + step),
            4: ("a1", same),
        }
        assert "heartbeat_log_rekeyed" not in ignored and "heartbeat_log" in ignored
        _downgrade(engine, script, "ops_0002")
        with engine.read() as conn:
            back = conn.execute(sa.select(id_keyed)).mappings().all()
            indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("heartbeat_log")}
        assert sorted(r["status"]["i"] for r in back) == [0, 1, 2, 3, 4]
        assert all(len(r["id"]) == 24 for r in back)
        assert indexes == {"ix_heartbeat_log_agent_timestamp", "ix_heartbeat_log_timestamp"}


def test_snapshot_thinning_keeps_the_last_day_whole_and_one_an_hour_before(
    data_dir: Path,
) -> None:
    hour = 3600
    with connect(
        data_dir,
        checkpoint_every_writes=0,
        checkpoint_every_seconds=0,
        snapshot_full_hours=24,
        snapshot_thin_seconds=hour,
        squash_every_hours=0,
    ) as dp:
        engine = dp.engine("ops")
        # dated after the migration commits made now, so that every snapshot is answerable
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=1)
        end = start + dt.timedelta(hours=48)
        made: dict[int, tuple[str, dt.datetime]] = {}
        for n in range(0, 144):  # a snapshot every 20 minutes for 48 hours
            moment = start + dt.timedelta(minutes=20 * n)
            dp.ops.set_state("s1", rig="r", agent="a", status="up", state={"n": n})
            commit = engine.commit(f"ops snapshot {n}", date=moment)
            assert commit is not None
            made[n] = (commit, moment)
        edge = (end - dt.timedelta(hours=24)).timestamp() // hour * hour
        kept = {
            n
            for n, (_, moment) in made.items()
            if moment.timestamp() >= edge
            or not any(  # the newest of its hour
                o > n and made[o][1].timestamp() // hour == moment.timestamp() // hour for o in made
            )
        }
        assert 72 < len(kept) < 144
        before_history = dp.ops.history("s1")

        result = dp.ops.cleanup(retention_days=7, now=end)
        assert result.commits_before - result.commits_after == 144 - len(kept)
        versions = dp.ops.history("s1")
        assert [v.record.state["n"] for v in versions] == sorted(kept, reverse=True)
        assert len(before_history) == 144
        for n, (commit, moment) in made.items():
            view = dp.ops.as_of(moment)
            # exact at every kept snapshot; in a thinned hour, the newest kept one before it
            # (never later work)
            answer = max((k for k in kept if k <= n), default=None)
            if answer is None:  # before the first kept snapshot: the record did not exist yet
                with pytest.raises(NotFound):
                    view.get("s1")
            else:
                assert view.get("s1").state["n"] == answer
            if n in kept:
                assert dp.ops.as_of(commit).get("s1").state == {"n": n}  # old hash answers
            else:
                with pytest.raises(InvalidRevision):
                    dp.ops.as_of(commit).get("s1")
        # a second cleanup at the same moment has nothing left to thin
        again = dp.ops.cleanup(retention_days=7, now=end)
        assert again.commits_after == again.commits_before == result.commits_after
        assert not engine.is_dirty()
