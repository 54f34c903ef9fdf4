"""A read replica: a second supervised dolt sql-server pulling from the first's remote."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from doltplane.config import Settings
from doltplane.errors import ConfigError, EngineError, ServerReadOnly
from doltplane.server.control import server_status, start_server, stop_server
from doltplane.server.probe import open_connection, probe
from doltplane.server.replica import replication_lag

Make = Callable[..., Settings]


def test_a_commit_on_the_primary_is_read_on_the_replica(supervised: Make, tmp_path: Path) -> None:
    remote = (tmp_path / "remote").as_uri()
    settings = supervised()
    before = start_server(settings)
    conn = open_connection(before.url or "")
    with conn.cursor() as cursor:
        # A database with history, made before replication was turned on.
        cursor.execute("CREATE DATABASE ledger")
        cursor.execute("CREATE TABLE ledger.issues (id VARCHAR(20) PRIMARY KEY, title TEXT)")
        cursor.execute("USE ledger")
        cursor.execute("INSERT INTO issues VALUES ('gt-1', 'first')")
        cursor.execute("CALL DOLT_COMMIT('-Am', 'one')")
        cursor.execute("UPDATE issues SET title = 'second' WHERE id = 'gt-1'")
        cursor.execute("CALL DOLT_COMMIT('-Am', 'two')")
    conn.close()
    stop_server(settings)
    primary = start_server(dataclasses.replace(settings, server_replicate_to=remote))

    replica_settings = supervised(server_replica_of=remote)
    replica = start_server(replica_settings)
    conn = open_connection(f"{replica.url}/ledger")
    with conn.cursor() as cursor:
        cursor.execute("SELECT title FROM issues WHERE id = 'gt-1'")
        assert cursor.fetchone() == ("second",)
        cursor.execute("SELECT title FROM issues AS OF 'HEAD~1' WHERE id = 'gt-1'")
        assert cursor.fetchone() == ("first",)
        cursor.execute("SELECT COUNT(*) FROM dolt_history_issues")
        assert cursor.fetchone() == (2,)
    conn.close()

    lags = [replication_lag(primary.url or "", replica.url or "", "ledger") for _ in range(5)]
    print(
        f"replication lag over 5 commits: min {min(lags) * 1000:.1f} ms,"
        f" max {max(lags) * 1000:.1f} ms"
    )
    assert max(lags) < 30

    # The replica refuses writes (they would vanish at its next pull), and its
    # supervisor does not take that for a failure.
    with pytest.raises(ServerReadOnly):
        probe(replica.url or "", write=True)
    assert server_status(replica_settings).running
    assert server_status(replica_settings).restarts == 0


def test_a_server_cannot_be_primary_and_replica(supervised: Make, tmp_path: Path) -> None:
    remote = (tmp_path / "remote").as_uri()
    with pytest.raises(ConfigError):
        start_server(supervised(server_replicate_to=remote, server_replica_of=remote))
    with pytest.raises(ConfigError):
        start_server(supervised(server_replica_of="/not/a/url"))


def _queries_served(metrics_url: str) -> float:
    import urllib.request

    with urllib.request.urlopen(metrics_url, timeout=5) as response:
        text = response.read().decode()
    return sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("dss_query_duration_count")
    )


def test_connect_sends_history_and_as_of_reads_to_the_replica(
    supervised: Make, tmp_path: Path
) -> None:
    from doltplane import connect

    remote = (tmp_path / "remote").as_uri()
    primary = start_server(supervised(server_replicate_to=remote))
    # No probes during the test: the replica's query count is the client's alone.
    replica_settings = supervised(server_replica_of=remote, server_probe_interval_seconds=3600)
    replica = start_server(replica_settings)
    assert replica.metrics_url is not None
    with connect(primary.url, read_url=replica.url, data_dir=tmp_path / "client") as dp:
        issue = dp.ledger.create_issue("routed", owner="toast")
        first = dp.ledger.log(limit=1)[0].hash
        dp.ledger.update_issue(issue.id, status="closed")

        before = _queries_served(replica.metrics_url)
        assert dp.ledger.get_issue(issue.id).status == "closed"  # live: the primary
        assert _queries_served(replica.metrics_url) == before

        assert dp.ledger.as_of(first).get_issue(issue.id).status == "open"
        assert [v.record.status for v in dp.ledger.history(issue.id)][:2] == ["closed", "open"]
        assert _queries_served(replica.metrics_url) > before

        # With the replica gone, history reads fail (typed); the primary still answers.
        stop_server(replica_settings)
        assert dp.ledger.get_issue(issue.id).status == "closed"
        with pytest.raises(EngineError):
            dp.ledger.history(issue.id)
