"""Cleanup (delete, squash, gc) while another process keeps writing: nothing is lost."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from pathlib import Path

from doltplane import DataPlane, connect

WRITES = 1500


def writer(data_dir: str, started: object) -> None:
    with connect(data_dir, checkpoint_every_writes=25, checkpoint_every_seconds=0) as dp:
        for i in range(WRITES):
            dp.ops.set_state(f"live-{i}", rig="r", agent="w", status="busy", state={"i": i})
            if i == 20:
                started.set()  # type: ignore[attr-defined]


def test_cleanup_while_a_writer_writes(dp: DataPlane, data_dir: Path) -> None:
    for round_ in range(10):
        dp.ops.set_many(
            {"id": f"old-{i}", "rig": "r", "agent": "a", "status": "s", "state": {"r": round_}}
            for i in range(50)
        )
        dp.ops.checkpoint()
    time.sleep(2.1)
    # one cut for both cleanups, between the old rows and the writer's first: a cut taken
    # later could legitimately expire the writer's early rows on a slow machine
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    context = multiprocessing.get_context("spawn")
    started = context.Event()
    process = context.Process(target=writer, args=(str(data_dir), started))
    process.start()
    try:
        assert started.wait(60)
        results = []
        for _ in range(2):
            results.append(dp.ops.cleanup(retention_days=0, now=cutoff))
    finally:
        process.join(120)
    assert process.exitcode == 0
    assert results[0].state_rows_deleted == 50
    dp.ops.checkpoint()
    with connect(data_dir) as fresh:
        ids = {s.id for s in fresh.ops.list()}
        assert ids == {f"live-{i}" for i in range(WRITES)}
        assert not fresh.engine("ops").is_dirty()
        # the writer's snapshots after the cut are still history
        assert len(fresh.ops.history(f"live-{WRITES - 1}")) >= 1
