"""The service holds nothing between job runs: no pooled reader per commit its probes
read, no read-cache entry per commit. Kept, each reader's page cache grew with the store
and the soak's service grew 1.3 MB a simulated day (docs/service.md, "Memory")."""

from __future__ import annotations

import os
from pathlib import Path

from doltplane import connect
from doltplane.config import Settings
from doltplane.service.jobs import JOBS
from doltplane.service.runner import Service


def _open_database_files(data_dir: Path) -> int:
    """This process's open descriptors on the data directory's database files."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith(str(data_dir)) and target.endswith(".db"):
            count += 1
    return count


def test_job_runs_leave_no_readers_or_cache_entries_behind(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, checkpoint_every_writes=0, checkpoint_every_seconds=0)
    with connect(data_dir) as dp:
        dp.migrate()
    writer = connect(data_dir, checkpoint_every_writes=0, checkpoint_every_seconds=0)
    service = Service(settings, jobs={"metrics_sample": JOBS["metrics_sample"]})
    ctx = service._open()
    try:

        def round_(i: int) -> None:
            # an agent writes and a snapshot lands: the probes read a new HEAD every run
            writer.ops.set_many(
                [
                    {
                        "id": "agent-1",
                        "rig": "r",
                        "agent": "agent-1",
                        "status": "busy",
                        "state": {"i": i},
                    }
                ]
            )
            writer.ops.checkpoint(f"round {i}")
            assert service.run_job("metrics_sample").result == "ok"

        for i in range(3):
            round_(i)
        held_early = _open_database_files(data_dir)
        for i in range(3, 23):
            round_(i)
        held_late = _open_database_files(data_dir)
        # before: one pooled reader per commit read (an LRU of 16 per plane) stayed open
        assert held_late <= held_early, (held_early, held_late)
        stats = ctx.dp.ops.cache.stats()
        assert stats["entries"] == 0  # before: one AS OF entry per commit, up to 10,000
        assert stats["misses"] >= 23  # the counters the metrics export are kept
    finally:
        service._close()
        writer.close()


def test_release_keeps_the_data_plane_usable(data_dir: Path) -> None:
    with connect(data_dir, checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
        dp.migrate()
        dp.ops.set_many(
            [{"id": "a", "rig": "r", "agent": "a", "status": "busy", "state": {"n": 1}}]
        )
        dp.ops.checkpoint("one")
        assert dp.ops.as_of("HEAD").get("a").state == {"n": 1}
        assert dp.ops.cache.stats()["entries"] == 1
        dp.release()
        assert dp.ops.cache.stats()["entries"] == 0
        assert _open_database_files(data_dir) <= 2  # this thread's kept readers at most
        dp.ops.set_many(
            [{"id": "a", "rig": "r", "agent": "a", "status": "busy", "state": {"n": 2}}]
        )
        dp.ops.checkpoint("two")
        assert dp.ops.get("a").state == {"n": 2}
        assert dp.ops.as_of("HEAD~1").get("a").state == {"n": 1}
