"""Retention: only expired rows go, the file shrinks, in-window history still answers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import pytest

from doltplane import DataPlane
from doltplane.errors import InvalidInput


def churn(dp: DataPlane, prefix: str, rounds: int) -> None:
    for r in range(rounds):
        dp.ops.set_many(
            {
                "id": f"{prefix}{i}",
                "rig": "r",
                "agent": "a",
                "status": "s",
                "state": {"r": r, "pad": "p" * 300},
            }
            for i in range(40)
        )
        dp.ops.checkpoint()
    for i in range(3):
        dp.ops.heartbeat(f"{prefix}agent{i}")


@pytest.mark.embedded_only("asserts the .db file shrinks after gc")
def test_cleanup_deletes_expired_rows_and_shrinks_history(dp: DataPlane) -> None:
    # about the squash: every snapshot here is a week old at `now`, which thinning would
    # thin to one an hour (tests/ops/test_storage_retention.py covers that)
    dp.ops.settings = dataclasses.replace(
        dp.ops.settings, squash_every_hours=0, snapshot_thin_seconds=0
    )
    churn(dp, "old", 20)
    time.sleep(2.2)
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1.1)
    churn(dp, "new", 3)
    dp.ops.checkpoint()
    in_window = dp.ops.history("new0")

    dry = dp.ops.cleanup(dry_run=True, now=cutoff + dt.timedelta(days=7))
    assert (dry.state_rows_deleted, dry.heartbeats_deleted) == (40, 3)
    assert dp.engine("ops").commit_count() == dry.commits_before

    steps: list[str] = []
    result = dp.ops.cleanup(
        now=cutoff + dt.timedelta(days=7), batch_size=7, progress=lambda s, d, t: steps.append(s)
    )
    assert (result.state_rows_deleted, result.heartbeats_deleted) == (40, 3)
    assert {"delete", "squash", "gc"} <= set(steps)
    assert result.commits_after < result.commits_before
    assert result.bytes_after < result.bytes_before / 2
    assert {s.id for s in dp.ops.list()} == {f"new{i}" for i in range(40)}
    assert len(dp.ops.agents()) == 3
    # in-window history keeps its versions (rewritten commits, same content and order)
    assert [v.record for v in dp.ops.history("new0")][: len(in_window)] == [
        v.record for v in in_window
    ]
    assert dp.ops.as_of(cutoff + dt.timedelta(seconds=3)).get("new0").state["r"] >= 0


@pytest.mark.parametrize("days", [-1, "7"])
def test_bad_retention_is_refused(dp: DataPlane, days: object) -> None:
    with pytest.raises(InvalidInput):
        dp.ops.cleanup(days)  # type: ignore[arg-type]


def test_a_record_written_while_cleanup_runs_is_not_deleted(dp: DataPlane) -> None:
    from doltplane.planes import ops_cleanup

    for key in ("stays", "goes"):
        dp.ops.set_state(key, rig="r", agent="a", status="s", state={"v": 1})
    time.sleep(1.1)
    cutoff = dt.datetime.now(dt.UTC)
    # cleanup read both ids as expired; then an agent wrote one of them again: the delete
    # (by id, repeating the expiry condition) leaves the new version alone
    dp.ops.set_state("stays", rig="r", agent="a", status="s", state={"v": 2})
    dp.engine("ops").write(
        lambda conn: ops_cleanup._delete_state(conn, ids=["stays", "goes"], stamp=cutoff)
    )
    assert dp.ops.get("stays").state == {"v": 2}
    assert [s.id for s in dp.ops.list()] == ["stays"]


def test_cleanup_finds_every_agents_expired_beats(dp: DataPlane) -> None:
    from doltplane.planes import ops_cleanup

    for agent in ("zeta", "alpha", "mid", "alpha2"):
        dp.ops.heartbeat(agent)
    engine = dp.engine("ops")
    assert ops_cleanup.beating_agents(engine) == ["alpha", "alpha2", "mid", "zeta"]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    found = sorted(
        key[0]
        for keys in ops_cleanup.expired_beats(engine, ["alpha", "zeta"], later)
        for key in keys
    )
    assert found == ["alpha", "zeta"]
    result = dp.ops.cleanup(retention_days=0.5, now=later + dt.timedelta(days=0.5))
    assert result.heartbeats_deleted == 4
    assert all(dp.ops.heartbeats(a) == [] for a in ("zeta", "alpha", "mid", "alpha2"))
    assert ops_cleanup.beating_agents(engine) == []
