"""Read replicas through a Dolt remote (Dolt's remote-based replication).

The primary pushes every ``DOLT_COMMIT`` to a remote named ``doltplane_replica``
in each database (``@@dolt_replicate_to_remote``; the push is synchronous, so a
commit is on the remote when the call returns). The remote's URL comes from a
folder URL, one subfolder per database (``@@dolt_replication_remote_url_template``),
so databases created later get the remote too. A replica server
(``@@dolt_read_replica_remote`` with ``@@dolt_replicate_all_heads``) pulls at the
start of each transaction and clones a database the first time it is used; it
runs read-only, so nothing written there is lost on the next pull.

What replicates: each branch's commits. A branch created on the primary without
a commit of its own reaches the replica at the primary's next start (which
pushes every branch) or with its first commit; the working set (uncommitted
writes) never does.
"""

from __future__ import annotations

import time
from typing import Any

from doltplane.errors import ConfigError, EngineError
from doltplane.server.probe import open_connection

REMOTE = "doltplane_replica"
SCHEMES = ("file://", "http://", "https://", "aws://", "gs://", "oci://")
SYSTEM_DATABASES = frozenset({"information_schema", "mysql", "performance_schema", "sys"})


def url_template(remote: str) -> str:
    """``file:///srv/remote`` -> ``file:///srv/remote/{database}``."""
    if not remote.startswith(SCHEMES):
        raise ConfigError(
            f"replication remote {remote!r} is not a remote URL",
            hint="use a folder URL such as file:///srv/doltplane-remote",
        )
    return remote.rstrip("/") + "/{database}"


def primary_variables(remote: str) -> tuple[tuple[str, str | int], ...]:
    return (
        ("dolt_replicate_to_remote", REMOTE),
        ("dolt_replication_remote_url_template", url_template(remote)),
    )


def replica_variables(remote: str) -> tuple[tuple[str, str | int], ...]:
    return (
        ("dolt_read_replica_remote", REMOTE),
        ("dolt_replicate_all_heads", 1),
        ("dolt_replication_remote_url_template", url_template(remote)),
    )


def _rows(cursor: Any, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
    cursor.execute(sql, args)
    return list(cursor.fetchall())


def seed_remote(server_url: str, remote: str, *, timeout: float = 30.0) -> list[str]:
    """On a primary: give every database the replication remote and push all its branches.

    The URL template only reaches databases created after it was set; this covers
    those made before, and branches that never had a commit. Returns the databases.
    """
    import pymysql

    template = url_template(remote)
    conn = open_connection(server_url, timeout=timeout)
    seeded = []
    try:
        with conn.cursor() as cursor:
            names = [r[0] for r in _rows(cursor, "SHOW DATABASES")]
            for name in names:
                if name.lower() in SYSTEM_DATABASES:
                    continue
                cursor.execute(f"USE `{name}`")
                remotes = {r[0] for r in _rows(cursor, "SELECT name FROM dolt_remotes")}
                if REMOTE not in remotes:
                    url = template.replace("{database}", name)
                    cursor.execute("CALL DOLT_REMOTE('add', %s, %s)", (REMOTE, url))
                for (branch,) in _rows(cursor, "SELECT name FROM dolt_branches"):
                    cursor.execute("CALL DOLT_PUSH(%s, %s)", (REMOTE, branch))
                seeded.append(name)
    except pymysql.MySQLError as exc:
        raise EngineError(
            f"could not seed the replication remote {remote}: {exc.args[-1]}",
            hint="check that the remote folder exists and is writable",
        ) from None
    finally:
        conn.close()
    return seeded


def replication_lag(
    primary_url: str, replica_url: str, database: str, *, timeout: float = 30.0
) -> float:
    """Seconds from a commit on the primary until a read on the replica sees it.

    Commits an empty change to ``database`` on the primary, then reads the
    replica's ``main`` until it holds that commit.
    """
    import pymysql

    primary = open_connection(f"{primary_url}/{database}", timeout=timeout)
    try:
        with primary.cursor() as cursor:
            cursor.execute("CALL DOLT_COMMIT('--allow-empty', '-m', 'doltplane replication probe')")
            row = cursor.fetchone()
            assert row is not None
            commit = str(row[0])
    finally:
        primary.close()
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    replica = open_connection(f"{replica_url}/{database}", timeout=timeout)
    try:
        with replica.cursor() as cursor:
            while True:
                try:
                    cursor.execute("SELECT HASHOF('main')")
                    row = cursor.fetchone()
                except pymysql.MySQLError as exc:
                    raise EngineError(f"replica read failed: {exc.args[-1]}") from None
                if row is not None and str(row[0]) == commit:
                    return time.perf_counter() - started
                if time.monotonic() > deadline:
                    raise EngineError(
                        f"the replica did not reach commit {commit} within {timeout:g} s",
                        hint="check the replica's server_replica_of and the remote folder",
                    )
                time.sleep(0.01)
    finally:
        replica.close()
