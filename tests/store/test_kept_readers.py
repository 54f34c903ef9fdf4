"""Kept read connections (``DoltliteEngine.fetch_rows``) stay correct: each read sees the latest
committed state, even a commit made by another process, and the file swap of a gc."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from doltplane.store.doltlite import DoltliteEngine
from tests.store.conftest import put

SELECT = "SELECT v FROM t WHERE id = ?"


@pytest.fixture
def engine(engine: DoltliteEngine) -> DoltliteEngine:
    """The store package's engine (tests/store/conftest.py) with a row ``a = 1`` committed."""
    put(engine, a=1)
    engine.commit("row a")
    return engine


def write_in_child(path: Path, value: int, *, commit: bool) -> None:
    script = (
        "import sys, doltplane\n"
        "from doltplane.config import Settings\n"
        "from doltplane.store.doltlite import DoltliteEngine\n"
        "from pathlib import Path\n"
        "p = Path(sys.argv[1])\n"
        "e = DoltliteEngine(p, Settings.load({'data_dir': p.parent}, env={}))\n"
        "e.write(lambda c: c.exec_driver_sql(\"UPDATE t SET v = ? WHERE id = 'a'\", "
        "(int(sys.argv[2]),)))\n"
        "if sys.argv[3] == '1': e.commit('child')\n"
        "e.close()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "_DOLTLITE_BOOTSTRAPPED"}
    subprocess.run(
        [sys.executable, "-c", script, str(path), str(value), "1" if commit else "0"],
        check=True,
        env=env,
        timeout=60,
    )


def test_kept_reader_sees_another_processes_write(engine: DoltliteEngine) -> None:
    assert engine.fetch_rows(SELECT, ("a",)) == [(1,)]  # the connection is now kept
    write_in_child(engine.path, 2, commit=False)  # a write transaction committed, no Dolt commit
    assert engine.fetch_rows(SELECT, ("a",)) == [(2,)]
    write_in_child(engine.path, 3, commit=True)
    assert engine.fetch_rows(SELECT, ("a",)) == [(3,)]
    # the same kept connection answers at a revision without moving
    assert engine.fetch_rows(SELECT, ("a",), "HEAD~1") == [(1,)]
    assert engine.fetch_rows(SELECT, ("a",), "HEAD") == [(3,)]


def test_kept_reader_sees_this_processes_writes_and_follows_gc(engine: DoltliteEngine) -> None:
    assert engine.fetch_rows(SELECT, ("a",)) == [(1,)]
    engine.write(lambda c: c.exec_driver_sql("UPDATE t SET v = 5 WHERE id = 'a'"))
    assert engine.fetch_rows(SELECT, ("a",)) == [(5,)]
    engine.commit("five")
    engine.gc()
    engine.write(lambda c: c.exec_driver_sql("UPDATE t SET v = 6 WHERE id = 'a'"))
    assert engine.fetch_rows(SELECT, ("a",)) == [(6,)]


def test_each_thread_keeps_its_own_connection(engine: DoltliteEngine) -> None:
    seen: list[object] = []

    def read() -> None:
        seen.append(engine.fetch_rows(SELECT, ("a",)))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [[(1,)]] * 4


def test_kept_reader_refuses_writes(engine: DoltliteEngine) -> None:
    from doltplane.errors import DoltplaneError

    with pytest.raises(DoltplaneError):
        engine.fetch_rows("UPDATE t SET v = 9")
    with engine.read() as conn:
        assert conn.execute(sa.text("SELECT v FROM t")).scalar() == 1


def test_compiled_writes_store_what_sqlalchemy_stored(tmp_path: Path) -> None:
    """set_state/set_many run compiled SQL on the driver: the stored text (JSON, time with
    microseconds) must stay what the SQLAlchemy types wrote, or old and new rows differ."""
    import doltplane

    with doltplane.connect(tmp_path / "d") as dp:
        dp.migrate()
        dp.ops.set_state("a", rig="r", agent="x", status="s", state={"k": [1, 2]})
        dp.ops.set_many([{"id": "a", "rig": "r", "agent": "x", "status": "t", "state": {}}])
        with dp.engine("ops").read() as conn:
            state, version, stamp = conn.exec_driver_sql(
                "SELECT state, version, updated_at FROM operational_state WHERE id = 'a'"
            ).one()
        assert (state, version) == ("{}", 2)
        assert len(stamp) == len("2026-01-01 00:00:00.000000") and stamp[10] == " "
        got = dp.ops.get("a")
        assert got.version == 2 and got.status == "t" and got.updated_at.tzinfo is not None
        assert dp.ops.get_many(["a", "missing", "a"]) == {"a": got}
