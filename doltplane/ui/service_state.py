"""What ``doltplane serve`` last wrote about its jobs and alerts, read without touching it.

The service writes ``<data_dir>/.serve/state.json`` atomically and holds an exclusive
``flock`` on ``<data_dir>/.serve/lock`` while it runs. This module only reads: the
state file, and whether the lock is held (a non-blocking shared-lock probe, released
at once), so a state file left by a service that stopped is shown as such.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
from pathlib import Path
from typing import Any

SERVE_DIR = ".serve"
STATE_FILE = "state.json"
LOCK_FILE = "lock"
_MAX_BYTES = 4_000_000  # a state file bigger than this is not the service's


@dataclasses.dataclass(frozen=True)
class ServiceState:
    """The service's last report. ``running``: its lock is held right now."""

    running: bool
    state: dict[str, Any]
    """state.json as written (``jobs``, ``alerts``, ``pid``, ``updated_at``...); {} if none."""
    lock: dict[str, Any]
    """The lock file's JSON (``pid``, ``host``, ``url``, ...); {} if none."""
    problem: str | None = None
    """Why a file could not be read, in words."""

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        jobs = self.state.get("jobs")
        return (
            {str(k): v for k, v in jobs.items() if isinstance(v, dict)}
            if isinstance(jobs, dict)
            else {}
        )

    @property
    def alerts(self) -> dict[str, dict[str, Any]]:
        alerts = self.state.get("alerts")
        return (
            {str(k): v for k, v in alerts.items() if isinstance(v, dict)}
            if isinstance(alerts, dict)
            else {}
        )


def read_service_state(data_dir: Path) -> ServiceState | None:
    """The service's state, or None when no service ever ran here."""
    folder = data_dir / SERVE_DIR
    state_path, lock_path = folder / STATE_FILE, folder / LOCK_FILE
    if not state_path.exists() and not lock_path.exists():
        return None
    problems: list[str] = []
    state = _read_json(state_path, problems)
    lock = _read_json(lock_path, problems)
    return ServiceState(_lock_held(lock_path), state, lock, "; ".join(problems) or None)


def _read_json(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_BYTES + 1)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        problems.append(f"{path.name}: {exc.strerror}")
        return {}
    if not raw.strip():
        return {}
    try:
        if len(raw) > _MAX_BYTES:
            raise ValueError("too large")
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        problems.append(f"{path.name} is not valid JSON ({exc})")
        return {}
    if not isinstance(data, dict):
        problems.append(f"{path.name} does not hold a JSON object")
        return {}
    return data


def _lock_held(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing releases a lock we got
    return False
