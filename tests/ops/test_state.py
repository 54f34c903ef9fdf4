"""Writes, reads and optimistic concurrency of the operational plane."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from doltplane import DataPlane, NotFound, VersionConflict


def put(dp: DataPlane, id: str, **kw: object):  # type: ignore[no-untyped-def]
    fields = {"rig": "r1", "agent": "toast", "status": "idle", "state": {}} | kw
    return dp.ops.set_state(id, **fields)  # type: ignore[arg-type]


def test_upsert_bumps_version_and_get_reads_it_back(dp: DataPlane) -> None:
    first = put(dp, "a1", state={"n": 1, "nested": {"xs": [1, 2]}})
    second = put(dp, "a1", status="busy", state={"n": 2})
    assert (first.version, second.version) == (1, 2)
    got = dp.ops.get("a1")
    assert got.status == "busy" and got.state == {"n": 2} and got.version == 2
    assert got.updated_at.tzinfo is not None


def test_get_many_is_one_query_and_skips_missing(dp: DataPlane) -> None:
    dp.ops.set_many(
        {"id": f"s{i}", "rig": "r", "agent": "a", "status": "idle", "state": {"i": i}}
        for i in range(50)
    )
    found = dp.ops.get_many(["s1", "s7", "missing"])
    assert set(found) == {"s1", "s7"}
    assert found["s7"].state == {"i": 7}
    with pytest.raises(NotFound):
        dp.ops.get("missing")


def test_list_filters(dp: DataPlane) -> None:
    put(dp, "a", rig="r1", agent="toast", status="busy")
    put(dp, "b", rig="r1", agent="nux", status="idle")
    put(dp, "c", rig="r2", agent="toast", status="busy")
    assert {s.id for s in dp.ops.list(rig="r1")} == {"a", "b"}
    assert {s.id for s in dp.ops.list(agent="toast", status="busy")} == {"a", "c"}
    future = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    assert dp.ops.list(updated_since=future) == []
    assert len(dp.ops.list(limit=2)) == 2


def test_stale_expected_version_raises_and_writes_nothing(dp: DataPlane) -> None:
    put(dp, "a1", state={"v": 1})
    with pytest.raises(VersionConflict) as info:
        put(dp, "a1", state={"v": "lost"}, expected_version=5)
    assert (info.value.expected, info.value.actual) == (5, 1)
    assert dp.ops.get("a1").state == {"v": 1}
    with pytest.raises(VersionConflict):
        put(dp, "a1", expected_version=0)  # 0: must not exist yet
    assert put(dp, "new", expected_version=0).version == 1


def test_two_writers_one_conflict_no_lost_update(dp: DataPlane) -> None:
    put(dp, "counter", state={"n": 0})
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def writer(name: str) -> None:
        seen = dp.ops.get("counter")
        barrier.wait()
        try:
            put(
                dp,
                "counter",
                state={"n": seen.state["n"] + 1, "by": name},
                expected_version=seen.version,
            )
            outcomes.append("ok")
        except VersionConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("w1", "w2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    final = dp.ops.get("counter")
    assert final.version == 2 and final.state["n"] == 1


def test_set_many_is_all_or_nothing(dp: DataPlane) -> None:
    put(dp, "x", state={"keep": True})
    batch = [
        {"id": "y", "rig": "r", "agent": "a", "status": "idle", "state": {}},
        {"id": "x", "rig": "r", "agent": "a", "status": "idle", "state": {}, "expected_version": 9},
    ]
    with pytest.raises(VersionConflict):
        dp.ops.set_many(batch)
    assert dp.ops.get_many(["x", "y"]).keys() == {"x"}
    assert dp.ops.get("x").state == {"keep": True}


def test_heartbeats_and_stale_agents(dp: DataPlane) -> None:
    dp.ops.heartbeat("toast", status={"load": 1}, cycle=1)
    dp.ops.heartbeat("toast", status={"load": 2}, cycle=2)
    dp.ops.heartbeat("nux", cycle=7)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    health = {h.agent: h for h in dp.ops.agents(stale_after=60, now=later)}
    assert set(health) == {"toast", "nux"}
    assert health["toast"].cycle_number == 2 and health["toast"].status == {"load": 2}
    assert all(h.stale for h in health.values())
    assert not any(h.stale for h in dp.ops.agents(stale_after=3600))
    assert [b.cycle_number for b in dp.ops.heartbeats("toast")] == [2, 1]


def test_snapshots_follow_the_write_cadence(data_dir) -> None:  # type: ignore[no-untyped-def]
    from doltplane import connect

    with connect(data_dir, checkpoint_every_writes=3, checkpoint_every_seconds=0) as dp:
        base = dp.engine("ops").commit_count()
        for i in range(7):
            put(dp, f"c{i}")
        assert dp.engine("ops").commit_count() == base + 2  # after writes 3 and 6
    with connect(data_dir) as dp:
        assert dp.engine("ops").commit_count() == base + 3  # close snapshots the 7th


@pytest.mark.embedded_only("measures the .db file shrinking after gc")
def test_snapshots_collect_garbage_every_n_writes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from doltplane import connect

    sizes = {}
    for every in (0, 100):
        with connect(
            tmp_path / f"gc{every}",
            checkpoint_every_writes=50,
            checkpoint_every_seconds=0,
            gc_every_writes=every,
        ) as dp:
            for i in range(400):
                put(dp, f"g{i % 40}", state={"i": i, "pad": "p" * 200})
            sizes[every] = dp.engine("ops").size_bytes()
            assert {s.id for s in dp.ops.list()} == {f"g{i}" for i in range(40)}
    assert sizes[100] < sizes[0] / 2
