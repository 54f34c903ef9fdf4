"""``doltplane serve``: the long-running service, in the foreground (systemd-friendly)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import click

from doltplane.cli.common import echo_json, to_jsonable


def _text(value: Any) -> str:
    value = to_jsonable(value)
    if isinstance(value, str) and value and " " not in value and "=" not in value:
        return value
    return json.dumps(value, separators=(",", ":"), default=str)


def event_printer(as_json: bool) -> Any:
    """One line per event on stderr: ``time event key=value ...`` or a JSON object."""

    def log(event: str, fields: Mapping[str, Any]) -> None:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        if as_json:
            line = json.dumps(
                {"time": now, "event": event, **to_jsonable(dict(fields))}, default=str
            )
        else:
            pairs = " ".join(f"{k}={_text(v)}" for k, v in fields.items())
            line = f"{now} {event}" + (f" {pairs}" if pairs else "")
        click.echo(line, err=True)

    return log


@click.command()
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve Prometheus metrics on 127.0.0.1:PORT/metrics (0: any free port)"
    " [setting metrics_port; default: no metrics endpoint].",
)
@click.option("--log-json", is_flag=True, help="Log one JSON object per line instead of text.")
@click.option(
    "--once",
    "once",
    metavar="JOB",
    default=None,
    help="Run one job now and exit (for cron): snapshot, cleanup, federation_pull,"
    " ledger_prune, backup_push, metrics_sample, alerts.",
)
@click.option("--json", "as_json", is_flag=True, help="With --once: print the run as JSON.")
@click.pass_context
def serve(
    ctx: click.Context, metrics_port: int | None, log_json: bool, once: str | None, as_json: bool
) -> None:
    """Run the service for one data directory or server URL until SIGTERM or Ctrl-C:
    ops snapshots, cleanup, federation pulls, ledger pruning, backup pushes, metrics and
    alerts, each on its interval. One service per data directory."""
    from doltplane.cli.common import CliState
    from doltplane.config import Settings
    from doltplane.service.runner import Service

    state = ctx.find_object(CliState)
    assert state is not None
    settings = Settings.load(state.overrides)
    service = Service(settings, log=event_printer(log_json), metrics_port=metrics_port)
    if once is not None:
        run = service.run_once(once)
        if as_json:
            echo_json(run)
        else:
            detail = run.error or ", ".join(f"{k}={_text(v)}" for k, v in run.report.items())
            click.echo(
                f"{run.job}: {run.result} in {run.duration_seconds:.3f} s"
                + (f" ({detail})" if detail else "")
            )
        if run.result == "failed":
            ctx.exit(run.exit_code or 1)
        return
    service.install_signal_handlers()
    ctx.exit(service.run())
