"""The embedded engine's hot path: writes on a driver connection kept per thread, the
file-replaced check on a timer for reads, row history without a pooled SQLAlchemy
read, and one retry loop shared by both engines."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from doltplane.store import doltlite
from doltplane.store.dolt_sql import DoltSqlEngine
from doltplane.store.doltlite import DoltliteEngine
from doltplane.store.server.engine import ServerEngine
from tests.store.conftest import put

SELECT = "SELECT v FROM t WHERE id = ?"


@pytest.fixture
def engine(engine: DoltliteEngine) -> DoltliteEngine:
    """The store package's engine (tests/store/conftest.py) with a row ``a = 1`` committed."""
    put(engine, a=1)
    engine.commit("row a")
    return engine


def driver_of_a_write(engine: DoltliteEngine) -> Any:
    def bump(conn: Any) -> Any:
        conn.exec_driver_sql("UPDATE t SET v = v + 1 WHERE id = 'a'")
        return conn.connection.dbapi_connection

    return engine.write(bump)


def test_each_thread_writes_on_its_own_kept_connection(engine: DoltliteEngine) -> None:
    first = driver_of_a_write(engine)
    seen: list[Any] = []
    other = threading.Thread(target=lambda: seen.append(driver_of_a_write(engine)))
    other.start()
    other.join()
    # a pool hands the one idle connection to whichever thread asks next
    assert seen[0] is not first
    assert driver_of_a_write(engine) is first
    assert not first.in_transaction  # committed, nothing left open between writes
    assert engine.fetch_rows(SELECT, ("a",)) == [(4,)]


def test_a_failed_write_leaves_the_kept_connection_usable(engine: DoltliteEngine) -> None:
    from doltplane.errors import EngineError

    with pytest.raises(EngineError):
        engine.write(lambda c: c.exec_driver_sql("INSERT INTO t VALUES ('a', 2)"))  # dup key
    driver_of_a_write(engine)
    assert engine.fetch_rows(SELECT, ("a",)) == [(2,)]


def test_reads_check_the_file_on_a_timer(
    engine: DoltliteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    original = DoltliteEngine._file_identity

    def counted(self: DoltliteEngine) -> tuple[int, int] | None:
        calls.append(1)
        return original(self)

    monkeypatch.setattr(DoltliteEngine, "_file_identity", counted)
    engine.fetch_rows(SELECT, ("a",))
    calls.clear()
    for _ in range(200):
        assert engine.fetch_rows(SELECT, ("a",)) == [(1,)]
    assert len(calls) <= 2  # a stat per read was a tenth of a point read
    driver_of_a_write(engine)
    assert calls  # writes always look


def test_a_read_follows_another_processes_gc_within_the_timer(engine: DoltliteEngine) -> None:
    assert engine.fetch_rows(SELECT, ("a",)) == [(1,)]
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from doltplane.config import Settings\n"
        "from doltplane.store.doltlite import DoltliteEngine\n"
        "p = Path(sys.argv[1])\n"
        "e = DoltliteEngine(p, Settings.load({'data_dir': p.parent}, env={}))\n"
        "e.write(lambda c: c.exec_driver_sql(\"UPDATE t SET v = 7 WHERE id = 'a'\"))\n"
        "e.commit('seven')\n"
        "e.gc()\n"
        "e.write(lambda c: c.exec_driver_sql(\"UPDATE t SET v = 8 WHERE id = 'a'\"))\n"
        "e.close()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "_DOLTLITE_BOOTSTRAPPED"}
    subprocess.run([sys.executable, "-c", script, str(engine.path)], check=True, env=env)
    time.sleep(doltlite._FOLLOW_EVERY * 2)
    assert engine.fetch_rows(SELECT, ("a",)) == [(8,)]
    assert engine.fetch_rows(SELECT, ("a",), "HEAD") == [(7,)]


def test_row_history_reads_on_the_kept_reader(
    engine: DoltliteEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for value in (2, 3):
        engine.write(lambda c, v=value: c.exec_driver_sql("UPDATE t SET v = ?", (v,)))
        engine.commit(f"v{value}")

    def no_pooled_read(self: DoltliteEngine, revision: str | None = None) -> Any:
        raise AssertionError("row history took a pooled SQLAlchemy read")

    monkeypatch.setattr(DoltliteEngine, "read", no_pooled_read)
    for _ in range(2):  # the second time the log's order of these commits is remembered
        versions = engine.row_history("t", {"id": "a"})
        assert [v.row["v"] for v in versions] == [3, 2, 1]
        assert set(versions[0].row) == {"id", "v"}


def test_both_engines_share_one_write_and_retry_loop() -> None:
    for name in ("_run", "write"):
        assert getattr(DoltliteEngine, name) is getattr(DoltSqlEngine, name)
        assert getattr(ServerEngine, name) is getattr(DoltSqlEngine, name)


def test_a_thread_keeps_a_bounded_number_of_branch_writers(engine: DoltliteEngine) -> None:
    names = [f"agents/a{n}" for n in range(doltlite._READ_ENGINE_CACHE + 4)]
    for name in names:
        engine.create_branch(name)
        engine.write(lambda c: c.exec_driver_sql("UPDATE t SET v = 9"), branch=name)
    assert len(engine._thread_conns().writers) <= doltlite._READ_ENGINE_CACHE
    for name in names:  # an evicted branch's writer opens again
        engine.write(lambda c: c.exec_driver_sql("UPDATE t SET v = v + 1"), branch=name)
        engine.commit("ten", branch=name)
        assert engine.fetch_rows(SELECT, ("a",), name) == [(10,)]
