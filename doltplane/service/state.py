"""``<data_dir>/.serve/state.json``: what each job and alert did last, for ``doltplane status``,
``doltplane alerts`` and ``doltplane doctor``. Written atomically after every job run and
every alert evaluation; times are ISO-8601 UTC."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any, Literal

from doltplane.remote_registry import write_atomically
from doltplane.service.lock import serve_dir

STATE_FILE = "state.json"

Result = Literal["ok", "failed"]


def iso(moment: float | None) -> str | None:
    """Epoch seconds as ISO-8601 UTC text (None stays None)."""
    return None if moment is None else dt.datetime.fromtimestamp(moment, dt.UTC).isoformat()


@dataclasses.dataclass
class JobState:
    interval_seconds: float
    runs: int = 0
    failures: int = 0
    last_started_at: str | None = None
    last_finished_at: str | None = None
    last_duration_seconds: float | None = None
    last_result: Result | None = None
    running_since: str | None = None
    last_error: str | None = None
    last_success_at: str | None = None
    next_run_at: str | None = None

    @classmethod
    def from_json(cls, raw: Any) -> JobState | None:
        if not isinstance(raw, dict):
            return None
        names = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in raw.items() if k in names})
        except TypeError:
            return None


@dataclasses.dataclass
class ServiceState:
    pid: int
    started_at: str
    updated_at: str | None = None
    jobs: dict[str, JobState] = dataclasses.field(default_factory=dict)
    alerts: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "jobs": {name: dataclasses.asdict(job) for name, job in self.jobs.items()},
            "alerts": self.alerts,
        }


def state_path(data_dir: Path) -> Path:
    return serve_dir(data_dir) / STATE_FILE


def write_state(data_dir: Path, state: ServiceState, now: float) -> None:
    state.updated_at = iso(now)
    path = state_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(state.to_json(), indent=2))


def read_state(data_dir: Path) -> dict[str, Any] | None:
    """The last state a service wrote (None: never ran here, or the file is unreadable)."""
    try:
        raw = json.loads(state_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None


def previous_jobs(data_dir: Path) -> dict[str, JobState]:
    """Job records of the last run, so counts carry over and schedules resume on restart."""
    raw = read_state(data_dir) or {}
    jobs = raw.get("jobs")
    if not isinstance(jobs, dict):
        return {}
    found = {name: JobState.from_json(value) for name, value in jobs.items()}
    return {name: job for name, job in found.items() if job is not None}
