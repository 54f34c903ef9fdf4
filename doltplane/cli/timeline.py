"""``doltplane timeline ID``: everything known about one id over time, across the planes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click

from doltplane.cli.common import echo_json, echo_table, get_dp, json_option

if TYPE_CHECKING:
    from doltplane.timeline import Timeline


@click.command()
@click.argument("id")
@json_option
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Also write one self-contained HTML page (inline SVG, nothing fetched) to FILE.",
)
@click.option(
    "--png",
    "png_file",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Also write a PNG picture to FILE (needs matplotlib: pip install 'doltplane[plots]').",
)
@click.option(
    "--tz",
    default="UTC",
    show_default=True,
    help="Time zone of every time shown: an IANA name (Europe/Berlin) or 'local'.",
)
@click.option(
    "--heartbeats",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="At most this many heartbeats per agent (the newest in the record's span).",
)
@click.option(
    "--all-heartbeats-in-table",
    "beats_in_table",
    is_flag=True,
    help="List every heartbeat in the table (by default they are counted, not listed).",
)
def timeline(
    id: str,
    as_json: bool,
    html_file: str | None,
    png_file: str | None,
    tz: str,
    heartbeats: int,
    beats_in_table: bool,
) -> None:
    """Everything known about ID over time: operational states, the heartbeats of the agent
    that held it, ledger versions per branch, conflicts, resolutions and merges, CV entries,
    and federation changes to a role or formula it names. The retention window is shown and
    what fell out of it is marked."""
    from doltplane.timeline import gather, render_html, zone

    where = zone(tz)
    found = gather(get_dp(), id, heartbeats=heartbeats)
    if html_file is not None:
        Path(html_file).write_text(render_html(found, where), encoding="utf-8")
    if png_file is not None:
        from doltplane.timeline.png import render_png

        render_png(found, png_file, where)
    if as_json:
        echo_json(found.as_dict(where))
        return
    _print_table(found, where, beats_in_table)
    for path in (html_file, png_file):
        if path is not None:
            click.echo(f"wrote {path}", err=True)


def _print_table(found: Timeline, where: dt.tzinfo, beats_in_table: bool) -> None:
    from doltplane.timeline.events import describe_days, zone_name
    from doltplane.timeline.style import numbered

    numbers = numbered(found.events)
    rows = []
    beats = 0
    for index, event in enumerate(found.events):
        if event.kind == "heartbeat" and not beats_in_table:
            beats += 1
            continue
        mark = "[outside window] " if event.retained == "outside_window" else ""
        rows.append(
            {
                "#": numbers.get(index, ""),
                "time": event.at.astimezone(where).strftime("%m-%d %H:%M:%S"),
                "plane": event.lane,
                "kind": event.kind,
                "what happened": mark + event.summary,
                "who": event.actor,
                "branch": event.branch,
            }
        )
    r = found.retention
    echo_table(rows, title=f"timeline of {found.id} (times in {zone_name(where)})")
    click.echo(
        f"retention window: {describe_days(r.days)}; operational history and heartbeats before "
        f"{r.cutoff.astimezone(where):%Y-%m-%d %H:%M:%S} are folded or deleted"
    )
    if beats:
        agents = ", ".join(found.subjects.get("agents", []))
        click.echo(f"{beats} heartbeats of {agents} (list them with --all-heartbeats-in-table)")
    for note in found.notes:
        click.echo(f"note: {note}")
