"""What every picture of a timeline shares: colours and marks per event kind, time ticks."""

from __future__ import annotations

import datetime as dt

from doltplane.timeline.events import Event

COLORS: dict[str, str] = {
    "state": "#2b6cb0",
    "state_unsnapshotted": "#90cdf4",
    "heartbeat": "#718096",
    "created": "#2f855a",
    "updated": "#3182ce",
    "resolved_sync": "#805ad5",
    "conflict": "#c53030",
    "resolved": "#d69e2e",
    "merged": "#22543d",
    "cv_entry": "#b7791f",
    "catalog_change": "#6b46c1",
    "retention_cut": "#a0aec0",
    "thinned": "#a0aec0",
}
DEFAULT_COLOR = "#4a5568"

SHAPES: dict[str, str] = {
    "merged": "diamond",
    "conflict": "cross",
    "resolved": "diamond",
    "heartbeat": "tick",
    "catalog_change": "square",
    "cv_entry": "square",
}
"""Everything else is a circle; markers (the retention edges) are vertical lines."""


def color(event: Event) -> str:
    return COLORS.get(event.kind, DEFAULT_COLOR)


def shape(event: Event) -> str:
    if event.retained == "marker":
        return "line"
    return SHAPES.get(event.kind, "circle")


def numbered(events: tuple[Event, ...]) -> dict[int, int]:
    """Event index -> the number shown beside it in pictures and tables (heartbeats and
    markers are not numbered: there are many of them and they say little alone)."""
    out: dict[int, int] = {}
    for index, event in enumerate(events):
        if event.kind != "heartbeat" and event.retained != "marker":
            out[index] = len(out) + 1
    return out


def time_format(start: dt.datetime, end: dt.datetime) -> str:
    """A strftime format fine enough to tell the ticks of this span apart."""
    seconds = (end - start).total_seconds()
    if seconds < 120:
        return "%H:%M:%S.%f" if seconds < 5 else "%H:%M:%S"
    if seconds < 86400:
        return "%H:%M"
    return "%m-%d %H:%M"


def tick_label(moment: dt.datetime, fmt: str) -> str:
    text = moment.strftime(fmt)
    return text[:-3] if fmt.endswith("%f") else text  # milliseconds, not microseconds
