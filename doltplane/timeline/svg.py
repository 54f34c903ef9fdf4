"""A timeline as an inline SVG picture: one lane per plane, time left to right.

Every text that came from the data (ids, titles, authors) goes through
``html.escape``; hover titles (``<title>``) carry each event's summary. No
script, no external reference, no style attribute: the page's
Content-Security-Policy can forbid them all.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from doltplane.timeline.events import (
    LANE_TITLES,
    RETENTION_LANES,
    Event,
    Timeline,
    describe_days,
    zone_name,
)
from doltplane.timeline.style import color, numbered, shape, tick_label, time_format

WIDTH = 980
LEFT = 150
RIGHT = 30
TOP = 46
LANE = 54
BOTTOM = 44
_NAMESPACE = ' xmlns="http://www.w3.org/2000/svg"'


def render_svg(timeline: Timeline, zone: dt.tzinfo = dt.UTC, *, standalone: bool = False) -> str:
    """The picture as SVG markup: an ``<svg>`` element to inline in HTML, or with
    ``standalone`` a document of its own (it then names the SVG namespace)."""
    lanes = timeline.lanes() or ["ops"]
    height = TOP + LANE * len(lanes) + BOTTOM
    start, end = _range(timeline)
    span = (end - start).total_seconds() or 1.0
    inner = WIDTH - LEFT - RIGHT

    def x(moment: dt.datetime) -> float:
        return LEFT + inner * (moment - start).total_seconds() / span

    def y(lane: str) -> float:
        return TOP + LANE * lanes.index(lane) + LANE / 2  # type: ignore[arg-type]

    out = [
        f'<svg{_NAMESPACE if standalone else ""} class="timeline" role="img" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        f'font-family="sans-serif" font-size="12">',
        f"<title>timeline of {escape(timeline.id)}</title>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
    ]
    cutoff = timeline.retention.cutoff
    if cutoff > start:
        edge = min(x(cutoff), LEFT + inner)
        for lane in RETENTION_LANES:
            if lane in lanes:
                top = y(lane) - LANE / 2 + 4
                out.append(
                    f'<rect x="{LEFT}" y="{top}" width="{edge - LEFT:.1f}" '
                    f'height="{LANE - 8}" fill="#e2e8f0"/>'
                )
        out.append(
            f'<text x="{LEFT + 4}" y="{TOP - 6}" fill="#718096">shaded: outside the '
            f"{escape(describe_days(timeline.retention.days))} retention window</text>"
        )
    for n, lane in enumerate(lanes):
        top = TOP + LANE * n
        out.append(
            f'<line x1="{LEFT}" y1="{top + LANE / 2}" x2="{WIDTH - RIGHT}" '
            f'y2="{top + LANE / 2}" stroke="#cbd5e0"/>'
            f'<text x="10" y="{top + LANE / 2 + 4}" fill="#2d3748">'
            f"{escape(LANE_TITLES[lane])}</text>"
        )
    fmt = time_format(start.astimezone(zone), end.astimezone(zone))
    base = TOP + LANE * len(lanes)
    for k in range(5):
        moment = start + (end - start) * (k / 4)
        px = x(moment)
        out.append(
            f'<line x1="{px:.1f}" y1="{base}" x2="{px:.1f}" y2="{base + 5}" stroke="#4a5568"/>'
            f'<text x="{px:.1f}" y="{base + 18}" text-anchor="middle" fill="#4a5568">'
            f"{escape(tick_label(moment.astimezone(zone), fmt))}</text>"
        )
    out.append(
        f'<text x="{WIDTH - RIGHT}" y="{base + 36}" text-anchor="end" fill="#718096">'
        f"times in {escape(zone_name(zone))}</text>"
    )
    numbers = numbered(timeline.events)
    for index, event in enumerate(timeline.events):
        out.append(_mark(event, x(event.at), y(event.lane), numbers.get(index), TOP, base))
    out.append(
        f'<text x="{LEFT}" y="24" font-size="15" font-weight="bold" fill="#1a202c">'
        f"{escape(timeline.id)}</text>"
    )
    out.append("</svg>")
    return "".join(out)


def _range(timeline: Timeline) -> tuple[dt.datetime, dt.datetime]:
    start, end = timeline.span()
    if end <= start:
        start, end = start - dt.timedelta(seconds=1), end + dt.timedelta(seconds=1)
    pad = (end - start) * 0.03
    return start - pad, end + pad


def _mark(event: Event, x: float, y: float, number: int | None, top: int, base: int) -> str:
    fill = color(event)
    tip = (
        f"<title>{escape(event.at.isoformat())} {escape(event.kind)}: "
        f"{escape(event.summary)}</title>"
    )
    kind = shape(event)
    faded = ' fill-opacity="0.45"' if event.retained == "outside_window" else ""
    if kind == "line":
        body = (
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{base}" stroke="{fill}" '
            f'stroke-dasharray="4 3" stroke-width="1.5"/>'
        )
    elif kind == "tick":
        body = f'<rect x="{x - 1:.1f}" y="{y - 8:.1f}" width="2" height="16" fill="{fill}"{faded}/>'
    elif kind == "diamond":
        body = (
            f'<polygon points="{x:.1f},{y - 8:.1f} {x + 8:.1f},{y:.1f} {x:.1f},{y + 8:.1f} '
            f'{x - 8:.1f},{y:.1f}" fill="{fill}"{faded}/>'
        )
    elif kind == "cross":
        body = (
            f'<path d="M{x - 7:.1f},{y - 7:.1f}L{x + 7:.1f},{y + 7:.1f}M{x - 7:.1f},{y + 7:.1f}'
            f'L{x + 7:.1f},{y - 7:.1f}" stroke="{fill}" stroke-width="3"/>'
        )
    elif kind == "square":
        body = (
            f'<rect x="{x - 6:.1f}" y="{y - 6:.1f}" width="12" height="12" fill="{fill}"{faded}/>'
        )
    else:
        body = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6.5" fill="{fill}"{faded}/>'
    label = (
        ""
        if number is None
        else f'<text x="{x:.1f}" y="{y - 11 if number % 2 else y + 20:.1f}" '
        f'text-anchor="middle" font-size="10" '
        f'fill="#1a202c">{number}</text>'
    )
    return f'<g class="event ev-{escape(event.kind)}">{tip}{body}{label}</g>'
