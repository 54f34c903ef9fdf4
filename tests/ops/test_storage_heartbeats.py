"""Heartbeats live in a dolt_ignore'd log: never committed, answered AS OF by their own time."""

from __future__ import annotations

import datetime as dt
import functools
import time

import pytest
import sqlalchemy as sa

from doltplane import DataPlane
from doltplane.errors import DoltplaneError, InvalidRevision
from doltplane.planes.operational import _insert_beat
from doltplane.planes.ops_records import HEARTBEAT_TABLE, Heartbeat, heartbeats, to_db_time


def _status(dp: DataPlane) -> list[tuple[object, ...]]:
    with dp.engine("ops").read() as conn:
        return [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM dolt_status").fetchall()]


def test_beats_never_enter_a_commit(dp: DataPlane) -> None:
    dp.ops.set_state("s1", rig="r", agent="a", status="up", state={})
    first = dp.ops.checkpoint()
    for cycle in range(5):
        dp.ops.heartbeat("a", cycle=cycle)
    assert _status(dp) == []
    assert not dp.engine("ops").is_dirty()
    assert dp.ops.checkpoint() is None  # nothing a commit would record: no empty snapshot
    engine = dp.engine("ops")
    assert engine.log(limit=1)[0].hash == first
    for revision in (first, "HEAD"):
        with pytest.raises(DoltplaneError), engine.read() as conn:
            conn.exec_driver_sql(f"SELECT * FROM dolt_at_{HEARTBEAT_TABLE}(?)", (revision,))
        with pytest.raises(DoltplaneError), engine.read(revision) as conn:
            conn.exec_driver_sql(f"SELECT count(*) FROM {HEARTBEAT_TABLE}").all()
    with engine.read() as conn:
        tables = {r[0] for r in conn.exec_driver_sql("SELECT pattern FROM dolt_ignore")}
    assert HEARTBEAT_TABLE in tables
    with pytest.raises(DoltplaneError), engine.read() as conn:  # the old table left HEAD
        conn.exec_driver_sql("SELECT * FROM dolt_at_heartbeats('HEAD')").all()
    assert len(dp.ops.heartbeats("a")) == 5


def test_beats_of_one_agent_at_the_same_instant_are_all_kept(dp: DataPlane) -> None:
    moment = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    beat = Heartbeat("a", moment, {"n": 1}, 7)
    engine = dp.engine("ops")
    stored = [engine.write(functools.partial(_insert_beat, beat=beat)) for _ in range(3)]
    step = dt.timedelta(microseconds=1)
    assert [s.timestamp for s in stored] == [moment, moment + step, moment + 2 * step]
    assert stored[0] is beat  # no clash: the beat as given
    kept = dp.ops.heartbeats("a")
    assert [b.timestamp for b in kept] == [moment + 2 * step, moment + step, moment]
    assert all(b.status == {"n": 1} and b.cycle_number == 7 for b in kept)
    with engine.read() as conn:
        key = sa.inspect(conn).get_pk_constraint(HEARTBEAT_TABLE)["constrained_columns"]
    assert key == ["agent", "timestamp"]


def test_as_of_answers_beats_by_their_time_never_later(dp: DataPlane) -> None:
    dp.ops.set_state("s1", rig="r", agent="a", status="up", state={"n": 1})
    dp.ops.heartbeat("a", cycle=1)
    dp.ops.heartbeat("b", cycle=1)
    time.sleep(0.01)
    commit = dp.ops.checkpoint()
    assert commit is not None
    middle = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    dp.ops.heartbeat("a", cycle=2)
    dp.ops.set_state("s1", rig="r", agent="a", status="up", state={"n": 2})
    dp.ops.checkpoint()

    by_time = dp.ops.as_of(middle)
    assert by_time.revision == commit
    assert [b.cycle_number for b in by_time.heartbeats("a")] == [1]
    assert {h.agent: h.cycle_number for h in by_time.agents()} == {"a": 1, "b": 1}
    assert all(h.last_seen <= middle for h in by_time.agents())
    # by commit: beats made up to the commit's recorded time
    by_commit = dp.ops.as_of(commit)
    assert [b.cycle_number for b in by_commit.heartbeats("a")] == [1]
    assert by_commit.get("s1").state == {"n": 1}  # state still from the snapshot
    # live: everything
    assert [b.cycle_number for b in dp.ops.heartbeats("a")] == [2, 1]
    assert dp.ops.as_of("HEAD").get("s1").state == {"n": 2}


def test_beats_outside_the_kept_history_are_not_answerable(dp: DataPlane) -> None:
    dp.ops.heartbeat("a", cycle=1)
    dp.ops.set_state("s1", rig="r", agent="a", status="up", state={})
    dp.ops.checkpoint()
    first_time = dp.engine("ops").log(limit=1)[0].time
    assert first_time is not None
    with pytest.raises(InvalidRevision, match="oldest time still answerable"):
        dp.ops.as_of(first_time - dt.timedelta(seconds=5)).heartbeats("a")


def test_state_as_of_and_history_unchanged_by_beats(dp: DataPlane) -> None:
    commits = []
    for n in range(3):
        dp.ops.set_state("s1", rig="r", agent="a", status="up", state={"n": n})
        dp.ops.heartbeat("a", cycle=n)
        commits.append(dp.ops.checkpoint())
    history = dp.ops.history("s1")
    assert [v.record.state["n"] for v in history] == [2, 1, 0]
    assert [v.commit for v in history] == list(reversed(commits))
    for n, commit in enumerate(commits):
        assert commit is not None
        assert dp.ops.as_of(commit).get("s1").state == {"n": n}


def _beat_at(dp: DataPlane, agent: str, moment: dt.datetime) -> None:
    row = {
        "agent": agent,
        "timestamp": to_db_time(moment),
        "status": {},
        "cycle_number": None,
    }
    dp.engine("ops").write(lambda conn: conn.execute(heartbeats.insert(), [row]))


def test_beats_inside_the_window_answer_after_cleanup(dp: DataPlane) -> None:
    now = dt.datetime.now(dt.UTC)
    for hours in (0.5, 2, 30, 200):
        _beat_at(dp, "a", now - dt.timedelta(hours=hours))
    dp.ops.set_state("s1", rig="r", agent="a", status="up", state={})
    dp.ops.checkpoint()
    result = dp.ops.cleanup(retention_days=7, now=now)
    assert result.heartbeats_deleted == 1  # the 200-hour-old beat
    kept = [round((now - b.timestamp).total_seconds() / 3600, 1) for b in dp.ops.heartbeats("a")]
    assert kept == [0.5, 2, 30]
