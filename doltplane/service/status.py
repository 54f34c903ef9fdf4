"""What ``doltplane status`` (and ``doctor``) shows of the service: is one running here,
and what each job did last. Read-only: it takes no lock and opens no database."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from doltplane.service.lock import holder_alive, read_holder
from doltplane.service.state import read_state


@dataclasses.dataclass(frozen=True)
class ServiceStatus:
    running: bool
    """A live process holds the service lock of this data directory."""
    pid: int | None
    host: str | None
    started_at: str | None
    url: str | None
    metrics_port: int | None
    updated_at: str | None
    """When the state file was last written (a job run or an alert evaluation)."""
    jobs: dict[str, dict[str, Any]]
    alerts: dict[str, Any]


def service_status(data_dir: Path) -> ServiceStatus:
    holder = read_holder(data_dir)
    running = holder_alive(holder)
    state = read_state(data_dir) or {}
    info = holder if running and holder else {}
    jobs = state.get("jobs") if isinstance(state.get("jobs"), dict) else {}
    alerts = state.get("alerts") if isinstance(state.get("alerts"), dict) else {}
    return ServiceStatus(
        running=running,
        pid=info.get("pid"),
        host=info.get("host"),
        started_at=info.get("started_at"),
        url=info.get("url"),
        metrics_port=info.get("metrics_port"),
        updated_at=state.get("updated_at"),
        jobs=dict(jobs or {}),
        alerts=dict(alerts or {}),
    )
