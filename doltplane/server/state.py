"""What a supervisor leaves on disk: its lock, its status file and its log.

Everything lives in ``<data_dir>/server/``: ``config.yaml`` and ``data/`` (the
server's), ``supervisor.lock`` (held with ``fcntl.flock`` for the supervisor's
whole life, its pid written inside), ``status.json`` (rewritten atomically on
every event) and ``server.log`` (the server's output and the supervisor's
events, one line each). A lock that nobody holds means no supervisor, whatever
``status.json`` last said: the kernel drops a flock when its process dies,
even by ``kill -9``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from doltplane.errors import SupervisorBusy

SERVER_DIR = "server"


class State:
    """The supervisor's states, as ``status`` reports them."""

    STARTING = "starting"
    """the server is being started and has not answered yet"""
    RUNNING = "running"
    """the server answers and its last probe passed"""
    BACKING_OFF = "backing-off"
    """the server failed; the supervisor waits before the next restart"""
    GAVE_UP = "gave-up"
    """too many restarts within the window: the supervisor stopped it and exited"""
    STOPPED = "stopped"
    """no supervisor runs (stopped cleanly, or never started)"""


@dataclasses.dataclass(frozen=True)
class ServerPaths:
    root: Path

    @classmethod
    def of(cls, data_dir: Path) -> ServerPaths:
        return cls(Path(data_dir).absolute() / SERVER_DIR)

    @property
    def lock(self) -> Path:
        return self.root / "supervisor.lock"

    @property
    def status(self) -> Path:
        return self.root / "status.json"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def databases(self) -> Path:
        """The server's data folder (``ServerSpec.data_dir``): one subfolder per database."""
        return self.root / "data"

    @property
    def stderr(self) -> Path:
        """The supervisor process's own stderr (a crash before it could log)."""
        return self.root / "supervisor.err"


def port_lock_path(port: int) -> Path:
    """One lock per loopback port, shared by every data directory on the machine."""
    return Path(tempfile.gettempdir()) / "doltplane-ports" / f"{port}.lock"


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def read_status(paths: ServerPaths) -> dict[str, Any]:
    try:
        data = json.loads(paths.status.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_status(paths: ServerPaths, status: dict[str, Any]) -> None:
    """Atomically: a reader sees the old file or the new one, never half of one."""
    paths.root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=paths.root, prefix=".status-")
    with os.fdopen(fd, "w") as out:
        json.dump({**status, "updated_at": now_iso()}, out, indent=1)
    os.replace(tmp, paths.status)


def log_event(paths: ServerPaths, message: str) -> None:
    """One supervisor line in server.log (O_APPEND: it interleaves whole with the server's)."""
    paths.root.mkdir(parents=True, exist_ok=True)
    with paths.log.open("a") as out:
        out.write(f"{now_iso()} doltplane-supervisor[{os.getpid()}]: {message}\n")


def lock_holder(path: Path) -> int | None:
    """The pid holding the lock at ``path``, or None when nobody holds it."""
    try:
        handle = path.open("r+")
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


@contextlib.contextmanager
def exclusive(path: Path, what: str) -> Iterator[TextIO]:
    """Hold the lock at ``path`` or raise SupervisorBusy naming the process that does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise SupervisorBusy(
                what,
                f"pid {holder}" if holder.isdigit() else holder,
                hint="use `doltplane server status`, or `doltplane server stop` first",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield handle
    finally:
        handle.close()


def pid_alive(pid: int | None) -> bool:
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (dead, not yet reaped) still answers kill(0).
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def process_mentions(pid: int, text: str) -> bool:
    """Whether process ``pid``'s command line contains ``text`` (so a reused pid is left alone)."""
    try:
        return text in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def wait_until(condition: Any, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)
