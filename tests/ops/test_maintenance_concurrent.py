"""Maintenance (cleanup: delete, squash, gc) next to live writers in other processes.

A gc rewrites the database file; connections opened before it could refuse every later
write as read-only, and a squash could read commits another process's gc had dropped.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest

from doltplane import DataPlane, connect
from doltplane.errors import DatabaseBusy
from doltplane.store.doltlite import DoltliteEngine

WRITES = 80
SPAWN = multiprocessing.get_context("spawn")  # fresh interpreters, as separate agents are


def _cutoff() -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)


def cleanup_process(data_dir: str, rounds: int, cutoff: dt.datetime, queue: Any) -> None:
    errors = []
    with connect(data_dir, checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
        for _ in range(rounds):
            try:  # rows written after the cutoff stay; newer history is squashed all the same
                dp.ops.cleanup(retention_days=0, now=cutoff)
                if rounds > 1:
                    dp.engine("ops").squash_before(_cutoff())
                    dp.engine("ops").gc()
            except Exception as exc:  # reported to the test, which fails on any
                errors.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.2)
    queue.put(("cleanup", errors))


def writer_process(data_dir: str, number: int, writes: int, queue: Any) -> None:
    acknowledged, errors = [], []
    dp = connect(
        data_dir,
        checkpoint_every_writes=15,
        checkpoint_every_seconds=0,
        gc_every_writes=30,  # every other snapshot: writers collect garbage too
    )
    for i in range(writes):
        key = f"w{number}-{i}"
        try:
            dp.ops.set_state(key, rig="r", agent=f"a{number}", status="s", state={"i": i})
            acknowledged.append(key)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    try:
        dp.close()
    except Exception as exc:
        errors.append(f"close: {type(exc).__name__}: {exc}")
    queue.put((f"writer {number}", errors, acknowledged))


def _seed(dp: DataPlane) -> None:
    for round_ in range(4):
        dp.ops.set_many(
            {"id": f"old-{i}", "rig": "r", "agent": "a", "status": "s", "state": {"r": round_}}
            for i in range(10)
        )
        dp.ops.checkpoint()


@pytest.mark.embedded_only("connections outliving another process's gc rewriting the file")
def test_a_pooled_writer_keeps_writing_after_cleanup_in_another_process(
    dp: DataPlane, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(dp)
    time.sleep(1.1)
    cutoff = _cutoff()  # after the seed, before the writes below
    # a writer that collects its own garbage now and then (measured: the next write after
    # another process's cleanup then failed, and so did every later one)
    dp.ops.set_state("before", rig="r", agent="a", status="s", state={})
    dp.ops.checkpoint()
    dp.engine("ops").gc()
    expected = {"before"}
    for round_ in range(2):
        if round_ == 1:
            # connections are dropped when the file was replaced; without that, the write
            # refused as read-only is retried on fresh connections
            time.sleep(1.1)
            cutoff = _cutoff()  # round one's rows go, its snapshots are squashed
            dp.ops.set_state("again", rig="r", agent="a", status="s", state={})
            dp.ops.checkpoint()
            dp.engine("ops").gc()
            expected = {"again"}
            monkeypatch.setattr(DoltliteEngine, "_follow_file", lambda self, **_: None)
        queue = SPAWN.Queue()
        process = SPAWN.Process(target=cleanup_process, args=(str(data_dir), 1, cutoff, queue))
        process.start()
        process.join(120)
        assert queue.get(timeout=10) == ("cleanup", [])
        for i in range(3):  # this process's pooled connections predate the other's gc
            dp.ops.set_state(f"after-{round_}-{i}", rig="r", agent="a", status="s", state={})
            expected.add(f"after-{round_}-{i}")
        dp.ops.checkpoint()
    with connect(data_dir) as fresh:
        assert {s.id for s in fresh.ops.list()} == expected


def test_writers_with_gc_and_a_cleanup_process_lose_nothing(dp: DataPlane, data_dir: Path) -> None:
    _seed(dp)
    time.sleep(1.1)
    cutoff = _cutoff()  # after the seed, before every write of the writers
    queue = SPAWN.Queue()
    processes = [
        SPAWN.Process(target=writer_process, args=(str(data_dir), n, WRITES, queue))
        for n in range(3)
    ]
    processes.append(SPAWN.Process(target=cleanup_process, args=(str(data_dir), 5, cutoff, queue)))
    for process in processes:
        process.start()
    reports = [queue.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    failures = {report[0]: report[1] for report in reports if report[1]}
    assert failures == {}
    acknowledged = {key for report in reports if len(report) == 3 for key in report[2]}
    assert len(acknowledged) == 3 * WRITES
    with connect(data_dir) as fresh:
        present = {s.id for s in fresh.ops.list()}
        assert present == acknowledged  # the seed was cleaned up, every write is there
        assert not fresh.engine("ops").is_dirty()


def racing_committer(data_dir: str, started: Any, stop: Any, queue: Any) -> None:
    made, errors = [], []
    with connect(data_dir, checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
        for i in range(60):
            try:
                dp.ops.set_state(f"race-{i}", rig="r", agent="a", status="s", state={"i": i})
                commit = dp.ops.checkpoint(f"race snapshot {i}")
                if commit:
                    made.append(commit)
                if i % 3 == 2:
                    dp.engine("ops").gc()  # another process's gc drops what a squash read
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            if i == 2:
                started.set()
            if stop.is_set():
                break
    queue.put((errors, len(made)))


@pytest.mark.embedded_only("races doltlite's branch move (DoltliteEngine internals)")
def test_a_squash_with_commits_racing_it_loses_none(
    dp: DataPlane, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(12):
        dp.ops.set_state(f"old-{i}", rig="r", agent="a", status="s", state={})
        dp.ops.checkpoint(f"old snapshot {i}")
    time.sleep(1.1)
    cutoff = _cutoff()  # every racing commit is newer: the squash must keep each one
    engine = dp.engine("ops")
    assert isinstance(engine, DoltliteEngine)
    before = engine.log()
    foldable = sum(1 for c in before if c.date < cutoff) - 1  # the root commit stays
    moves: list[bool] = []
    move = DoltliteEngine._move_branch

    def counted_move(self: DoltliteEngine, branch: str, expected: str, new: str) -> bool:
        moved = move(self, branch, expected, new)
        moves.append(moved)
        return moved

    monkeypatch.setattr(DoltliteEngine, "_move_branch", counted_move)
    queue, started, stop = SPAWN.Queue(), SPAWN.Event(), SPAWN.Event()
    process = SPAWN.Process(target=racing_committer, args=(str(data_dir), started, stop, queue))
    process.start()
    try:
        assert started.wait(120)
        try:
            squashed = engine.squash_before(cutoff).squashed
        except DatabaseBusy:  # gave up cleanly: nothing changed
            squashed = 0
    finally:
        stop.set()
        errors, made = queue.get(timeout=120)
        process.join(60)
    assert errors == []
    assert made >= 3
    assert moves  # the squash reached the point where commits could race it
    assert squashed in (0, foldable)
    dp.ops.checkpoint()
    with connect(data_dir) as fresh:
        ops = fresh.engine("ops")
        messages = [c.message for c in ops.log()]
        # every racing snapshot is still in history (content, in order), none lost
        raced = [m for m in messages if m.startswith("race snapshot")]
        assert len(raced) == made
        ids = {s.id for s in fresh.ops.list()}
        assert {f"race-{i}" for i in range(made)} <= ids
        assert {f"old-{i}" for i in range(12)} <= ids
        assert len(messages) == len(before) + made - max(squashed - 1, 0)
        assert not [b.name for b in ops.branches() if b.name.startswith("doltplane-")]


@pytest.mark.embedded_only("the embedded engine's squash lock (DoltliteEngine internals)")
def test_cadence_snapshots_wait_while_a_squash_runs(data_dir: Path) -> None:
    import fcntl

    with connect(data_dir, checkpoint_every_writes=2, checkpoint_every_seconds=0) as dp:
        engine = dp.engine("ops")
        assert isinstance(engine, DoltliteEngine)
        dp.ops.set_state("a", rig="r", agent="a", status="s", state={})
        base = engine.commit_count()
        with engine._squash_lock(fcntl.LOCK_EX) as held:  # as squash_before holds it
            assert held and engine.squash_running()
            for i in range(5):  # due twice over: the snapshots wait, the writes do not
                dp.ops.set_state(f"w{i}", rig="r", agent="a", status="s", state={})
            assert engine.commit_count() == base
            assert dp.engine("ops").is_dirty()
        assert not engine.squash_running()
        dp.ops.set_state("last", rig="r", agent="a", status="s", state={})
        assert engine.commit_count() == base + 1  # one snapshot holds every waiting write
        assert not engine.is_dirty()
