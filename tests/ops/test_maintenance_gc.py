"""Garbage collection is decided by the store's growth, whichever process writes."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from doltplane import connect

pytestmark = pytest.mark.embedded_only("gc decided by the .db file's growth")

PROCESSES = 3
WRITES = 80  # per process: far fewer than the old per-process threshold below


def agent_process(data_dir: str, number: int, growth_mb: float) -> None:
    with connect(
        data_dir,
        checkpoint_every_writes=25,
        checkpoint_every_seconds=0,
        gc_every_writes=500,  # the old per-process count: never reached by any one process
        gc_growth_mb=growth_mb,
    ) as dp:
        for i in range(WRITES):
            dp.ops.set_state(f"p{number}-{i}", rig="r", agent="a", status="s", state={"i": i})


def _size(data_dir: Path) -> int:
    with connect(data_dir, checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
        assert len(dp.ops.list()) == PROCESSES * WRITES
        return dp.engine("ops").size_bytes()


def test_many_short_processes_still_collect_garbage(tmp_path: Path) -> None:
    # what per-process counting gave: the same writes, one process at a time, none collected
    for number in range(PROCESSES):
        agent_process(str(tmp_path / "counted"), number, growth_mb=0)
    counted_only = _size(tmp_path / "counted")
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        pool.starmap(agent_process, [(str(tmp_path / "growth"), n, 0.5) for n in range(PROCESSES)])
    by_growth = _size(tmp_path / "growth")
    # 240 writes left 2.4 MB here, 0.6 MB with growth-based collection (its live size
    # plus at most the allowed growth)
    assert by_growth < counted_only / 2
    with connect(tmp_path / "growth") as dp:
        recorded = dp.engine("ops").size_after_gc()
        assert recorded is not None and 0 < recorded <= by_growth


def test_growth_since_the_last_collection_decides(tmp_path: Path) -> None:
    with connect(
        tmp_path / "dp", checkpoint_every_writes=20, checkpoint_every_seconds=0, gc_growth_mb=0.05
    ) as dp:
        engine = dp.engine("ops")
        assert engine.size_after_gc() is None  # nothing collected yet
        for i in range(20):
            dp.ops.set_state(f"s{i}", rig="r", agent="a", status="s", state={})
        first = engine.size_after_gc()
        assert first is not None  # the first snapshot over the threshold collected
        for i in range(3):  # too little growth: no collection
            dp.ops.set_state(f"t{i}", rig="r", agent="a", status="s", state={})
        dp.ops.checkpoint()
        assert engine.size_after_gc() == first
    with connect(tmp_path / "dp", gc_growth_mb=0, gc_every_writes=0) as dp:
        for i in range(60):  # growth-based collection off: nothing collects
            dp.ops.set_state(f"u{i}", rig="r", agent="a", status="s", state={})
        dp.ops.checkpoint()
        assert dp.engine("ops").size_after_gc() == first
