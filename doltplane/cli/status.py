"""``doltplane status``: the planes, and the service's jobs when one ran here."""

from __future__ import annotations

import datetime as dt

import click

from doltplane.cli.common import echo_json, emit, get_dp, json_option


@click.command()
@json_option
def status(as_json: bool) -> None:
    """Planes (sizes, commits, schema) and the service: running or not, each job's last
    run, duration and result."""
    from doltplane.service.status import service_status

    dp = get_dp()
    planes = dp.status()
    service = service_status(dp.settings.data_dir)
    if as_json:
        echo_json({"planes": planes, "service": service})
        return
    emit(
        [
            {
                "plane": r.plane,
                "size": f"{r.size_bytes / 1024:,.0f} KB",
                "commits": r.commits,
                "last commit": r.last_commit_date,
                "message": r.last_commit_message,
                "schema": r.schema_version or "(none)",
                "pending": r.pending_migrations,
            }
            for r in planes
        ],
        False,
    )
    for r in planes:
        click.echo(f"{r.plane}: {r.location}" + ("" if r.exists else " (not created yet)"))
    if service.running:
        where = f" on {service.host}" if service.host else ""
        metrics = f", metrics on 127.0.0.1:{service.metrics_port}" if service.metrics_port else ""
        click.echo(
            f"service: running (pid {service.pid}{where}, since {service.started_at}{metrics})"
        )
    else:
        click.echo("service: not running (start it with `doltplane serve`)")
    if service.jobs:
        emit(
            [
                {
                    "job": name,
                    "runs": f"{job.get('runs', 0)} ({job.get('failures', 0)} failed)",
                    "last run": _when(job.get("last_started_at")),
                    "took": _seconds(job.get("last_duration_seconds")),
                    "result": (job.get("last_result") or "(not yet)")
                    + (" (running now)" if job.get("running_since") else ""),
                    "next run": _when(job.get("next_run_at")),
                    "error": job.get("last_error"),
                }
                for name, job in sorted(service.jobs.items())
            ],
            False,
            title="service jobs",
        )


def _when(value: object) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _seconds(value: object) -> str:
    return f"{value:.3f} s" if isinstance(value, int | float) else ""
