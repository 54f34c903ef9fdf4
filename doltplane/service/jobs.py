"""The service's jobs: what each does, how often (a setting), and when it does not apply.

A job is a registry entry, so the server supervision job (issue 9) plugs in with one
``register(Job(...))`` call and no change to the scheduler.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from doltplane.errors import JobFailed

if TYPE_CHECKING:
    from doltplane.client import DataPlane
    from doltplane.config import Settings
    from doltplane.service.clock import Clock
    from doltplane.service.metrics import ServiceMetrics
    from doltplane.service.sampling import StoreSampler


@dataclasses.dataclass
class JobContext:
    dp: DataPlane
    clock: Clock
    metrics: ServiceMetrics
    sampler: StoreSampler
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Hooks other modules hand their jobs (e.g. ``"supervisor"`` for the server job)."""

    @property
    def settings(self) -> Settings:
        return self.dp.settings


Report = Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Job:
    name: str
    interval: Callable[[Settings], float]
    """Seconds between runs, read from the settings (0: the job is off)."""
    run: Callable[[JobContext], Report]
    """Does the work; returns fields for the log line. Raises (or raises JobFailed) to fail."""
    skip: Callable[[JobContext], str | None] = lambda ctx: None
    """Why the job does not apply here right now (None: it does)."""
    doc: str = ""


JOBS: dict[str, Job] = {}


def register(job: Job) -> Job:
    JOBS[job.name] = job
    return job


# --- the jobs -------------------------------------------------------------------------------
def _snapshot(ctx: JobContext) -> Report:
    # one branch's working set is shared by every connection, so this commits the idle
    # writers' changes too (see DOLTLITE_NOTES: "uncommitted changes belong to the branch")
    message = "ops snapshot (service)"
    if ctx.clock.simulated:  # benchmarks: date the commit on the accelerated clock
        commit = ctx.dp.engine("ops").commit(message, date=ctx.clock.utcnow())
    else:
        commit = ctx.dp.ops.checkpoint(message)
    return {"commit": commit[:12] if commit else None}


def _cleanup(ctx: JobContext) -> Report:
    now = ctx.clock.utcnow()
    result = ctx.dp.ops.cleanup(now=now)
    # installed schema packs' own retention rules (doltplane/packs), on either plane
    packs = ctx.dp.packs.cleanup(now=now.replace(tzinfo=None))
    return {
        "deleted_states": result.state_rows_deleted,
        "deleted_heartbeats": result.heartbeats_deleted,
        "deleted_pack_rows": sum(r.deleted for r in packs),
        "commits_after": result.commits_after,
        "bytes_before": result.bytes_before,
        "bytes_after": result.bytes_after,
    }


def _federation_configured(ctx: JobContext) -> str | None:
    from doltplane.federation.plane import CLONE_DIR

    if not (ctx.settings.data_dir / CLONE_DIR).is_dir():
        return "no federation clone here"
    if not ctx.dp.federation.repo.remote_url():
        return "the federation clone has no remote"
    return None


def _federation_pull(ctx: JobContext) -> Report:
    outcome = ctx.dp.federation.scheduled_pull()  # records itself in the clone's last_pull
    if outcome.error is not None or outcome.result is None:
        ctx.metrics.record_pull("error", 0)
        raise JobFailed(outcome.error or "federation pull failed")
    result = outcome.result
    conflicts = list(result.conflicts)
    ctx.metrics.record_pull(result.status.value, len(conflicts))
    if conflicts:
        raise JobFailed(
            f"federation pull conflicts in {', '.join(conflicts)} (left for a person)",
            hint="resolve with `doltplane federation resolve`",
        )
    return {"status": result.status.value}


def _ledger_prune(ctx: JobContext) -> Report:
    pruned = ctx.dp.ledger.prune()
    stale = [b.name for b in ctx.dp.ledger.branches(stale_only=True)]
    ctx.metrics.stale_branches.set(len(stale))
    return {"deleted": list(pruned.deleted), "kept": len(pruned.kept), "stale": stale}


def _backup_configured(ctx: JobContext) -> str | None:
    if not ctx.settings.embedded:
        return "a Dolt server has its own remotes"
    from doltplane import backups

    return None if backups.remotes(ctx.dp) else "no backup remote (`doltplane backup add`)"


