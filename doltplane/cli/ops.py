"""``doltplane ops``: the operational plane (live agent state and heartbeats)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import click

from doltplane.cli.common import CliState, echo_json, emit, get_dp, json_option

if TYPE_CHECKING:
    from doltplane.planes.ops_fastread import FastOpsReader

STATE_COLUMNS = ["id", "rig", "agent", "status", "version", "updated_at", "state"]


@click.group()
def ops() -> None:
    """Live agent state and heartbeats."""


@ops.command("set")
@click.argument("id")
@click.option("--rig", required=True)
@click.option("--agent", required=True)
@click.option("--status", required=True)
@click.option("--state", "state", default="{}", help="A JSON object.")
@click.option(
    "--expected-version",
    type=int,
    default=None,
    help="Write only if the record is at this version (0: it must not exist).",
)
@json_option
def set_state(
    id: str,
    rig: str,
    agent: str,
    status: str,
    state: str,
    expected_version: int | None,
    as_json: bool,
) -> None:
    """Insert or update one agent's state."""
    record = get_dp().ops.set_state(
        id, rig=rig, agent=agent, status=status, state=state, expected_version=expected_version
    )
    emit(record, as_json)


def _fast_reader() -> FastOpsReader | None:
    """A driver-only reader of the live state (no SQLAlchemy import), closed with the
    command; None when the full client must answer (see ``FastOpsReader.open``)."""
    ctx = click.get_current_context()
    state = ctx.find_object(CliState)
    if state is None:
        return None
    from doltplane.client import require_data_dir
    from doltplane.config import Settings
    from doltplane.planes.ops_fastread import FastOpsReader

    settings = Settings.load(state.overrides)
    require_data_dir(settings)
    reader = FastOpsReader.open(settings)
    if reader is not None:
        ctx.call_on_close(reader.close)
    return reader


@ops.command()
@click.argument("id")
@json_option
def get(id: str, as_json: bool) -> None:
    """Show one record."""
    reader = _fast_reader()
    emit(reader.get(id) if reader else get_dp().ops.get(id), as_json)


def _filters(func: Any) -> Any:
    for option in reversed(
        [
            click.option("--rig"),
            click.option("--agent"),
            click.option("--status"),
            click.option("--since", type=click.DateTime(), help="Updated at or after (UTC)."),
            click.option("--limit", type=click.IntRange(min=1), default=None),
        ]
    ):
        func = option(func)
    return func


@ops.command("list")
@_filters
@json_option
def list_states(
    rig: str | None,
    agent: str | None,
    status: str | None,
    since: dt.datetime | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List records, most recently updated first."""
    reader = _fast_reader() or get_dp().ops
    rows = reader.list(rig=rig, agent=agent, status=status, updated_since=since, limit=limit)
    emit(rows, as_json, columns=STATE_COLUMNS)


@ops.command()
@click.argument("agent")
@click.option("--status", "status", default="{}", help="A JSON object.")
@click.option("--cycle", type=int, default=None)
@json_option
def heartbeat(agent: str, status: str, cycle: int | None, as_json: bool) -> None:
    """Record a heartbeat for AGENT."""
    emit(get_dp().ops.heartbeat(agent, status=status, cycle=cycle), as_json)


@ops.command()
@click.option("--stale-after", type=click.FloatRange(min=0), default=None, help="Seconds.")
@json_option
def agents(stale_after: float | None, as_json: bool) -> None:
    """Each agent's last heartbeat, stale ones flagged."""
    rows = (_fast_reader() or get_dp().ops).agents(stale_after=stale_after)
    emit(rows, as_json, columns=["agent", "last_seen", "age_seconds", "stale", "cycle_number"])


@ops.command()
@click.argument("id")
@json_option
def history(id: str, as_json: bool) -> None:
    """Every snapshot of one record, newest first."""
    versions = get_dp().ops.history(id)
    if as_json:
        echo_json(versions)
        return
    rows = [
        {"commit": v.commit[:12], "committed_at": v.committed_at, **vars(v.record)}
        for v in versions
    ]
    emit(rows, False, columns=["commit", "committed_at", "version", "status", "state"])


@ops.command("as-of")
@click.argument("when")
@click.argument("id", required=False)
@_filters
@json_option
def as_of(
    when: str,
    id: str | None,
    rig: str | None,
    agent: str | None,
    status: str | None,
    since: dt.datetime | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """Records as they were at WHEN (ISO time, commit, HEAD~n or branch)."""
    view = get_dp().ops.as_of(when)
    if id is not None:
        emit(view.get(id), as_json)
        return
    rows = view.list(rig=rig, agent=agent, status=status, updated_since=since, limit=limit)
    emit(rows, as_json, columns=STATE_COLUMNS, title=f"as of {view.revision}")


@ops.command()
@click.option("-m", "--message", default=None)
@json_option
def checkpoint(message: str | None, as_json: bool) -> None:
    """Snapshot-commit every change now."""
    commit = get_dp().ops.checkpoint(message)
    if as_json:
        echo_json({"commit": commit})
    else:
        click.echo(f"committed {commit}" if commit else "nothing to commit")


@ops.command()
@click.option("--retention-days", type=float, default=None, help="Default: the setting (7).")
@click.option("--batch-size", type=int, default=None, help="Default: the setting (1000).")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; change nothing.")
@json_option
def cleanup(
    retention_days: float | None, batch_size: int | None, dry_run: bool, as_json: bool
) -> None:
    """Delete rows past the retention window, squash older history, reclaim space."""
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)  # off a terminal it would leave a blank line on stderr
    quiet = as_json or not console.is_terminal
    with Progress(console=console, transient=True, disable=quiet) as bar:
        tasks: dict[str, Any] = {}

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total or 1)
            bar.update(tasks[step], completed=done, total=total or 1)

        result = get_dp().ops.cleanup(
            retention_days, batch_size=batch_size, dry_run=dry_run, progress=progress
        )
    emit(result, as_json)
