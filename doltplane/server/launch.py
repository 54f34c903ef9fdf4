"""Starting one ``dolt sql-server`` process from a generated YAML config.

Dolt finds no config file by itself, so every server we start gets its own
``config.yaml`` and its own Dolt home (``DOLT_ROOT_PATH``), which keeps the
user's ``~/.dolt`` settings and credentials out of it.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import yaml

from doltplane.errors import EngineUnavailable

DOLT_USER = ("doltplane", "doltplane@localhost")


def dolt_binary() -> str | None:
    """The ``dolt`` on PATH, else the one ``scripts/install-dolt`` builds into Go's bin."""
    found = shutil.which("dolt")
    if found:
        return found
    gopath = Path(os.environ.get("GOPATH") or Path.home() / "go")
    candidate = gopath / "bin" / "dolt"
    return str(candidate) if candidate.is_file() else None


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel says is free now (another process may still take it first)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def require_free_port(host: str, port: int) -> None:
    """EngineUnavailable when something listens on the port already: dolt then prints
    "Port N already in use." and waits instead of exiting."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise EngineUnavailable(
                f"port {port} on {host} is in use by another process ({exc.strerror})",
                hint="stop that process, or choose another port (server_port)",
            ) from None


@dataclasses.dataclass(frozen=True)
class ServerSpec:
    """What one server process needs: where its databases live and how it listens."""

    root: Path
    """The server's folder: ``data/`` (one subfolder per database), config, log, Dolt home."""
    port: int
    host: str = "127.0.0.1"
    max_connections: int = 200
    wait_timeout_seconds: int = 900
    """Idle client connections are closed after this; the client pool's idle limit stays below."""
    metrics_port: int | None = None
    log_level: str = "warning"
    dolt: str | None = None
    """The dolt binary (default: :func:`dolt_binary`)."""
    read_only: bool = False
    system_variables: tuple[tuple[str, str | int], ...] = ()
    """More global system variables, e.g. Dolt's replication settings."""

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def config_path(self) -> Path:
        return self.root / "config.yaml"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    @property
    def home(self) -> Path:
        return self.root / "home"

    def config(self) -> dict[str, object]:
        config: dict[str, object] = {
            "log_level": self.log_level,
            "behavior": {
                "autocommit": True,
                "read_only": self.read_only,
                "auto_gc_behavior": {"enable": True},
            },
            "listener": {
                "host": self.host,
                "port": self.port,
                "max_connections": self.max_connections,
                "read_timeout_millis": 28_800_000,
                "write_timeout_millis": 28_800_000,
            },
            "data_dir": str(self.data_dir),
            "system_variables": {
                "wait_timeout": self.wait_timeout_seconds,
                "interactive_timeout": self.wait_timeout_seconds,
                **dict(self.system_variables),
            },
        }
        if self.metrics_port is not None:
            config["metrics"] = {"host": self.host, "port": self.metrics_port}
        return config

    def write(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(self.config(), sort_keys=False))


def server_env(spec: ServerSpec) -> dict[str, str]:
    env = dict(os.environ)
    env["DOLT_ROOT_PATH"] = str(spec.home)
    env["DOLT_DISABLE_EVENT_FLUSH"] = "true"
    return env


def _configure_home(dolt: str, spec: ServerSpec) -> None:
    if (spec.home / ".dolt" / "config_global.json").exists():
        return
    for key, value in zip(("user.name", "user.email"), DOLT_USER, strict=True):
        subprocess.run(
            [dolt, "config", "--global", "--add", key, value],
            env=server_env(spec),
            check=True,
            capture_output=True,
        )


def start(spec: ServerSpec) -> subprocess.Popen[bytes]:
    """Write the config and start the server; it is not ready until :func:`wait_ready`."""
    dolt = spec.dolt or dolt_binary()
    if dolt is None:
        raise EngineUnavailable(
            "no dolt binary on PATH", hint="run scripts/install-dolt (needs Go and gcc)"
        )
    spec.write()
    _configure_home(dolt, spec)
    log = spec.log_path.open("ab")
    try:
        return subprocess.Popen(
            [dolt, "sql-server", "--config", str(spec.config_path)],
            cwd=spec.root,
            env=server_env(spec),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log.close()


def wait_ready(
    spec: ServerSpec, process: subprocess.Popen[bytes] | None = None, timeout: float = 30.0
) -> None:
    """Wait until the server answers ``SELECT active_branch()``; EngineUnavailable otherwise."""
    import pymysql

    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            log = spec.log_path
            tail = log.read_text(errors="replace")[-400:] if log.exists() else ""
            raise EngineUnavailable(
                f"dolt sql-server exited with status {process.returncode}: {tail.strip()}",
                hint=f"see {spec.log_path}",
            )
        try:
            conn = pymysql.connect(
                host=spec.host, port=spec.port, user="root", password="", connect_timeout=1
            )
        except pymysql.MySQLError as exc:
            last = str(exc)
            time.sleep(0.1)
            continue
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT active_branch()")
            return
        finally:
            conn.close()
    raise EngineUnavailable(
        f"dolt sql-server on {spec.host}:{spec.port} not ready after {timeout:.0f} s: {last}",
        hint=f"see {spec.log_path}",
    )


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
