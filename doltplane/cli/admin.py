"""Administration commands: init, migrate, demo (status: cli/status.py)."""

from __future__ import annotations

import click

from doltplane.cli.common import emit, get_dp, json_option


@click.command()
@json_option
def init(as_json: bool) -> None:
    """Create the data directory and every plane's database; safe to run again."""
    applied = get_dp().migrate()
    if as_json:
        emit({"applied": applied}, True)
        return
    for revision in applied:
        click.echo(f"applied {revision.plane} {revision.revision}: {revision.description}")
    click.echo(f"ready: {get_dp().settings.data_dir}" if applied else "already initialised")


@click.command()
@click.option("--list", "list_only", is_flag=True, help="Show applied and pending migrations only.")
@json_option
def migrate(list_only: bool, as_json: bool) -> None:
    """Apply pending schema migrations (each one a Dolt commit naming it)."""
    dp = get_dp()
    if list_only:
        rows = [r for status in dp.migration_status() for r in status.revisions]
        emit(rows, as_json, columns=["plane", "revision", "description", "applied"])
        return
    applied = dp.migrate()
    if as_json:
        emit({"applied": applied}, True)
        return
    for revision in applied:
        click.echo(f"applied {revision.plane} {revision.revision}: {revision.description}")
    if not applied:
        click.echo("nothing to migrate: every plane is current")


@click.command()
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where to build the demo (default: a new temporary folder).",
)
def demo(workdir: str | None) -> None:
    """A guided tour of the three planes on the embedded engine, in plain text."""
    from doltplane.cli.demo import run_demo

    run_demo(workdir, click.echo)
