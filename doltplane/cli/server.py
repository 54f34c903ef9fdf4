"""``doltplane server start|stop|status|logs``: a supervised local dolt sql-server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from doltplane.cli.common import CliState, echo_json, emit, json_option

if TYPE_CHECKING:
    from doltplane.config import Settings


def _settings(**overrides: object) -> Settings:
    from doltplane.config import Settings

    state = click.get_current_context().find_object(CliState)
    base = dict(state.overrides) if state is not None else {}
    base.pop("url", None)  # the server belongs to the data directory, whatever url says
    return Settings.load({**base, **overrides})


@click.group()
def server() -> None:
    """Run and supervise a local dolt sql-server for the data directory (<data-dir>/server)."""


@server.command("start")
@click.option("--port", type=int, default=None, help="Listen on this port [setting server_port].")
@click.option("--timeout", type=float, default=None, help="Seconds to wait for the server.")
@click.option(
    "--replicate-to",
    default=None,
    metavar="URL",
    help="Push every commit to this remote folder (file:///...) for read replicas"
    " [setting server_replicate_to].",
)
@click.option(
    "--replica-of",
    default=None,
    metavar="URL",
    help="Run as a read-only replica pulling from the primary's --replicate-to URL"
    " [setting server_replica_of].",
)
@json_option
def start(
    port: int | None,
    timeout: float | None,
    replicate_to: str | None,
    replica_of: str | None,
    as_json: bool,
) -> None:
    """Start the server and its supervisor; returns once the server answers.

    The supervisor keeps running in the background (probing, restarting with
    backoff) until `doltplane server stop`.
    """
    from doltplane.server.control import start_server

    settings = _settings(
        server_port=port, server_replicate_to=replicate_to, server_replica_of=replica_of
    )
    status = start_server(settings, timeout=timeout)
    if as_json:
        echo_json(status)
        return
    click.echo(f"dolt {status.version} answers at {status.url} (supervisor pid {status.pid})")


@server.command("stop")
@json_option
def stop(as_json: bool) -> None:
    """Stop the supervisor and its server (a no-op when none runs)."""
    from doltplane.server.control import stop_server

    status = stop_server(_settings())
    if as_json:
        echo_json(status)
        return
    click.echo(f"server {status.state}")


@server.command("status")
@json_option
def status(as_json: bool) -> None:
    """State (running, backing-off, gave-up, stopped), pid, port, URL, version, uptime,
    restarts and the last probe."""
    from doltplane.server.control import server_status

    emit(server_status(_settings()), as_json, title="doltplane server")


@server.command("logs")
@click.option("-n", "lines", type=int, default=50, show_default=True, help="Lines to show.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines (Ctrl-C stops).")
def logs(lines: int, follow: bool) -> None:
    """The server's log with the supervisor's events (restarts, probes that failed)."""
    from doltplane.server.control import follow_log, read_log

    settings = _settings()
    for line in read_log(settings, lines):
        click.echo(line)
    if follow:
        try:
            for line in follow_log(settings):
                click.echo(line)
        except KeyboardInterrupt:
            pass
