"""Two processes updating the same versioned row: one VersionConflict, no lost update."""

from __future__ import annotations

import multiprocessing
from typing import Any

from doltplane import DataPlane, connect
from doltplane.errors import VersionConflict

ROWS = 12


def writer(target: str, name: str, barrier: Any) -> list[str]:
    outcomes = []
    with connect(target, checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
        tasks = dp.table("tai_tasks")
        for n in range(ROWS):
            barrier.wait(timeout=60)  # both writers hold version 1 of row n and race
            try:
                tasks.put(
                    {"id": f"t{n}", "status": "running", "result": {"by": name}, "version": 1}
                )
                outcomes.append("ok")
            except VersionConflict:
                outcomes.append("conflict")
    return outcomes


def test_two_processes_one_conflict_per_row_and_no_lost_update(packs: DataPlane) -> None:
    tasks = packs.table("tai_tasks")
    for n in range(ROWS):
        tasks.put({"id": f"t{n}", "type": "embed", "status": "queued"})
    target = packs.settings.url or str(packs.settings.data_dir)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(2)
        with context.Pool(2) as pool:
            a, b = pool.starmap(writer, [(target, "a", barrier), (target, "b", barrier)])
    for n in range(ROWS):
        assert sorted([a[n], b[n]]) == ["conflict", "ok"], n
        row = tasks.get(f"t{n}")
        winner = "a" if a[n] == "ok" else "b"
        assert row["version"] == 2 and row["status"] == "running"
        assert row["result"] == {"by": winner}
        versions = tasks.history(f"t{n}")
        assert [v.row["version"] for v in versions] == [2, 1]  # every change a commit