def _backup_push(ctx: JobContext) -> Report:
    from doltplane import backups

    pushes = backups.push_backup(ctx.dp)
    rejected = [f"{p.remote}:{r.plane}/{r.branch}" for p in pushes for r in p.rejected]
    if rejected:
        raise JobFailed(
            f"backup refused {', '.join(rejected)}: the remote moved on",
            hint="check it with `doltplane backup verify`",
        )
    return {"remotes": [p.remote for p in pushes], "refs": sum(len(p.refs) for p in pushes)}


def _alerts_configured(ctx: JobContext) -> str | None:
    return None if "evaluator" in ctx.extra else "no alert rules loaded"


def _alerts(ctx: JobContext) -> Report:
    now = ctx.clock.time()
    observations = ctx.metrics.observations(now)
    states = ctx.extra["evaluator"].evaluate(observations, now)
    for state in states:
        ctx.metrics.record_alert(state.name, state.severity, state.state)
    ctx.extra["alert_states"] = {state.name: state.to_json() for state in states}
    return {
        "firing": [s.name for s in states if s.state == "firing"],
        "pending": [s.name for s in states if s.state == "pending"],
    }


def _metrics_sample(ctx: JobContext) -> Report:
    return ctx.sampler.sample(ctx.dp, ctx.clock.time())


register(
    Job(
        "snapshot",
        lambda s: s.checkpoint_every_seconds,
        _snapshot,
        doc="commit the operational plane's pending writes, idle writers' included",
    )
)
register(
    Job(
        "cleanup",
        lambda s: s.cleanup_interval_seconds,
        _cleanup,
        doc="retention: delete old rows in batches, squash old history, gc",
    )
)
register(
    Job(
        "federation_pull",
        lambda s: s.federation_pull_interval_seconds,
        _federation_pull,
        skip=_federation_configured,
        doc="pull the shared catalog; a conflict is reported, never resolved",
    )
)
register(
    Job(
        "ledger_prune",
        lambda s: s.ledger_prune_interval_seconds,
        _ledger_prune,
        doc="delete merged or empty agent branches; report stale ones",
    )
)
register(
    Job(
        "backup_push",
        lambda s: s.backup_interval_seconds,
        _backup_push,
        skip=_backup_configured,
        doc="push every plane to every backup remote",
    )
)
register(
    Job(
        "metrics_sample",
        lambda s: s.metrics_sample_seconds,
        _metrics_sample,
        doc="probe reads and store sizes, commits, rows and writes by any process",
    )
)
register(
    Job(
        "alerts",
        lambda s: s.alerts_interval_seconds,
        _alerts,
        skip=_alerts_configured,
        doc="evaluate the rules of alerts.yaml and run their actions",
    )
)


def _server_configured(ctx: JobContext) -> str | None:
    return "embedded engine" if ctx.settings.url is None else None


def _supervise(ctx: JobContext) -> Report:
    # The supervisor of this data directory (`doltplane server start`) restarts its server
    # itself; this job is the service's view of the server: its probe feeds the alerts'
    # server_up, and the supervisor's restart count goes to the metrics.
    from doltplane.errors import EngineUnavailable
    from doltplane.server.control import server_status
    from doltplane.server.probe import probe

    local = server_status(ctx.settings)
    if "restarts" in ctx.metrics.server:
        ctx.metrics.server["restarts"].set(local.restarts)
    try:
        seen = probe(ctx.settings.url or "", timeout=ctx.settings.server_probe_timeout_seconds)
    except EngineUnavailable as exc:
        ctx.metrics.set_server_up(False)
        raise JobFailed(f"the server is not responding: {exc.one_line()}") from None
    ctx.metrics.set_server_up(True)
    return {
        "version": seen.version,
        "latency_ms": round(seen.latency_ms, 1),
        "supervisor": local.state,
        "restarts": local.restarts,
    }


register(
    Job(
        "server_supervision",
        lambda s: s.server_probe_interval_seconds,
        _supervise,
        skip=_server_configured,
        doc="probe the Dolt server (the alerts' server_up) and report its supervisor",
    )
)
