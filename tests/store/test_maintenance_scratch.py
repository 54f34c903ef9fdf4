"""Scratch branches (squash, merge preview) name their owner; a killed owner's are removed.

A kill during a squash or a conflicts preview used to leave ``doltplane-squash-*`` /
``doltplane-tmp/*`` branches that pinned old history forever.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from doltplane import DataPlane, connect
from doltplane.store.doltlite import DoltliteEngine
from doltplane.store.scratch import (
    PREVIEW_PREFIX,
    SQUASH_PREFIX,
    is_leftover,
    owner_of,
    scratch_branch_name,
    this_host,
)

SPAWN = multiprocessing.get_context("spawn")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _scratch(engine: DoltliteEngine) -> list[str]:
    return [b.name for b in engine.branches() if b.name.startswith(("doltplane-",))]


def test_names_carry_the_owner_and_only_a_gone_owner_makes_a_leftover() -> None:
    name = scratch_branch_name(PREVIEW_PREFIX)
    owner = owner_of(name)
    assert owner is not None and owner.pid == os.getpid() and owner.host == this_host()
    assert not is_leftover(name)  # this process is alive
    now = time.time()
    dead = f"{SQUASH_PREFIX}{this_host()}-{_dead_pid()}-{int(now)}-ab12"
    assert is_leftover(dead)
    foreign = f"{PREVIEW_PREFIX}other-host-{os.getpid()}-{int(now)}-ab12"
    assert not is_leftover(foreign)  # another host's process may still be working
    assert is_leftover(foreign, now=now + 2 * 3600)  # but no scratch work lasts hours
    assert is_leftover(f"{SQUASH_PREFIX}0123456789ab")  # made before names had owners
    assert not is_leftover("agent-x") and owner_of("agent-x") is None


def test_the_next_open_removes_a_dead_owners_scratch_branches(
    dp: DataPlane, data_dir: Path
) -> None:
    engine = dp.engine("ops")
    dp.ops.set_state("a", rig="r", agent="a", status="s", state={})
    dp.ops.checkpoint()
    now = int(time.time())
    dead = f"{SQUASH_PREFIX}{this_host()}-{_dead_pid()}-{now}-ab12"
    mine = scratch_branch_name(SQUASH_PREFIX)
    foreign = f"{PREVIEW_PREFIX}other-host-1-{now}-cd34"
    for name in (dead, mine, foreign, f"{PREVIEW_PREFIX}0123456789ab"):
        engine.create_branch(name)
    dp.close()
    with connect(data_dir) as fresh:
        left = _scratch(fresh.engine("ops"))  # type: ignore[arg-type]
    assert sorted(left) == sorted([mine, foreign])


def squash_until_killed(data_dir: str, cutoff: dt.datetime, paused: Any) -> None:
    raw = DoltliteEngine._raw

    def pause(self: DoltliteEngine, target: str | None, read_only: bool) -> Any:
        if str(target).startswith(SQUASH_PREFIX):
            paused.set()  # the scratch branch exists, the rewrite is starting: be killed
            time.sleep(600)
        return raw(self, target, read_only)

    DoltliteEngine._raw = pause  # type: ignore[method-assign]
    with connect(data_dir, checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
        dp.engine("ops").squash_before(cutoff)


def preview_until_killed(data_dir: str, paused: Any) -> None:
    merge = DoltliteEngine.merge

    def pause(self: DoltliteEngine, source: str, **kwargs: Any) -> Any:
        if str(kwargs.get("into", "")).startswith(PREVIEW_PREFIX):
            paused.set()
            time.sleep(600)
        return merge(self, source, **kwargs)

    DoltliteEngine.merge = pause  # type: ignore[method-assign]
    with connect(data_dir, checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
        dp.agent("toast").conflicts()


def _kill_when_paused(target: Any, *args: Any) -> None:
    paused = SPAWN.Event()
    process = SPAWN.Process(target=target, args=(*args, paused))
    process.start()
    try:
        assert paused.wait(120)
    finally:
        process.kill()  # kill -9
        process.join(30)


def test_a_squash_killed_midway_is_cleaned_up_by_the_next_cleanup(
    dp: DataPlane, data_dir: Path
) -> None:
    for i in range(6):
        dp.ops.set_state(f"s{i}", rig="r", agent="a", status="s", state={"i": i})
        dp.ops.checkpoint()
    time.sleep(1.1)
    engine = dp.engine("ops")
    assert isinstance(engine, DoltliteEngine)
    head = engine.resolve_revision("main")
    cutoff = dt.datetime.now(dt.UTC)
    _kill_when_paused(squash_until_killed, str(data_dir), cutoff)
    left = _scratch(engine)
    assert len(left) == 1 and left[0].startswith(SQUASH_PREFIX)  # what a kill leaves
    assert engine.resolve_revision("main") == head  # and main untouched
    # this process's engine was open all along: cleanup finds the leftover itself
    dp.ops.settings = dataclasses.replace(dp.ops.settings, squash_every_hours=0)
    result = dp.ops.cleanup(retention_days=0, now=cutoff)
    assert _scratch(engine) == []
    assert result.state_rows_deleted == 6
    assert result.commits_after < result.commits_before  # the squash ran all the same


def test_a_preview_killed_midway_is_removed_by_prune(dp: DataPlane, data_dir: Path) -> None:
    session = dp.agent("toast")
    session.create_issue(title="mine")
    engine = dp.engine("ledger")
    assert isinstance(engine, DoltliteEngine)
    _kill_when_paused(preview_until_killed, str(data_dir))
    left = _scratch(engine)
    assert len(left) == 1 and left[0].startswith(PREVIEW_PREFIX)
    assert [b.name for b in dp.ledger.branches()] == ["toast"]  # never listed as an agent's
    pruned = dp.ledger.prune()
    assert left[0] in pruned.deleted
    assert _scratch(engine) == []
    assert session.merge().ok
