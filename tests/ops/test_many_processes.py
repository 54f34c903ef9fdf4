"""Several agent processes writing to one embedded data directory lose nothing."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from doltplane import DataPlane, connect

PROCESSES = 8
WRITES = 500


def agent_process(data_dir: str, number: int) -> int:
    with connect(
        data_dir, checkpoint_every_writes=100, checkpoint_every_seconds=0, gc_every_writes=200
    ) as dp:  # snapshots and garbage collection race the other processes
        for i in range(WRITES):
            dp.ops.set_state(
                f"p{number}-{i}",
                rig=f"rig{number % 2}",
                agent=f"agent{number}",
                status="busy",
                state={"i": i, "process": number},
            )
            if i % 100 == 0:
                dp.ops.heartbeat(f"agent{number}", cycle=i)
    return number


def test_eight_processes_times_500_writes_all_present(dp: DataPlane, data_dir: Path) -> None:
    dp.migrate()
    context = multiprocessing.get_context("spawn")  # fresh interpreters, as separate agents are
    with context.Pool(PROCESSES) as pool:
        done = pool.starmap(agent_process, [(str(data_dir), n) for n in range(PROCESSES)])
    assert sorted(done) == list(range(PROCESSES))
    with connect(data_dir) as fresh:
        rows = fresh.ops.list()
        assert len(rows) == PROCESSES * WRITES
        assert {r.id for r in rows} == {
            f"p{n}-{i}" for n in range(PROCESSES) for i in range(WRITES)
        }
        assert all(r.version == 1 and r.state["i"] == int(r.id.split("-")[1]) for r in rows)
        assert len(fresh.ops.agents()) == PROCESSES
        # every process snapshot-committed its writes on close: nothing left uncommitted
        assert not fresh.engine("ops").is_dirty()
