"""The embedded engine on its own: errors translated, merges as data, squash, loading."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from doltplane import MergeStatus
from doltplane.config import Settings
from doltplane.errors import DoltplaneError, EngineError, InvalidBranchName, InvalidRevision
from doltplane.store.doltlite import DoltliteEngine

from .conftest import put, rows


def test_driver_errors_never_escape(engine: DoltliteEngine) -> None:
    with pytest.raises(EngineError) as info:
        engine.write(lambda c: c.exec_driver_sql("INSERT INTO nowhere VALUES (1)"))
    assert not isinstance(info.value.__cause__, sa.exc.SQLAlchemyError)
    with pytest.raises(InvalidRevision), engine.read("no-such-branch"):
        pass
    with pytest.raises(DoltplaneError):
        engine.log("HEAD~50")
    with pytest.raises(InvalidBranchName):
        engine.create_branch("bad name")


def test_write_rolls_back_on_error(engine: DoltliteEngine) -> None:
    def half(conn: sa.Connection) -> None:
        conn.exec_driver_sql("INSERT INTO t VALUES ('a', 1)")
        raise ValueError("boom")

    with pytest.raises(ValueError):
        engine.write(half)
    assert rows(engine) == {}


def test_merge_reports_conflicts_as_data_and_changes_nothing(engine: DoltliteEngine) -> None:
    put(engine, None, a=1, b=1)
    engine.commit("base")
    engine.create_branch("agent/x")
    put(engine, "agent/x", a=2, c=3)
    engine.commit("theirs", branch="agent/x")
    put(engine, None, a=5, d=4)
    main_tip = engine.commit("ours")
    branch_tip = engine.resolve_revision("agent/x")

    result = engine.merge("agent/x", message="merge x")
    assert result.status is MergeStatus.CONFLICT
    (conflict,) = result.conflicts
    assert conflict.key == {"id": "a"}
    assert (conflict.base, conflict.ours, conflict.theirs) == (
        {"id": "a", "v": 1},
        {"id": "a", "v": 5},
        {"id": "a", "v": 2},
    )
    assert engine.resolve_revision("main") == main_tip
    assert engine.resolve_revision("agent/x") == branch_tip
    assert rows(engine) == {"a": 5, "b": 1, "d": 4}

    done = engine.resolve_merge("agent/x", {"t": [{"id": "a", "v": 7}]}, message="merge x")
    assert done.status is MergeStatus.MERGED
    assert rows(engine, "main") == {"a": 7, "b": 1, "c": 3, "d": 4}  # nothing lost
    assert not engine.is_dirty()
    assert engine.merge("agent/x").status is MergeStatus.UP_TO_DATE


@pytest.mark.parametrize(("strategy", "expected"), [("ours", 5), ("theirs", 2)])
def test_resolve_with_a_side_keeps_every_row(
    engine: DoltliteEngine, strategy: str, expected: int
) -> None:
    put(engine, None, a=1)
    engine.commit("base")
    engine.create_branch("x")
    put(engine, "x", a=2, c=3)
    engine.commit("theirs", branch="x")
    put(engine, None, a=5, d=4)
    engine.commit("ours")
    result = engine.resolve_merge("x", strategy)  # type: ignore[arg-type]
    assert result.status is MergeStatus.MERGED
    assert rows(engine, "main") == {"a": expected, "c": 3, "d": 4}


def test_squash_keeps_recent_commits_and_content(engine: DoltliteEngine) -> None:
    import datetime as dt
    import time

    for i in range(6):
        put(engine, None, **{f"k{i}": i})
        engine.commit(f"old {i}")
    time.sleep(1.1)
    cutoff = engine.log(limit=1)[0].date + dt.timedelta(seconds=1)
    time.sleep(1.0)
    put(engine, None, new=1)
    engine.commit("new 1")
    put(engine, None, new=2)
    engine.commit("new 2")
    put(engine, None, pending=9)  # uncommitted work survives the rewrite
    before = engine.commit_count()
    result = engine.squash_before(cutoff)
    assert result.squashed == 7  # create t + old 0..5
    assert engine.commit_count() == before - 6
    assert [c.message for c in engine.log(limit=2)] == ["new 2", "new 1"]
    assert rows(engine, "HEAD~1")["new"] == 1
    assert rows(engine)["pending"] == 9
    assert engine.is_dirty()


def test_child_processes_load_doltlite_themselves(tmp_path: Path) -> None:
    assert os.environ.get("_DOLTLITE_BOOTSTRAPPED") != "1"
    code = (
        "import doltplane, sys;"
        f"dp = doltplane.connect({str(tmp_path / 'c')!r});"
        "print(dp.engine('ops').commit_count())"
    )
    env = dict(os.environ, _DOLTLITE_BOOTSTRAPPED="1")  # as a parent that loaded it would pass
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) >= 2


def test_write_can_end_in_a_commit_under_the_same_lock(engine: DoltliteEngine) -> None:
    before = engine.commit_count()

    def insert(conn: sa.Connection) -> str:
        conn.exec_driver_sql("INSERT INTO t VALUES ('w', 1)")
        return "w"

    engine.write(insert, message=lambda key: f"add {key}", author="Toast <toast@gt>")
    head = engine.log(limit=1)[0]
    assert (head.message, head.author, head.email) == ("add w", "Toast", "toast@gt")
    assert engine.commit_count() == before + 1 and not engine.is_dirty()
    engine.write(lambda c: c.exec_driver_sql("UPDATE t SET v = 2"), message=lambda _: None)
    assert engine.commit_count() == before + 1 and engine.is_dirty()


def test_a_lock_held_past_the_bound_is_a_clear_error(tmp_path: Path) -> None:
    from doltplane.errors import DatabaseBusy
    from doltplane.store.loader import sqlite_module

    settings = Settings.load(
        {"data_dir": tmp_path, "busy_timeout_ms": 20, "write_retries": 2}, env={}
    )
    eng = DoltliteEngine(tmp_path / "busy.db", settings)
    eng.write(lambda c: c.exec_driver_sql("CREATE TABLE t (id TEXT PRIMARY KEY)"))
    holder = sqlite_module().connect(str(tmp_path / "busy.db"), isolation_level=None, timeout=0)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock throughout
    try:
        with pytest.raises(DatabaseBusy) as info:
            eng.write(lambda c: c.exec_driver_sql("INSERT INTO t VALUES ('x')"))
        assert info.value.attempts == 3 and "locked" in info.value.one_line()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    eng.write(lambda c: c.exec_driver_sql("INSERT INTO t VALUES ('y')"))  # free again: works
    with eng.read() as conn:
        assert conn.exec_driver_sql("SELECT id FROM t").scalars().all() == ["y"]
    eng.close()
