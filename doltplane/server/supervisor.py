"""The process that keeps one data directory's ``dolt sql-server`` alive.

``python -m doltplane.server.supervisor SETTINGS_JSON`` (``doltplane server
start`` runs it detached). It holds the data directory's lock and its port's
lock for its whole life, starts the server from a generated config, and then
watches it: the process exiting, a liveness probe plus a write probe every
``server_probe_interval_seconds``, and the dolt binary changing version.

A failure (the process exited, ``server_probe_failures`` probes in a row
failed, the server went read-only) restarts the server after a delay that
starts at ``server_restart_delay_seconds`` and doubles up to
``server_restart_delay_max_seconds``; after ``server_healthy_reset_seconds``
of health it goes back to the first value. A failure that would be restart
number ``server_max_restarts + 1`` inside ``server_restart_window_seconds``
makes it give up: the server is stopped, ``status`` says ``gave-up``, and the
supervisor exits. A new dolt version is a planned restart, without delay and
outside that budget. SIGTERM (``server stop``) stops the server and exits 0.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

from doltplane.config import Settings
from doltplane.errors import (
    ConfigError,
    DoltplaneError,
    EngineError,
    ServerReadOnly,
    SupervisorBusy,
)
from doltplane.server import launch, replica
from doltplane.server.probe import probe
from doltplane.server.state import (
    ServerPaths,
    State,
    exclusive,
    log_event,
    now_iso,
    pid_alive,
    port_lock_path,
    process_mentions,
    read_status,
    write_status,
)

ORPHAN_STOP_SECONDS = 10.0


def server_url(port: int, host: str = "127.0.0.1") -> str:
    return f"mysql://root@{host}:{port}"


def _kept_port(paths: ServerPaths, key: str) -> int | None:
    """The port an earlier start chose, from the config it wrote."""
    try:
        config = yaml.safe_load(paths.config.read_text())
        section = config.get(key) or {}
        port = section.get("port")
    except (OSError, yaml.YAMLError, AttributeError):
        return None
    return port if isinstance(port, int) and port > 0 else None


def server_spec(settings: Settings) -> launch.ServerSpec:
    """The server a data directory gets; ports of 0 are picked once and then kept."""
    paths = ServerPaths.of(settings.data_dir)
    port = settings.server_port or _kept_port(paths, "listener") or launch.free_port()
    metrics = settings.server_metrics_port or _kept_port(paths, "metrics") or launch.free_port()
    variables: tuple[tuple[str, str | int], ...] = ()
    if settings.server_replica_of and settings.server_replicate_to:
        raise ConfigError(
            "a server is either a replica (server_replica_of) or a primary"
            " (server_replicate_to), not both",
            hint="unset one of them",
        )
    if settings.server_replicate_to:
        variables = replica.primary_variables(settings.server_replicate_to)
    if settings.server_replica_of:
        variables = replica.replica_variables(settings.server_replica_of)
    return launch.ServerSpec(
        root=paths.root,
        port=port,
        max_connections=settings.server_max_connections,
        # The server must not close a connection the client pool still keeps idle.
        wait_timeout_seconds=max(
            settings.server_wait_timeout_seconds, settings.pool_idle_seconds + 60
        ),
        metrics_port=metrics,
        dolt=settings.server_dolt,
        read_only=bool(settings.server_replica_of),
        system_variables=variables,
    )


def dolt_version(dolt: str, spec: launch.ServerSpec) -> str:
    """``dolt version``'s number, or the whole first line when it has no number."""
    done = subprocess.run(
        [dolt, "version"],
        env=launch.server_env(spec),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    first = (done.stdout.strip().splitlines() or [""])[0]
    return first.removeprefix("dolt version ").strip() or f"unknown (exit {done.returncode})"


def _binary_identity(path: str) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.paths = ServerPaths.of(settings.data_dir)
        self.spec = server_spec(settings)
        dolt = self.spec.dolt or launch.dolt_binary()
        self.dolt = dolt or "dolt"
        self.stopping = threading.Event()
        self.process: subprocess.Popen[bytes] | None = None
        self.restart_times: collections.deque[float] = collections.deque()
        self.delay = settings.server_restart_delay_seconds
        self.healthy_since = time.monotonic()
        self.identity: tuple[int, int, int] | None = None
        self.status: dict[str, Any] = {
            "supervisor_pid": os.getpid(),
            "supervisor_started_at": now_iso(),
            "data_dir": str(Path(settings.data_dir).absolute()),
            "host": self.spec.host,
            "port": self.spec.port,
            "metrics_port": self.spec.metrics_port,
            "url": server_url(self.spec.port, self.spec.host),
            "dolt": self.dolt,
            "version": None,
            "server_pid": None,
            "server_started_at": None,
            "restarts": 0,
            "last_probe_at": None,
            "last_probe_ok": None,
            "last_probe_latency_ms": None,
            "last_error": None,
            "next_restart_at": None,
            "state": State.STARTING,
        }

    # -- bookkeeping ---------------------------------------------------------------

    def update(self, **changes: Any) -> None:
        self.status.update(changes)
        write_status(self.paths, self.status)

    def event(self, message: str) -> None:
        log_event(self.paths, message)

    # -- the loop --------------------------------------------------------------------

    def run(self) -> int:
        port_what = f"port {self.spec.port} on {self.spec.host}"
        with (
            exclusive(self.paths.lock, f"data directory {self.paths.root.parent}"),
            exclusive(port_lock_path(self.spec.port), port_what),
        ):
            self._stop_orphan()
            self.event(f"supervising {self.status['url']} with {self.dolt}")
            self.update()
            try:
                return self._loop()
            finally:
                self._stop_server()
                if self.status["state"] != State.GAVE_UP:
                    self.update(state=State.STOPPED, server_pid=None, next_restart_at=None)
                self.event(f"supervisor exits ({self.status['state']})")

    def _loop(self) -> int:
        while not self.stopping.is_set():
            failure = self._start_server()
            if failure is None:
                failure = self._watch()
            if self.stopping.is_set():
                break
            if failure is None:  # a planned restart (new dolt version)
                self._stop_server()
                self.update(
                    state=State.STARTING, server_pid=None, restarts=self.status["restarts"] + 1
                )
                continue
            if not self._back_off(failure):
                return 1
        return 0

    def _start_server(self) -> str | None:
        self.update(state=State.STARTING, next_restart_at=None)
        self.identity = _binary_identity(self.dolt)
        try:
            launch.require_free_port(self.spec.host, self.spec.port)
            self.process = launch.start(self.spec)
            self.update(server_pid=self.process.pid)
            launch.wait_ready(self.spec, self.process, self.settings.server_start_timeout_seconds)
            result = probe(self.status["url"], timeout=self.settings.server_probe_timeout_seconds)
            if self.settings.server_replicate_to:
                replica.seed_remote(self.status["url"], self.settings.server_replicate_to)
        except DoltplaneError as exc:
            return exc.one_line()
        self.healthy_since = time.monotonic()
        self.update(
            state=State.RUNNING,
            version=result.version,
            server_started_at=now_iso(),
            last_probe_at=now_iso(),
            last_probe_ok=True,
            last_probe_latency_ms=round(result.latency_ms, 2),
        )
        self.event(f"server pid {self.process.pid} answers, dolt {result.version}")
        return None

    def _watch(self) -> str | None:
        """Until the server fails (its reason), the binary changes (None) or a stop."""
        assert self.process is not None
        interval = self.settings.server_probe_interval_seconds
        tick = max(0.02, min(0.5, interval / 4))
        next_probe = time.monotonic() + interval
        failures = 0
        while not self.stopping.wait(tick):
            code = self.process.poll()
            if code is not None:
                return f"server exited with status {code}"
            now = time.monotonic()
            if now < next_probe:
                continue
            next_probe = now + interval
            problem = self._probe()
            if problem is None:
                failures = 0
                if now - self.healthy_since >= self.settings.server_healthy_reset_seconds:
                    self.delay = self.settings.server_restart_delay_seconds
                if self._version_changed():
                    return None
                continue
            failures += 1
            if problem.startswith("!") or failures >= self.settings.server_probe_failures:
                return problem.lstrip("!")
            self.healthy_since = now
        return "stopping"

    def _probe(self) -> str | None:
        """None when healthy; the reason otherwise (``!`` first: restart at once)."""
        try:
            # A replica is read-only by design: only its liveness is probed.
            result = probe(
                self.status["url"],
                timeout=self.settings.server_probe_timeout_seconds,
                write=not self.settings.server_replica_of,
            )
        except ServerReadOnly as exc:
            self.update(last_probe_at=now_iso(), last_probe_ok=False, last_error=exc.one_line())
            return "!" + exc.one_line()
        except EngineError as exc:
            self.update(last_probe_at=now_iso(), last_probe_ok=False, last_error=exc.one_line())
            self.event(f"probe failed: {exc.one_line()}")
            return exc.one_line()
        self.update(
            state=State.RUNNING,
            last_probe_at=now_iso(),
            last_probe_ok=True,
            last_probe_latency_ms=round(result.latency_ms, 2),
            version=result.version,
        )
        return None

    def _version_changed(self) -> bool:
        identity = _binary_identity(self.dolt)
        if identity == self.identity or identity is None:
            return False
        self.identity = identity
        try:
            version = dolt_version(self.dolt, self.spec)
        except (OSError, subprocess.SubprocessError) as exc:
            self.event(f"dolt binary changed but `dolt version` failed: {exc}")
            return False
        if version == self.status["version"]:
            return False
        self.event(f"dolt binary is now {version} (server runs {self.status['version']}): restart")
        return True

    def _back_off(self, reason: str) -> bool:
        """Stop the failed server and wait; False when the restart budget is spent."""
        self.event(f"server failed: {reason}")
        self._stop_server()
        now = time.monotonic()
        window = self.settings.server_restart_window_seconds
        while self.restart_times and now - self.restart_times[0] > window:
            self.restart_times.popleft()
        if len(self.restart_times) >= self.settings.server_max_restarts:
            message = (
                f"gave up after {len(self.restart_times)} restarts within {window:g} s;"
                f" last failure: {reason}"
            )
            self.event(message)
            self.update(state=State.GAVE_UP, last_error=message, server_pid=None)
            return False
        delay = self.delay
        self.delay = min(self.delay * 2, self.settings.server_restart_delay_max_seconds)
        self.update(
            state=State.BACKING_OFF,
            last_error=reason,
            server_pid=None,
            next_restart_at=time.time() + delay,
        )
        self.event(f"restarting in {delay:g} s")
        if self.stopping.wait(delay):
            return True
        self.restart_times.append(time.monotonic())
        self.update(state=State.STARTING, restarts=self.status["restarts"] + 1)
        return True

    def _stop_server(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            launch.stop(process)
            self.event(f"server pid {process.pid} stopped")

    def _stop_orphan(self) -> None:
        """A server left behind by a supervisor killed with SIGKILL: stop it first."""
        pid = read_status(self.paths).get("server_pid")
        if not isinstance(pid, int) or not pid_alive(pid):
            return
        if not process_mentions(pid, str(self.spec.config_path)):
            return
        self.event(f"stopping server pid {pid} left by an earlier supervisor")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + ORPHAN_STOP_SECONDS
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def request_stop(self, signum: int = signal.SIGTERM, frame: FrameType | None = None) -> None:
        self.stopping.set()


def settings_argument(settings: Settings) -> str:
    """The settings a supervisor needs, as its one command-line argument."""
    fields = {"data_dir": str(Path(settings.data_dir).absolute())}
    for name, value in vars(settings).items():
        if name.startswith("server_") and value is not None:
            fields[name] = value
    return json.dumps(fields)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--detach"]:
        args = args[1:]
        _detach()
    if len(args) != 1:
        print(
            "usage: python -m doltplane.server.supervisor [--detach] SETTINGS_JSON",
            file=sys.stderr,
        )
        return 2
    try:
        settings = Settings.load(json.loads(args[0]), env={})
        supervisor = Supervisor(settings)
        signal.signal(signal.SIGTERM, supervisor.request_stop)
        signal.signal(signal.SIGINT, supervisor.request_stop)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        return supervisor.run()
    except SupervisorBusy as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    except DoltplaneError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code


def _detach() -> None:
    """Fork: the parent prints the child's pid and exits, so the supervisor is nobody's
    child (no zombie, no reaping) and lives on after the command that started it."""
    child = os.fork()
    if child:
        sys.stdout.write(f"{child}\n")
        sys.stdout.flush()
        os._exit(0)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
