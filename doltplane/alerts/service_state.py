"""What a running ``doltplane serve`` leaves in ``<data_dir>/.serve/``, read by the alerts
and doctor commands: ``state.json`` (jobs and alert states, rewritten by the service) and
``lock`` (held with ``flock`` while the service runs; its JSON names the holder and is
emptied when the service stops)."""

from __future__ import annotations

import dataclasses
import json
import socket
from pathlib import Path
from typing import Any

from doltplane.alerts.evaluator import AlertState
from doltplane.errors import InvalidDocument
from doltplane.processes import process_alive

SERVE_DIR = ".serve"
STATE_FILE = "state.json"
LOCK_FILE = "lock"
MAX_STATE_BYTES = 10_000_000


def serve_dir(data_dir: Path) -> Path:
    return Path(data_dir) / SERVE_DIR


def state_path(data_dir: Path) -> Path:
    return serve_dir(data_dir) / STATE_FILE


def lock_path(data_dir: Path) -> Path:
    return serve_dir(data_dir) / LOCK_FILE


@dataclasses.dataclass(frozen=True)
class ServiceState:
    """The service's last written state: ``{"pid", "started_at", "updated_at", "jobs",
    "alerts"}``."""

    pid: int | None
    started_at: Any
    updated_at: Any
    jobs: dict[str, Any]
    alerts: dict[str, AlertState]


def read_service_state(data_dir: Path) -> ServiceState | None:
    """The state file (None when no service ever ran here); InvalidDocument when it is not
    the shape the service writes."""
    path = state_path(data_dir)
    try:
        if path.stat().st_size > MAX_STATE_BYTES:
            raise InvalidDocument(f"{path}: larger than {MAX_STATE_BYTES:,} bytes")
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InvalidDocument(
            f"{path}: not readable service state: {exc}",
            hint="the next run of `doltplane serve` rewrites it",
        ) from None
    if not isinstance(raw, dict):
        raise InvalidDocument(f"{path}: service state must be a JSON object")
    alerts: dict[str, AlertState] = {}
    raw_alerts = raw.get("alerts") or {}
    if not isinstance(raw_alerts, dict):
        raise InvalidDocument(f"{path}: 'alerts' must be an object")
    for name, value in raw_alerts.items():
        try:
            state = AlertState.from_json(
                {"name": name, **value} if isinstance(value, dict) else value
            )
        except (ValueError, TypeError) as exc:
            raise InvalidDocument(f"{path}: alert {name!r}: {exc}") from None
        alerts[str(name)] = state
    jobs = raw.get("jobs") or {}
    pid = raw.get("pid")
    return ServiceState(
        pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
        started_at=raw.get("started_at"),
        updated_at=raw.get("updated_at"),
        jobs=jobs if isinstance(jobs, dict) else {},
        alerts=alerts,
    )


@dataclasses.dataclass(frozen=True)
class LockInfo:
    """Who the lock file names, and whether that service is running. The service empties
    the file when it stops, so a named process that is gone died without stopping."""

    path: str
    pid: int | None
    host: str | None
    started_at: Any
    url: str | None
    metrics_port: int | None
    owner_alive: bool | None
    """The named process is alive (None: no pid in the file, or another host's)."""

    @property
    def running(self) -> bool:
        """A live process of this host holds it, or another host's (which cannot be
        checked from here, so it counts as running). Read-only on purpose: probing the
        flock could make a service starting at that moment refuse to start."""
        if self.pid is None:
            return False
        return self.owner_alive is not False

    @property
    def stale(self) -> bool:
        """The file names a process of this host that is gone."""
        return self.owner_alive is False


def read_lock(data_dir: Path) -> LockInfo | None:
    """The service lock (None when there is no lock file: no service ever ran here)."""
    path = lock_path(data_dir)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError:
        text = ""
    try:
        raw = json.loads(text) if text.strip() else {}
    except ValueError:
        raw = {}
    if not isinstance(raw, dict):
        raw = {}
    pid = raw.get("pid")
    pid = pid if isinstance(pid, int) and not isinstance(pid, bool) else None
    host = raw.get("host") if isinstance(raw.get("host"), str) else None
    port = raw.get("metrics_port")
    alive: bool | None = None
    if pid is not None and host in (None, socket.gethostname()):
        alive = process_alive(pid)
    return LockInfo(
        path=str(path),
        pid=pid,
        host=host,
        started_at=raw.get("started_at"),
        url=raw.get("url") if isinstance(raw.get("url"), str) else None,
        metrics_port=port if isinstance(port, int) and not isinstance(port, bool) else None,
        owner_alive=alive,
    )


def service_running(data_dir: Path) -> bool:
    lock = read_lock(data_dir)
    return lock is not None and lock.running
