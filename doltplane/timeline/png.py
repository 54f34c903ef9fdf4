"""A timeline as a PNG picture, drawn with matplotlib (the optional ``plots`` extra).

matplotlib is imported here and nowhere else in the library, so reading a timeline
(table, JSON, HTML) never needs it. The Figure is drawn with the Agg canvas directly,
never through pyplot: no global state, no display, safe in a server thread.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from doltplane.errors import ConfigError
from doltplane.timeline.events import (
    LANE_TITLES,
    RETENTION_LANES,
    Timeline,
    describe_days,
    zone_name,
)
from doltplane.timeline.style import color, numbered, shape

_MARKERS = {"circle": "o", "diamond": "D", "cross": "X", "square": "s", "tick": "|"}


def render_png(timeline: Timeline, path: str | Path, zone: dt.tzinfo = dt.UTC) -> Path:
    """Draw the timeline into ``path`` (a PNG file, replaced if present); the path."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.dates import AutoDateLocator, DateFormatter, date2num
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError(
            "--png needs matplotlib, which is not installed",
            hint="pip install 'doltplane[plots]'",
        ) from None

    def num(moment: dt.datetime) -> float:
        return float(date2num(moment))  # type: ignore[no-untyped-call]

    lanes = timeline.lanes() or ["ops"]
    fig = Figure(figsize=(11, 1.1 + 0.75 * len(lanes)), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    start, end = timeline.span()
    if end <= start:
        start, end = start - dt.timedelta(seconds=1), end + dt.timedelta(seconds=1)
    pad = (end - start) * 0.04
    left, right = (start - pad).astimezone(zone), (end + pad).astimezone(zone)
    cutoff = timeline.retention.cutoff.astimezone(zone)
    rows = {lane: len(lanes) - 1 - n for n, lane in enumerate(lanes)}
    shaded = cutoff > left and any(lane in rows for lane in RETENTION_LANES)
    for lane in RETENTION_LANES:
        if cutoff > left and lane in rows:
            ax.fill_between(
                [num(left), num(min(cutoff, right))],
                rows[lane] - 0.4,
                rows[lane] + 0.4,
                color="#e2e8f0",
                linewidth=0,
                label=None
                if lane != "ops" and "ops" in rows
                else f"outside the {describe_days(timeline.retention.days)} retention window",
            )
    numbers = numbered(timeline.events)
    for index, event in enumerate(timeline.events):
        at = event.at.astimezone(zone)
        kind = shape(event)
        if kind == "line":
            ax.axvline(num(at), color=color(event), linestyle="--", linewidth=1)
            ax.annotate(
                "window edge" if event.kind == "retention_cut" else "thinning edge",
                (num(at), len(lanes) - 0.35),
                textcoords="offset points",
                xytext=(3, 0),
                fontsize=7,
                color="#4a5568",
            )
            continue
        alpha = 0.45 if event.retained == "outside_window" else 1.0
        ax.plot(
            [num(at)],
            [rows[event.lane]],
            marker=_MARKERS[kind],
            markersize=12 if kind == "tick" else 8,
            color=color(event),
            alpha=alpha,
            linestyle="none",
        )
        number = numbers.get(index)
        if number is not None:
            ax.annotate(
                str(number),
                (num(at), rows[event.lane]),
                textcoords="offset points",
                xytext=(0, 9 if number % 2 else -15),
                ha="center",
                fontsize=8,
            )
    ax.set_yticks(list(rows.values()), [LANE_TITLES[lane] for lane in rows])
    ax.set_ylim(-0.7, len(lanes) - 0.3)
    ax.set_xlim(num(left), num(right))
    formatter = DateFormatter(_date_format(start, end), tz=zone)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(AutoDateLocator(tz=zone, minticks=4, maxticks=9))  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(formatter)
    ax.set_xlabel(f"time ({zone_name(zone)})")
    ax.set_title(f"timeline of {timeline.id}", loc="left", fontsize=11)
    ax.grid(axis="y", color="#e2e8f0")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if shaded:
        ax.legend(loc="upper right", fontsize=8, frameon=False)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png")
    return out


def _date_format(start: dt.datetime, end: dt.datetime) -> str:
    seconds = (end - start).total_seconds()
    if seconds < 600:
        return "%H:%M:%S"
    if seconds < 86400:
        return "%H:%M"
    return "%m-%d %H:%M"
