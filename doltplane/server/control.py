"""Start, stop and inspect a data directory's supervised server (what ``doltplane server`` calls).

``start_server`` runs the supervisor as a detached process (its own session,
so it outlives the command that started it) and returns once the server
answers; ``stop_server`` sends the supervisor SIGTERM and waits for it to
stop its server. Status comes from the supervisor's ``status.json`` and from
whether its lock is still held.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

from doltplane.config import Settings, mask_password
from doltplane.errors import ServerStartFailed, SupervisorBusy
from doltplane.server.state import (
    ServerPaths,
    State,
    lock_holder,
    pid_alive,
    process_mentions,
    read_status,
)

STOP_TIMEOUT_SECONDS = 30.0


@dataclasses.dataclass(frozen=True)
class ServerStatus:
    """What ``doltplane server status`` shows."""

    state: str
    """starting, running, backing-off, gave-up or stopped (see ``state.State``)."""
    data_dir: str
    pid: int | None
    """The supervisor's pid (None when no supervisor runs)."""
    server_pid: int | None
    port: int | None
    url: str | None
    """The connection URL, password masked."""
    version: str | None
    uptime_seconds: float | None
    """Since the running server started answering."""
    restarts: int
    last_probe_at: str | None
    last_probe_ok: bool | None
    last_probe_latency_ms: float | None
    last_error: str | None
    metrics_url: str | None

    @property
    def running(self) -> bool:
        return self.state == State.RUNNING

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def server_status(settings: Settings) -> ServerStatus:
    paths = ServerPaths.of(settings.data_dir)
    recorded = read_status(paths)
    holder = lock_holder(paths.lock)
    state = recorded.get("state") or State.STOPPED
    if holder is None and state != State.GAVE_UP:
        state = State.STOPPED
    alive = holder is not None
    uptime = None
    started = recorded.get("server_started_at")
    if alive and state == State.RUNNING and isinstance(started, str):
        uptime = (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(started)).total_seconds()
    url = recorded.get("url")
    metrics = recorded.get("metrics_port")
    return ServerStatus(
        state=state,
        data_dir=str(paths.root.parent),
        pid=holder if alive and holder and holder > 0 else None,
        server_pid=recorded.get("server_pid") if alive else None,
        port=recorded.get("port"),
        url=mask_password(url) if isinstance(url, str) else None,
        version=recorded.get("version"),
        uptime_seconds=round(uptime, 1) if uptime is not None else None,
        restarts=int(recorded.get("restarts") or 0),
        last_probe_at=recorded.get("last_probe_at"),
        last_probe_ok=recorded.get("last_probe_ok"),
        last_probe_latency_ms=recorded.get("last_probe_latency_ms"),
        last_error=recorded.get("last_error"),
        metrics_url=(
            f"http://{recorded.get('host', '127.0.0.1')}:{metrics}/metrics" if metrics else None
        ),
    )


def spawn_supervisor(settings: Settings) -> int:
    """Start the detached supervisor (not a child of this process); its pid."""
    from doltplane.server.supervisor import server_spec, settings_argument

    server_spec(settings)  # a setting it refuses is an error here, not in a detached process
    paths = ServerPaths.of(settings.data_dir)
    paths.root.mkdir(parents=True, exist_ok=True)
    holder = lock_holder(paths.lock)
    if holder is not None:
        raise SupervisorBusy(
            f"data directory {paths.root.parent}",
            f"pid {holder}",
            hint="`doltplane server status` shows it; `doltplane server stop` stops it",
        )
    argument = settings_argument(settings)
    with paths.stderr.open("wb") as err:
        done = subprocess.run(
            [sys.executable, "-m", "doltplane.server.supervisor", "--detach", argument],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
            check=False,
            timeout=60,
        )
    pid = done.stdout.decode().strip()
    if done.returncode != 0 or not pid.isdigit():
        raise _exited(paths, done.returncode, {})
    return int(pid)


