"""The supervisor on real dolt sql-server processes, with short test intervals."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymysql
import pytest

from doltplane.config import Settings
from doltplane.errors import EngineError, ServerStartFailed, SupervisorBusy
from doltplane.server.control import (
    ensure_running,
    read_log,
    server_status,
    spawn_supervisor,
    start_server,
    stop_server,
)
from doltplane.server.probe import open_connection, probe
from doltplane.server.state import ServerPaths, State, pid_alive
from tests.server.conftest import dolt_wrapper

Make = Callable[..., Settings]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def test_start_status_stop(supervised: Make) -> None:
    settings = supervised()
    status = start_server(settings)
    assert status.state == State.RUNNING
    assert probe(status.url or "").version == status.version
    assert status.pid is not None and pid_alive(status.pid)
    assert status.server_pid is not None and pid_alive(status.server_pid)
    assert (ServerPaths.of(settings.data_dir).root / "data").is_dir()
    later = server_status(settings)
    assert later.last_probe_ok is True and later.last_probe_latency_ms is not None
    assert later.uptime_seconds is not None and later.restarts == 0

    stopped = stop_server(settings)
    assert stopped.state == State.STOPPED and stopped.pid is None
    assert not pid_alive(status.pid) and not pid_alive(status.server_pid)
    assert any("supervisor exits (stopped)" in line for line in read_log(settings))


def test_the_generated_config_keeps_connections_bounded(supervised: Make) -> None:
    import urllib.request

    settings = supervised(server_max_connections=77, server_wait_timeout_seconds=700)
    status = start_server(settings)
    conn = open_connection(status.url or "")
    with conn.cursor() as cursor:
        cursor.execute("SELECT @@wait_timeout, @@max_connections")
        assert tuple(int(v) for v in cursor.fetchone()) == (700, 77)
    conn.close()
    with urllib.request.urlopen(status.metrics_url or "", timeout=5) as response:
        assert b"dss_concurrent_connections" in response.read()


def test_a_second_supervisor_is_refused(supervised: Make) -> None:
    settings = supervised()
    first = start_server(settings)
    with pytest.raises(SupervisorBusy) as caught:
        start_server(settings)
    assert f"pid {first.pid}" in caught.value.one_line()

    # Another data directory on the same port: the port has one owner too.
    other = supervised(server_port=first.port)
    with pytest.raises(SupervisorBusy) as caught:
        start_server(other)
    assert f"port {first.port}" in caught.value.one_line()
    assert f"pid {first.pid}" in caught.value.one_line()
    assert server_status(settings).state == State.RUNNING


def test_sigterm_stops_the_server_then_the_supervisor(supervised: Make) -> None:
    settings = supervised()
    pid = spawn_supervisor(settings)
    wait_for(lambda: server_status(settings).running, 30, "the server")
    server_pid = server_status(settings).server_pid
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not pid_alive(pid), 30, "the supervisor to exit")
    assert server_pid is not None and not pid_alive(server_pid)
    assert server_status(settings).state == State.STOPPED
    assert any(f"server pid {server_pid} stopped" in line for line in read_log(settings))


def _write(url: str, row: int) -> None:
    conn = open_connection(f"{url}/supervised", timeout=5)
    try:
        with conn.cursor() as cursor:
            cursor.execute("INSERT INTO t VALUES (%s, 'x')", (row,))
            cursor.execute("CALL DOLT_COMMIT('-Am', %s)", (f"row {row}",))
    finally:
        conn.close()


def test_kill_9_mid_write_comes_back_and_loses_no_acknowledged_write(supervised: Make) -> None:
    settings = supervised()
    status = start_server(settings)
    url = status.url or ""
    conn = open_connection(url)
    with conn.cursor() as cursor:
        cursor.execute("CREATE DATABASE supervised")
        cursor.execute("CREATE TABLE supervised.t (id INT PRIMARY KEY, v TEXT)")
    conn.close()

    acknowledged: list[int] = []
    failed: list[tuple[int, EngineError]] = []
    killed_at = None
    back_at = None
    row = 0
    while len(acknowledged) < 60:
        row += 1
        if row == 20:
            assert status.server_pid is not None
            os.kill(status.server_pid, signal.SIGKILL)
            killed_at = time.monotonic()
        try:
            _write(url, row)
        except EngineError as exc:  # typed: the driver's error never escapes
            failed.append((row, exc))
            time.sleep(0.05)
            continue
        except pymysql.MySQLError as exc:
            raise AssertionError(f"an untyped driver error escaped: {exc!r}") from exc
        if killed_at is not None and back_at is None:
            back_at = time.monotonic()
        acknowledged.append(row)

    assert killed_at is not None and back_at is not None
    assert failed, "the kill did not interrupt any write"
    # Back within the first restart delay plus the start of a server.
    print(f"kill -9 -> writes again after {back_at - killed_at:.2f} s; {len(failed)} failed")
    assert back_at - killed_at < settings.server_restart_delay_seconds + 30
    after = server_status(settings)
    assert after.state == State.RUNNING and after.restarts == 1

    conn = open_connection(f"{url}/supervised")
    with conn.cursor() as cursor:
        cursor.execute("SELECT id FROM t")
        present = {r[0] for r in cursor.fetchall()}
        cursor.execute("SELECT id FROM t AS OF 'HEAD'")
        committed = {r[0] for r in cursor.fetchall()}
    conn.close()
    assert set(acknowledged) <= present
    assert set(acknowledged) <= committed
    # The in-flight writes failed with a typed error; whether each landed, both are allowed.
    assert present <= set(acknowledged) | {r for r, _ in failed}


def test_a_read_only_server_is_noticed_and_restarted(supervised: Make, tmp_path: Path) -> None:
    marker = tmp_path / "read-only-once"
    marker.touch()
    dolt = dolt_wrapper(tmp_path / "dolt", marker=marker)
    settings = supervised(server_dolt=str(dolt))
    start_server(settings)  # answers reads: the write probe then finds it read-only
    assert not marker.exists()
    wait_for(lambda: server_status(settings).restarts >= 1, 30, "a restart")
    wait_for(lambda: server_status(settings).running, 30, "the restarted server")
    status = server_status(settings)
    assert probe(status.url or "", write=True).writable
    assert any("read only" in line for line in read_log(settings, 200))


def test_the_supervisor_gives_up_after_its_restart_budget(supervised: Make, tmp_path: Path) -> None:
    # a dolt whose sql-server fails at once while `broken` exists: every restart fails
    # (blocking the port instead raced the supervisor's quick restart for it)
    broken = tmp_path / "broken"
    dolt = dolt_wrapper(tmp_path / "dolt")
    text = dolt.read_text().replace(
        "#!/bin/sh\n",
        f'#!/bin/sh\nif [ "$1" = sql-server ] && [ -e "{broken}" ]; then exit 1; fi\n',
        1,
    )
    dolt.write_text(text)
    settings = supervised(server_max_restarts=3, server_dolt=str(dolt))
    status = start_server(settings)
    assert status.port is not None and status.server_pid is not None
    broken.touch()
    os.kill(status.server_pid, signal.SIGKILL)
    wait_for(lambda: server_status(settings).state == State.GAVE_UP, 60, "gave-up")
    final = server_status(settings)
    assert final.restarts == 3
    assert final.pid is None  # the supervisor exited
    assert "gave up after 3 restarts" in (final.last_error or "")
    assert status.pid is not None
    wait_for(lambda: not pid_alive(status.pid), 10, "the supervisor to exit")


def test_a_server_that_cannot_start_fails_the_start(supervised: Make) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    try:
        settings = supervised(server_port=blocker.getsockname()[1])
        with pytest.raises(ServerStartFailed) as caught:
            start_server(settings)
    finally:
        blocker.close()
    assert "did not start" in caught.value.one_line()
    assert server_status(settings).pid is None  # nothing left running


def test_a_new_dolt_version_restarts_the_server(supervised: Make, tmp_path: Path) -> None:
    dolt = dolt_wrapper(tmp_path / "dolt")
    settings = supervised(server_dolt=str(dolt))
    first = start_server(settings)
    time.sleep(1)  # a few healthy probes: an unchanged binary restarts nothing
    assert server_status(settings).restarts == 0
    dolt_wrapper(dolt, version="9.9.9")
    wait_for(lambda: server_status(settings).restarts == 1, 30, "the restart")
    wait_for(lambda: server_status(settings).running, 30, "the new server")
    assert server_status(settings).server_pid != first.server_pid
    assert any("dolt binary is now 9.9.9" in line for line in read_log(settings, 200))


def test_stop_also_stops_a_server_whose_supervisor_was_killed(supervised: Make) -> None:
    settings = supervised()
    status = start_server(settings)
    assert status.pid is not None and status.server_pid is not None
    os.kill(status.pid, signal.SIGKILL)
    wait_for(lambda: server_status(settings).pid is None, 10, "the lock to drop")
    assert pid_alive(status.server_pid)
    stop_server(settings)
    wait_for(lambda: not pid_alive(status.server_pid), 15, "the orphan server to stop")


def test_a_new_supervisor_stops_the_server_a_killed_one_left(supervised: Make) -> None:
    settings = supervised()
    status = start_server(settings)
    assert status.pid is not None and status.server_pid is not None
    os.kill(status.pid, signal.SIGKILL)
    wait_for(lambda: server_status(settings).pid is None, 10, "the lock to drop")
    again = start_server(settings)  # same kept port: the orphan must go first
    assert again.port == status.port and again.server_pid != status.server_pid
    assert not pid_alive(status.server_pid)


def test_ensure_running_starts_once_and_reuses(supervised: Make) -> None:
    settings = supervised()
    url = ensure_running(settings)
    pid = server_status(settings).pid
    assert ensure_running(settings) == url
    assert server_status(settings).pid == pid


def test_cli_start_status_logs_stop(supervised: Make) -> None:
    import json

    from click.testing import CliRunner

    from doltplane.cli.main import cli

    settings = supervised()
    args: list[Any] = ["--data-dir", str(settings.data_dir)]
    env = {f"DOLTPLANE_{k.upper()}": str(v) for k, v in vars(settings).items() if "server_" in k}
    env = {k: v for k, v in env.items() if v != "None"}
    runner = CliRunner()
    started = runner.invoke(cli, [*args, "server", "start"], env=env)
    assert started.exit_code == 0, started.output
    assert "answers at mysql://root@127.0.0.1:" in started.output
    shown = runner.invoke(cli, [*args, "server", "status", "--json"], env=env)
    data = json.loads(shown.output)
    assert data["state"] == "running" and data["version"] and data["restarts"] == 0
    again = runner.invoke(cli, [*args, "server", "start"], env=env)
    assert again.exit_code == SupervisorBusy.exit_code
    assert "already supervised by pid" in again.output
    logs = runner.invoke(cli, [*args, "server", "logs", "-n", "5"], env=env)
    assert "answers, dolt" in logs.output
    stopped = runner.invoke(cli, [*args, "server", "stop"], env=env)
    assert stopped.exit_code == 0 and "stopped" in stopped.output


def test_connect_starts_the_server_when_autostart_is_set(supervised: Make) -> None:
    from doltplane import connect

    settings = supervised()
    options = {k: v for k, v in vars(settings).items() if k.startswith("server_")}
    dp = connect(settings.data_dir, **{**options, "server_autostart": True})
    try:
        status = server_status(settings)
        assert status.running
        assert dp.settings.url == status.url
    finally:
        dp.close()
    again = connect(settings.data_dir, **{**options, "server_autostart": True})
    again.close()
    assert server_status(settings).pid == status.pid  # reused, not a second supervisor


def test_the_restart_delay_doubles_and_starts_over_after_a_healthy_spell(
    supervised: Make,
) -> None:
    settings = supervised(
        server_restart_delay_seconds=0.2,
        server_restart_delay_max_seconds=0.4,
        server_healthy_reset_seconds=2.0,
    )
    start_server(settings)

    def kill_and_wait_back(restarts: int) -> None:
        pid = server_status(settings).server_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: server_status(settings).restarts == restarts, 30, "the restart")
        wait_for(lambda: server_status(settings).running, 30, "the server")

    kill_and_wait_back(1)
    kill_and_wait_back(2)
    kill_and_wait_back(3)  # capped at the maximum
    time.sleep(3)  # healthy for longer than server_healthy_reset_seconds
    kill_and_wait_back(4)
    delays = [
        line.rsplit(" ", 2)[-2] for line in read_log(settings, 500) if "restarting in" in line
    ]
    assert delays == ["0.2", "0.4", "0.4", "0.2"]


def test_the_supervised_servers_storage_is_measured(supervised: Make, tmp_path: Path) -> None:
    from doltplane import connect

    settings = supervised()
    options = {k: v for k, v in vars(settings).items() if k.startswith("server_")}
    with connect(settings.data_dir, **{**options, "server_autostart": True}) as dp:
        folder = ServerPaths.of(settings.data_dir).databases / dp.settings.ops_database
        engine = dp.engine("ops")
        before = engine.size_bytes()
        assert folder.is_dir() and before > 0
        dp.ops.set_many(
            {"id": f"a{n}", "rig": "r", "agent": "t", "status": "busy", "state": {"n": n}}
            for n in range(300)
        )
        dp.ops.checkpoint()
        assert engine.size_bytes() > before
        assert not engine.capabilities.file_size  # doltplane's gc policy leaves a server alone
        url = dp.settings.url
    # the same server reached from a data directory that does not supervise it: not visible
    with connect(url, data_dir=tmp_path / "elsewhere") as other:
        assert other.engine("ops").size_bytes() == 0
