"""The server engine against a real ``dolt sql-server``: every Engine method, the write
pattern, retries, time travel after merges, conflicts as data, the pool and its errors."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest
import sqlalchemy as sa

from doltplane.config import Settings
from doltplane.errors import (
    DatabaseBusy,
    InvalidInput,
    InvalidRevision,
    NotFound,
    QueryTimeout,
    ServerAuthFailed,
    ServerUnreachable,
    UnsupportedOperation,
)
from doltplane.store.base import MergeStatus
from doltplane.store.server import ServerEngine
from doltplane.store.server.pool import pool_for
from tests.servers import RunningServer

_numbers = itertools.count(1)


def _settings(**kw: Any) -> Settings:
    return Settings(author="tester <t@example.com>", **kw)


@pytest.fixture
def engine(dolt_server: RunningServer) -> Iterator[ServerEngine]:
    name = f"se{next(_numbers)}_{int(time.time() * 1000) % 10**8}"
    eng = ServerEngine(dolt_server.url, name, _settings())
    eng.write(
        lambda c: c.exec_driver_sql(
            "CREATE TABLE items (id VARCHAR(20) PRIMARY KEY, v VARCHAR(50), n INT)"
        ),
        message=lambda _: "create items",
    )
    yield eng
    with pool_for(dolt_server.url, _settings()).engine.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")


def put(
    eng: ServerEngine, key: str, value: str, *, branch: str | None = None, msg: str = ""
) -> str:
    eng.write(
        lambda c: c.execute(
            sa.text("REPLACE INTO items (id, v, n) VALUES (:id, :v, 0)"), {"id": key, "v": value}
        ),
        branch=branch,
        message=lambda _: msg or f"put {key}={value}",
    )
    return eng.resolve_revision(branch or "main")


def rows(eng: ServerEngine, revision: str | None = None) -> dict[str, str]:
    got = eng.fetch_rows("SELECT id, v FROM items ORDER BY id", (), revision)
    return {str(k): str(v) for k, v in got}


def test_commits_log_branches_tags_and_revisions(engine: ServerEngine) -> None:
    first = put(engine, "a", "1")
    second = put(engine, "b", "2")
    log = engine.log(limit=2)
    assert [c.hash for c in log] == [second, first]
    assert log[0].message == "put b=2" and log[0].time is not None
    assert engine.commit_count() >= 3
    assert rows(engine, first) == {"a": "1"}
    assert rows(engine, first[:9]) == {"a": "1"}  # a unique hash prefix
    assert rows(engine, "main~1") == {"a": "1"}
    with pytest.raises(InvalidRevision):
        engine.resolve_revision("nope")
    engine.create_branch("feature", first)
    assert engine.has_branch("feature")
    assert {b.name for b in engine.branches()} >= {"main", "feature"}
    put(engine, "c", "3", branch="feature")
    assert rows(engine, "feature") == {"a": "1", "c": "3"}
    assert rows(engine) == {"a": "1", "b": "2"}  # main untouched
    assert engine.merge_base("main", "feature") == first
    assert engine.create_tag("v1", first) == first
    assert engine.tags()["v1"] == first
    engine.write(lambda c: c.exec_driver_sql("INSERT INTO items VALUES ('d', '4', 0)"))
    assert engine.is_dirty()
    assert engine.commit("dirty work") is not None
    assert not engine.is_dirty()
    assert engine.commit("nothing") is None
    engine.delete_branch("feature", force=True)
    assert not engine.has_branch("feature")
    with pytest.raises(NotFound):
        engine.delete_branch("feature")
    assert engine.capabilities.remotes is False
    with pytest.raises(UnsupportedOperation):
        engine.push("origin", "file:///tmp/x", "main")


def test_history_and_diff(engine: ServerEngine) -> None:
    first = put(engine, "a", "1")
    second = put(engine, "a", "2")
    history = engine.row_history("items", {"id": "a"})
    assert [v.row["v"] for v in history] == ["2", "1"]
    assert [v.commit for v in history] == [second, first]
    assert [v.row["v"] for v in engine.row_history("items", {"id": "a"}, revision=first)] == ["1"]
    changes = list(engine.diff("items", first, second))
    assert len(changes) == 1 and changes[0].diff_type == "modified"
    assert changes[0].key == {"id": "a"}
    assert changes[0].before is not None and changes[0].before["v"] == "1"
    assert changes[0].after is not None and changes[0].after["v"] == "2"
    assert engine.first_parents([second]) == {second: first}


def test_two_writers_never_commit_each_others_work(engine: ServerEngine) -> None:
    inside = threading.Event()
    release = threading.Event()
    results: dict[str, Any] = {}

    def slow(conn: sa.Connection) -> None:
        conn.exec_driver_sql("INSERT INTO items VALUES ('slow', 'x', 0)")
        inside.set()
        assert release.wait(30)

    thread = threading.Thread(
        target=lambda: results.setdefault("slow", engine.write(slow, message=lambda _: "slow"))
    )
    thread.start()
    assert inside.wait(30)
    fast = put(engine, "fast", "y", msg="fast")  # commits while the slow one is open
    release.set()
    thread.join(30)
    assert rows(engine, fast) == {"fast": "y"}  # the open transaction's row is not in it
    assert rows(engine, "main") == {"fast": "y", "slow": "x"}
    assert [c.message for c in engine.log(limit=2)] == ["slow", "fast"]


def test_a_real_write_conflict_is_retried_whole(engine: ServerEngine) -> None:
    put(engine, "a", "0")
    inside = threading.Event()
    release = threading.Event()
    calls: list[int] = []

    def bump(conn: sa.Connection) -> None:
        calls.append(1)
        current = conn.exec_driver_sql("SELECT v FROM items WHERE id = 'a'").scalar()
        conn.exec_driver_sql("UPDATE items SET v = %s WHERE id = 'a'", (f"{current}+slow",))
        if len(calls) == 1:
            inside.set()
            assert release.wait(30)

    thread = threading.Thread(target=lambda: engine.write(bump, message=lambda _: "slow"))
    thread.start()
    assert inside.wait(30)
    put(engine, "a", "fast")  # the same cell, committed first
    release.set()
    thread.join(30)
    assert len(calls) == 2  # the first attempt lost at COMMIT and was redone whole
    assert rows(engine)["a"] == "fast+slow"


def test_a_conflict_past_the_retries_is_database_busy_and_writes_nothing(
    engine: ServerEngine, dolt_server: RunningServer
) -> None:
    put(engine, "a", "0")
    impatient = ServerEngine(dolt_server.url, engine.database, _settings(write_retries=0))
    inside = threading.Event()
    release = threading.Event()
    failures: list[BaseException] = []

    def bump(conn: sa.Connection) -> None:
        conn.exec_driver_sql("UPDATE items SET v = 'slow' WHERE id = 'a'")
        conn.exec_driver_sql("INSERT INTO items VALUES ('only-slow', 'x', 0)")
        inside.set()
        assert release.wait(30)

    def run() -> None:
        try:
            impatient.write(bump, message=lambda _: "slow")
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    assert inside.wait(30)
    put(engine, "a", "fast")
    release.set()
    thread.join(30)
    assert [type(f) for f in failures] == [DatabaseBusy]
    assert rows(engine) == {"a": "fast"}  # nothing of the losing transaction
    assert engine.log(limit=1)[0].message == "put a=fast"


def test_time_resolves_along_the_first_parent_line_after_a_merge(engine: ServerEngine) -> None:
    put(engine, "a", "main-1")
    engine.create_branch("side")
    time.sleep(0.05)
    put(engine, "b", "side-1", branch="side")
    between = dt.datetime.now(dt.UTC)  # side has b; main does not
    time.sleep(0.05)
    on_main = put(engine, "c", "main-2")
    result = engine.merge("side")
    assert result.status is MergeStatus.MERGED
    held = engine.resolve_time(between)
    assert rows(engine, held) == {"a": "main-1"}  # not the side commit merged in later
    assert engine.resolve_time(dt.datetime.now(dt.UTC)) == engine.resolve_revision("main")
    assert on_main in [c.hash for c in engine.first_parent_line()]
    side_hash = engine.resolve_revision("side")
    assert side_hash not in [c.hash for c in engine.first_parent_line()]
    with pytest.raises(InvalidRevision):
        engine.resolve_time(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))


def test_conflicts_come_back_as_data_and_resolve(engine: ServerEngine) -> None:
    put(engine, "a", "base")
    engine.create_branch("agent")
    put(engine, "a", "ours")
    put(engine, "a", "theirs", branch="agent")
    before = engine.resolve_revision("main")
    result = engine.merge("agent")
    assert result.status is MergeStatus.CONFLICT and not result.ok
    (conflict,) = result.conflicts
    assert conflict.table == "items" and conflict.key == {"id": "a"}
    assert conflict.base is not None and conflict.base["v"] == "base"
    assert conflict.ours is not None and conflict.ours["v"] == "ours"
    assert conflict.theirs is not None and conflict.theirs["v"] == "theirs"
    assert engine.resolve_revision("main") == before  # nothing changed
    with pytest.raises(InvalidInput):
        engine.resolve_merge("agent", {"items": [{"id": "zz", "v": "x", "n": 0}]})
    merged = engine.resolve_merge("agent", {"items": [{"id": "a", "v": "both", "n": 1}]})
    assert merged.status is MergeStatus.MERGED
    assert rows(engine) == {"a": "both"}
    put(engine, "a", "ours2")
    put(engine, "a", "theirs2", branch="agent")
    assert engine.resolve_merge("agent", "theirs").ok
    assert rows(engine) == {"a": "theirs2"}


def test_squash_and_gc(engine: ServerEngine) -> None:
    for i in range(4):
        put(engine, "a", str(i))
    cutoff = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    time.sleep(1.1)
    kept = put(engine, "b", "kept")
    before = engine.commit_count()
    result = engine.squash_before(cutoff)
    assert result.squashed >= 4
    assert engine.commit_count() == before - result.squashed + 1
    assert rows(engine) == {"a": "3", "b": "kept"}
    assert engine.resolve_revision(kept[:12]) == engine.resolve_revision("main")  # replaced hash
    assert not engine.squash_running()
    engine.gc()
    assert rows(engine) == {"a": "3", "b": "kept"}  # the pool recovered from the gc


def test_one_gc_at_a_time_per_server(engine: ServerEngine, dolt_server: RunningServer) -> None:
    # concurrent DOLT_GC calls hung Dolt 1.86.4: a gc while another runs is refused as busy
    other = pymysql.connect(host=dolt_server.spec.host, port=dolt_server.spec.port, user="root")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT GET_LOCK('doltplane-gc', 0)")  # another process collecting
            assert cursor.fetchone() == (1,)
            with pytest.raises(DatabaseBusy):
                engine.gc()
            cursor.execute("SELECT RELEASE_LOCK('doltplane-gc')")
    finally:
        other.close()
    engine.gc()  # free again: it runs, and frees the lock when its connection closes
    engine.gc()


def test_pool_is_shared_bounded_and_discards_idle(dolt_server: RunningServer) -> None:
    url = dolt_server.url.replace("127.0.0.1", "localhost")  # a pool of its own
    settings = _settings(pool_max_open=3, pool_max_idle=1, pool_idle_seconds=1)
    one = ServerEngine(url, "pool_a", settings)
    two = ServerEngine(url, "pool_b", settings)
    assert one._pool is two._pool
    stats = one.pool_stats()
    assert set(stats) == {"open", "idle", "in_use", "overflow", "created_total", "discarded_total"}

    def hold() -> None:
        with one.read() as conn:
            conn.exec_driver_sql("SELECT SLEEP(0.3)")

    threads = [threading.Thread(target=hold) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = one.pool_stats()
    assert stats["open"] <= 3 and stats["idle"] <= 1
    discarded = stats["discarded_total"]
    time.sleep(1.2)
    one.fetch_rows("SELECT 1")
    assert one.pool_stats()["discarded_total"] > discarded


def test_idle_limit_stays_below_the_servers_wait_timeout(dolt_server: RunningServer) -> None:
    url = dolt_server.url.replace("127.0.0.1", "127.1")  # a pool of its own
    eng = ServerEngine(url, "idle_db", _settings(pool_idle_seconds=3600))
    assert 0 < eng._pool.idle_limit < dolt_server.spec.wait_timeout_seconds


def test_server_path_errors_are_typed_and_never_show_the_password(
    dolt_server: RunningServer,
) -> None:
    port = dolt_server.spec.port
    conn = pymysql.connect(host="127.0.0.1", port=port, user="root", autocommit=True)
    with conn.cursor() as cursor:
        cursor.execute("CREATE USER IF NOT EXISTS 'dp'@'%' IDENTIFIED BY 'rightpw'")
        cursor.execute("GRANT ALL ON *.* TO 'dp'@'%'")
    conn.close()
    with pytest.raises(ServerAuthFailed) as refused:
        ServerEngine(f"mysql://dp:s3cretpw@127.0.0.1:{port}", "x", _settings())
    assert "s3cretpw" not in str(refused.value) and "s3cretpw" not in refused.value.one_line()
    with pytest.raises(ServerUnreachable):
        ServerEngine("mysql://root:pw@127.0.0.1:1", "x", _settings())
    with pytest.raises(NotFound):
        ServerEngine(dolt_server.url, "never_created", _settings(), create=False)
    ok = ServerEngine(f"mysql+pymysql://dp:rightpw@127.0.0.1:{port}", "pw_ok", _settings())
    assert "rightpw" not in ok.location


def test_query_is_read_only_qualified_named_and_stopped_at_timeout(
    dolt_server: RunningServer,
) -> None:
    led = ServerEngine(dolt_server.url, "q_ledger", _settings())
    ops = ServerEngine(dolt_server.url, "q_ops", _settings())
    for eng, table in ((led, "issues"), (ops, "operational_state")):
        eng.write(
            lambda c, t=table: (
                c.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {t} (id VARCHAR(9) PRIMARY KEY)"),
                c.exec_driver_sql(f"REPLACE INTO {t} VALUES ('x1')"),
            )
        )
    got = led.query(
        "SELECT i.id AS issue, o.id AS op FROM ledger.issues i "
        "JOIN ops.operational_state o ON o.id = i.id WHERE i.id = :id",
        {"id": "x1"},
        attach={"ops": ops},
    )
    assert got == [{"issue": "x1", "op": "x1"}]
    unqualified = led.query("SELECT id FROM operational_state", None, attach={"ops": ops})
    assert unqualified == [{"id": "x1"}]
    for bad in (
        "DELETE FROM issues",
        "SELECT dolt_commit('-am', 'x')",
        "SELECT SLEEP(1)",
        "SELECT 1; SELECT 2",
    ):
        with pytest.raises(InvalidInput):
            led.query(bad, None, attach={"ops": ops})
    slow = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 900) "
        "SELECT count(*) FROM n AS a, n AS b, n AS c"
    )
    with pytest.raises(QueryTimeout):
        led.query(slow, None, attach={"ops": ops}, timeout=0.5)
    assert led.query("SELECT count(*) AS n FROM issues", None) == [{"n": 1}]


def test_revision_reads_go_to_the_read_replica(dolt_server: RunningServer) -> None:
    replica_url = dolt_server.url.replace("127.0.0.1", "localhost")
    eng = ServerEngine(dolt_server.url, "replica_db", _settings(), read_url=replica_url)
    eng.write(
        lambda c: c.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY)"),
        message=lambda _: "t",
    )
    replica = pool_for(replica_url, _settings())
    before = replica.stats()["created_total"] + replica.stats()["open"]
    head = eng.resolve_revision("main")
    with replica.engine.connect():
        pass
    used: list[str] = []
    sa.event.listen(replica.engine, "engine_connect", lambda conn: used.append("replica"))
    eng.fetch_rows("SELECT * FROM t", (), head)
    eng.log(limit=1)
    assert used, "AS OF and log reads use the replica"
    used.clear()
    eng.write(lambda c: c.exec_driver_sql("INSERT INTO t VALUES (1)"))
    eng.fetch_rows("SELECT * FROM t")
    assert not used, "writes and live reads stay on the primary"
    assert before >= 0


def test_connect_takes_every_server_setting(dolt_server: RunningServer, tmp_path: Any) -> None:
    import doltplane

    with pytest.raises(NotFound, match="doltplane databases"):
        doltplane.connect(
            dolt_server.url, create=False, ops_database="no_ops", ledger_database="no_ledger"
        )
    url = dolt_server.url.replace("mysql://", "mysql+pymysql://")
    with doltplane.connect(
        url,
        data_dir=tmp_path,
        read_url=dolt_server.url.replace("127.0.0.1", "localhost"),
        ops_database="conn_ops",
        ledger_database="conn_ledger",
        pool_max_open=4,
    ) as dp:
        issue = dp.ledger.create_issue("on the server")
        assert dp.ledger.get_issue(issue.id).title == "on the server"
        assert dp.engine("ledger").location.endswith("/conn_ledger")
        head = dp.ledger.log()[0].hash
        assert [i.title for i in dp.ledger.as_of(head).issues()] == ["on the server"]
    with doltplane.connect(
        dolt_server.url, create=False, ops_database="conn_ops", ledger_database="conn_ledger"
    ) as again:
        assert [i.title for i in again.ledger.issues()] == ["on the server"]


def test_a_replica_without_the_commit_falls_back_to_the_primary(
    dolt_server: RunningServer, tmp_path: Any
) -> None:
    from tests.servers import running_server

    with running_server(tmp_path / "empty-replica") as empty:  # holds no database at all
        eng = ServerEngine(dolt_server.url, "fallback_db", _settings(), read_url=empty.url)
        first = put_table(eng, "1")
        second = put_table(eng, "2")
        assert eng.fetch_rows("SELECT v FROM t", (), first) == [("1",)]
        assert [c.hash for c in eng.log(second, limit=2)] == [second, first]
        assert [v.row["v"] for v in eng.row_history("t", {"id": 1})] == ["2", "1"]
        assert [c.diff_type for c in eng.diff("t", first, second)] == ["modified"]


def put_table(eng: ServerEngine, value: str) -> str:
    eng.write(
        lambda c: (
            c.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, v VARCHAR(9))"),
            c.exec_driver_sql("REPLACE INTO t VALUES (1, %s)", (value,)),
        ),
        message=lambda _: f"v={value}",
    )
    return eng.resolve_revision("main")
