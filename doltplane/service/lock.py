"""One service per data directory: an exclusive ``flock`` on ``<data_dir>/.serve/lock``.

The kernel drops the lock when the holder dies, however it dies, so a crashed service
never blocks the next one; the file's JSON says who holds it, for messages and status.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
from pathlib import Path
from typing import IO, Any

from doltplane.errors import ServiceRunning
from doltplane.processes import process_alive

SERVE_DIR = ".serve"
LOCK_FILE = "lock"


def serve_dir(data_dir: Path) -> Path:
    return data_dir / SERVE_DIR


def read_holder(data_dir: Path) -> dict[str, Any] | None:
    """What the lock file says about its holder (None: no file or unreadable)."""
    try:
        raw = json.loads((serve_dir(data_dir) / LOCK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None


def holder_alive(holder: dict[str, Any] | None) -> bool:
    """Whether the recorded holder is a live process on this host. Read-only on purpose:
    probing with flock could make a service starting at that moment refuse to start."""
    if not holder or not isinstance(holder.get("pid"), int):
        return False
    if holder.get("host") not in (None, socket.gethostname()):
        return True  # another host's pid cannot be checked from here: assume it runs
    return process_alive(holder["pid"])


class ServiceLock:
    """Held for the life of one ``doltplane serve``; ``acquire`` refuses a second one."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = serve_dir(data_dir) / LOCK_FILE
        self._file: IO[str] | None = None
        self.info: dict[str, Any] = {}

    def acquire(self, *, url: str | None, metrics_port: int | None) -> dict[str, Any]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held until release)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            holder = read_holder(self.data_dir) or {}
            pid = holder.get("pid")
            raise ServiceRunning(
                str(self.data_dir), pid if isinstance(pid, int) else None, holder.get("host")
            ) from None
        self._file = handle
        self.info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": dt.datetime.now(dt.UTC).isoformat(),
            "url": url,
            "metrics_port": metrics_port,
        }
        self.update()
        return self.info

    def update(self, **changes: Any) -> None:
        """Rewrite the holder record in place (the lock stays on the same open file)."""
        assert self._file is not None, "acquire first"
        self.info.update(changes)
        self._file.seek(0)
        self._file.truncate()
        self._file.write(json.dumps(self.info))
        self._file.flush()

    def release(self) -> None:
        handle, self._file = self._file, None
        if handle is None:
            return
        handle.seek(0)
        handle.truncate()  # an empty file: nobody holds it
        handle.flush()
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()
