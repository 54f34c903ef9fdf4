"""``doltplane pack``: list, install, inspect and clean up schema packs."""

from __future__ import annotations

import click

from doltplane.cli.common import emit, get_dp, json_option


@click.group()
def pack() -> None:
    """Schema packs: your own tables with migrations, history and retention."""


@pack.command("list")
@json_option
def list_packs(as_json: bool) -> None:
    """Every pack this environment can install, and whether it is installed."""
    rows = [
        {
            "name": s.name,
            "plane": s.plane,
            "installed": s.installed,
            "tables": len(s.tables),
            "description": s.description,
        }
        for s in get_dp().packs.status()
    ]
    emit(rows, as_json, columns=["name", "plane", "installed", "tables", "description"])


@pack.command()
@click.argument("name")
@json_option
def install(name: str, as_json: bool) -> None:
    """Install a pack: record it, apply its migrations (each a commit), seed it; safe to rerun."""
    result = get_dp().packs.install(name)
    if as_json:
        emit(result, True)
        return
    for revision in result.migrations:
        click.echo(f"applied {revision}")
    if result.seeded_rows:
        click.echo(f"seeded {result.seeded_rows} row(s)")
    state = "installed" if result.newly_installed else "already installed"
    click.echo(f"{state}: {result.name} ({result.plane} plane)")


@pack.command()
@click.argument("name", required=False)
@json_option
def status(name: str | None, as_json: bool) -> None:
    """Installed state, tables and applied/pending migrations of each pack (or one)."""
    dp = get_dp()
    report = dp.packs.status(name)
    if as_json:
        from doltplane.packs import registry

        emit(
            [
                {
                    **registry.get(s.name).describe(),
                    **{k: getattr(s, k) for k in ("installed", "applied", "pending")},
                }
                for s in report
            ],
            True,
        )
        return
    emit(report, False, columns=["name", "plane", "installed", "applied", "pending"])


@pack.command()
@click.option("--now", default=None, help="Apply the windows as of this ISO time (default: now).")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@json_option
def cleanup(now: str | None, dry_run: bool, as_json: bool) -> None:
    """Apply every installed pack's retention rules (exactly the expired rows)."""
    from doltplane.validation import parse_time

    moment = None if now is None else parse_time(now)
    results = get_dp().packs.cleanup(now=moment, dry_run=dry_run)
    emit(results, as_json, columns=["pack", "table", "cutoff", "states", "deleted", "dry_run"])
