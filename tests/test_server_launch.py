"""The launcher starts a real dolt sql-server that answers SQL and keeps the user's ~/.dolt out."""

from __future__ import annotations

import pymysql

from tests.servers import RunningServer


def test_server_answers_and_reports_dolt(dolt_server: RunningServer) -> None:
    conn = pymysql.connect(host=dolt_server.spec.host, port=dolt_server.spec.port, user="root")
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT dolt_version()")
            (version,) = cursor.fetchone()
            cursor.execute("SELECT @@wait_timeout")
            (wait_timeout,) = cursor.fetchone()
    finally:
        conn.close()
    assert version.count(".") == 2
    assert int(wait_timeout) == dolt_server.spec.wait_timeout_seconds
    assert (dolt_server.spec.home / ".dolt" / "config_global.json").exists()
