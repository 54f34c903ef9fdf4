"""A timeline as one self-contained HTML page: the SVG picture and the event table.

Nothing is fetched: no script, no font, no stylesheet link, no image URL. The one
inline stylesheet is allowed by its hash in the page's Content-Security-Policy, and
every text from the data is escaped.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from html import escape

from doltplane.timeline.events import LANE_TITLES, Timeline, describe_days, zone_name
from doltplane.timeline.style import numbered
from doltplane.timeline.svg import render_svg

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#1a202c;background:#fff}
h1{font-size:1.3em;margin:0 0 .3em}h2{font-size:1.05em;margin:1.4em 0 .4em}
table{border-collapse:collapse;font-size:.85em}
td,th{border-bottom:1px solid #e2e8f0;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f7fafc}.muted{color:#718096}.outside_window{color:#a0aec0}
.marker{color:#718096;font-style:italic}.kind-conflict{color:#c53030;font-weight:bold}
.kind-merged{color:#22543d;font-weight:bold}code{font-size:.95em}
nav a{margin-right:1em}form{margin:.6em 0}input[type=text]{width:22em;padding:.2em}
.error{color:#c53030}.stale{color:#c53030}.ok{color:#2f855a}.firing{color:#c53030}
.pending{color:#b7791f}.wide{overflow-x:auto}
"""


def style_hash(style: str = STYLE) -> str:
    """The CSP source that allows exactly this stylesheet."""
    digest = hashlib.sha256(style.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


CSP = "default-src 'none'; style-src {style}; img-src data:; form-action 'self'; base-uri 'none'"


def content_security_policy(*, header: bool = True) -> str:
    """The policy every page is sent with; ``frame-ancestors`` only works as a header
    (browsers ignore it in a ``<meta>`` tag, with a console error)."""
    policy = CSP.format(style=style_hash())
    return policy + "; frame-ancestors 'none'" if header else policy


def render_fragment(timeline: Timeline, zone: dt.tzinfo = dt.UTC) -> str:
    """The picture, the window and notes, and the event table (no page around them)."""
    r = timeline.retention
    name = escape(zone_name(zone))

    def t(moment: dt.datetime) -> str:
        return escape(moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3])

    parts = [
        f'<p class="muted">{len(timeline.events)} events; times in {name}; generated '
        f"{t(timeline.generated_at)}. Retention window: {escape(describe_days(r.days))} "
        "(operational "
        f"history and heartbeats before {t(r.cutoff)} are folded or deleted"
        + (
            f"; heartbeats before {t(r.full_since)} thinned to one per agent per "
            f"{r.thin_seconds:g} s"
            if r.full_since is not None
            else ""
        )
        + "). The ledger and federation keep everything.</p>",
        f'<div class="wide">{render_svg(timeline, zone)}</div>',
    ]
    if timeline.notes:
        parts.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in timeline.notes) + "</ul>")
    subjects = "; ".join(
        f"{escape(k)}: {escape(', '.join(v))}" for k, v in timeline.subjects.items()
    )
    parts.append(f'<p class="muted">found as {subjects}</p>')
    numbers = numbered(timeline.events)
    rows = []
    for index, event in enumerate(timeline.events):
        css = f"{event.retained} kind-{escape(event.kind)}"
        commit = "" if event.commit is None else f"<code>{escape(event.commit[:12])}</code>"
        rows.append(
            f'<tr class="{css}"><td>{numbers.get(index, "")}</td><td>{t(event.at)}</td>'
            f"<td>{escape(LANE_TITLES[event.lane])}</td><td>{escape(event.kind)}</td>"
            f"<td>{escape(event.summary)}</td><td>{escape(event.actor or '')}</td>"
            f"<td>{escape(event.branch or '')}</td><td>{commit}</td>"
            f"<td>{_retained(event.retained)}</td></tr>"
        )
    parts.append(
        '<table class="events"><thead><tr><th>#</th><th>time</th><th>plane</th><th>kind</th>'
        "<th>what happened</th><th>who</th><th>branch</th><th>commit</th><th>retention</th>"
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )
    return "".join(parts)


def _retained(value: str) -> str:
    return {"kept": "", "outside_window": "outside the window", "marker": "window edge"}[value]


def render_html(timeline: Timeline, zone: dt.tzinfo = dt.UTC) -> str:
    """One self-contained page, the timeline's JSON embedded as inert data for tools."""
    data = json.dumps(timeline.as_dict(zone), default=str)
    # inert: type application/json never runs; "<" escaped so no text can close the tag
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    policy = content_security_policy(header=False)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
        f"<title>timeline of {escape(timeline.id)}</title><style>{STYLE}</style></head><body>"
        f"<h1>timeline of <code>{escape(timeline.id)}</code></h1>"
        f"{render_fragment(timeline, zone)}"
        f'<script type="application/json" id="timeline-data">{data}</script>'
        "</body></html>\n"
    )