def start_server(settings: Settings, timeout: float | None = None) -> ServerStatus:
    """Start the supervisor and return once its server answers.

    Raises SupervisorBusy when one already runs for this data directory or port,
    ServerStartFailed (with the reason) when the server does not come up; then
    nothing is left running.
    """
    paths = ServerPaths.of(settings.data_dir)
    pid = spawn_supervisor(settings)
    limit = timeout if timeout is not None else settings.server_start_timeout_seconds + 10
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        recorded = read_status(paths)
        mine = recorded.get("supervisor_pid") == pid
        if mine and recorded.get("state") == State.RUNNING:
            return server_status(settings)
        if not pid_alive(pid):
            raise _exited(paths, None, recorded if mine else {})
        if mine and recorded.get("state") in (State.BACKING_OFF, State.GAVE_UP):
            _terminate(pid)
            raise ServerStartFailed(
                f"dolt sql-server did not start: {recorded.get('last_error')}",
                hint=f"see `doltplane server logs` ({paths.log})",
            )
        time.sleep(0.05)
    _terminate(pid)
    raise ServerStartFailed(
        f"dolt sql-server did not answer within {limit:g} s",
        hint=f"see `doltplane server logs` ({paths.log})",
    )


def _exited(paths: ServerPaths, code: int | None, recorded: dict[str, Any]) -> Exception:
    try:
        said = paths.stderr.read_text(errors="replace").strip().splitlines()
    except OSError:
        said = []
    line = said[-1].removeprefix("error: ") if said else ""
    busy = re.match(r"(.*) is already supervised by (.*?)(?: \(|$)", line)
    if busy:
        return SupervisorBusy(
            busy[1], busy[2], hint="`doltplane server status` in that data directory shows it"
        )
    reason = line or recorded.get("last_error") or f"the supervisor exited (status {code})"
    return ServerStartFailed(
        f"dolt sql-server did not start: {reason}",
        hint=f"see `doltplane server logs` ({paths.log})",
    )


def _terminate(pid: int, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM, wait for the process to go, SIGKILL after ``timeout``."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def stop_server(settings: Settings, timeout: float = STOP_TIMEOUT_SECONDS) -> ServerStatus:
    """SIGTERM the supervisor and wait until it stopped its server; a no-op when none runs."""
    paths = ServerPaths.of(settings.data_dir)
    holder = lock_holder(paths.lock)
    if holder is not None and holder > 0:
        _terminate(holder, timeout)
    # A server whose supervisor was killed outright keeps running: stop it too.
    pid = read_status(paths).get("server_pid")
    if isinstance(pid, int) and pid_alive(pid) and process_mentions(pid, str(paths.config)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    return server_status(settings)


def ensure_running(settings: Settings) -> str:
    """The URL of this data directory's server, starting it when none runs."""
    status = server_status(settings)
    if not status.running:
        try:
            status = start_server(settings)
        except SupervisorBusy:
            # Another process is starting it right now: wait for that one.
            deadline = time.monotonic() + settings.server_start_timeout_seconds
            while not status.running and time.monotonic() < deadline:
                time.sleep(0.1)
                status = server_status(settings)
            if not status.running:
                raise
    recorded = read_status(ServerPaths.of(settings.data_dir))
    url = recorded.get("url")
    assert isinstance(url, str)
    return url


def autostart(settings: Settings) -> Settings:
    """``settings`` pointed at this data directory's supervised server, started on demand
    (the ``server_autostart`` setting)."""
    return dataclasses.replace(settings, url=ensure_running(settings))


def read_log(settings: Settings, lines: int = 50) -> list[str]:
    """The last ``lines`` lines of the server log (the server's output and supervisor events)."""
    path = ServerPaths.of(settings.data_dir).log
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            block = min(size, max(4096, lines * 400))
            handle.seek(size - block)
            text = handle.read().decode(errors="replace")
    except FileNotFoundError:
        return []
    return text.splitlines()[-lines:] if lines > 0 else []


def follow_log(settings: Settings, poll: float = 0.2) -> Iterator[str]:
    """New lines of the server log as they are written (until the caller stops)."""
    path = ServerPaths.of(settings.data_dir).log
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=True)
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        pending = b""
        while True:
            chunk = handle.readline()
            if not chunk:
                time.sleep(poll)
                continue
            pending += chunk
            if pending.endswith(b"\n"):
                yield pending.decode(errors="replace").rstrip("\n")
                pending = b""
