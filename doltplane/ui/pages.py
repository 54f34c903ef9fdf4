"""The operator page's HTML, rendered on the server; every value from the data escaped.

No script and no external asset: the search box is a plain GET form, the picture
an inline SVG, the one stylesheet allowed by its hash (see ``timeline.html``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from doltplane.alerts.service_state import LockInfo, ServiceState
from doltplane.timeline import Timeline
from doltplane.timeline.html import STYLE, render_fragment
from doltplane.ui.overview import Overview


def page(title: str, body: str, *, query: str = "") -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        # an empty icon, so the browser asks for no /favicon.ico (img-src allows data:)
        f'<title>{escape(title)} · doltplane</title><link rel="icon" href="data:,">'
        f"<style>{STYLE}</style></head><body>"
        '<nav><a href="/">overview</a></nav>'
        '<form method="get" action="/timeline" role="search">'
        '<label>timeline of id <input type="text" name="id" id="timeline-id" '
        f'value="{escape(query)}" required maxlength="255"></label> '
        '<button type="submit">show</button></form>'
        f"<h1>{escape(title)}</h1>{body}</body></html>\n"
    )


def _time(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, empty: str) -> str:
    body = ["<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows]
    if not body:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def overview_page(view: Overview) -> str:
    parts = []
    for section, problem in view.problems.items():
        parts.append(f'<p class="error">{_e(section)}: {_e(problem)}</p>')
    parts.append("<h2>planes</h2>")
    parts.append(
        _table(
            ["plane", "size", "commits", "last commit", "message", "schema"],
            (
                [
                    _e(p.plane),
                    f"{p.size_bytes / 1024:,.0f} KB" if p.exists else "not created",
                    _e(p.commits),
                    _e(_time(p.last_commit_date)),
                    _e(p.last_commit_message),
                    _e(p.schema_version),
                ]
                for p in view.planes
            ),
            empty="no planes",
        )
    )
    parts.append('<h2 id="agents">agents</h2>')
    parts.append(
        _table(
            ["agent", "last heartbeat (UTC)", "age", "cycle", "state"],
            (
                [
                    _link(a.agent),
                    _e(_time(a.last_seen)),
                    f"{a.age_seconds:,.0f} s",
                    _e(a.cycle_number),
                    '<span class="stale">stale</span>' if a.stale else '<span class="ok">ok</span>',
                ]
                for a in view.agents
            ),
            empty="no heartbeats yet",
        )
    )
    parts.append('<h2 id="branches">agent branches</h2>')
    parts.append(
        _table(
            ["branch", "ahead", "behind", "last commit (UTC)", "author", "message", "state"],
            (
                [
                    _e(b.name),
                    _e(b.ahead),
                    _e(b.behind),
                    _e(_time(b.last_commit_at)),
                    _e(b.last_author),
                    _e(b.last_message),
                    ", ".join(
                        w
                        for w, on in (
                            ('<span class="stale">stale</span>', b.stale),
                            ("uncommitted changes", b.dirty),
                            ("merged or empty", b.prunable),
                        )
                        if on
                    ),
                ]
                for b in view.branches
            ),
            empty="no agent branches",
        )
    )
    parts.append(_service_section(view.service_lock, view.service))
    parts.append('<h2 id="commits">recent commits</h2>')
    for plane, commits in view.commits.items():
        parts.append(f"<h3>{_e(plane)}</h3>")
        parts.append(
            _table(
                ["commit", "time (UTC)", "author", "message"],
                (
                    [
                        f"<code>{_e(c.hash[:12])}</code>",
                        _e(_time(c.time or c.date)),
                        _e(c.author),
                        _e(c.message.splitlines()[0] if c.message else ""),
                    ]
                    for c in commits
                ),
                empty="no commits",
            )
        )
    parts.append('<h2 id="federation">federation catalog</h2>')
    if view.catalog is None:
        parts.append('<p class="muted">no federation clone on this site</p>')
    else:
        parts.append(
            _table(
                ["kind", "name", "version", "path"],
                (
                    [_e(e.kind), _e(e.name), _e(getattr(e, "version", "")), _e(e.path)]
                    for e in view.catalog
                ),
                empty="the catalog is empty",
            )
        )
    return page("doltplane", "".join(parts))


def _link(agent: str) -> str:
    from urllib.parse import quote

    return f'<a href="/timeline?id={escape(quote(agent, safe=""))}">{escape(agent)}</a>'


def _service_section(lock: LockInfo | None, service: ServiceState | None) -> str:
    parts = ['<h2 id="service">service</h2>']
    if lock is None and service is None:
        parts.append('<p class="muted">doltplane serve has not run on this data directory</p>')
        return "".join(parts)
    if lock is not None and lock.running:
        status = f"running (pid {lock.pid}" + (f", {lock.url}" if lock.url else "") + ")"
    elif lock is not None and lock.stale:
        status = f"not running: pid {lock.pid} died without stopping (last report below)"
    else:
        status = "not running (last report below)"
    parts.append(f"<p>{_e(status)}")
    if service is not None:
        parts.append(f"; state written {_e(_stamp(service.updated_at))}")
    parts.append("</p>")
    if service is None:
        return "".join(parts)
    parts.append("<h3>jobs</h3>")
    parts.append(
        _table(
            ["job", "last result", "runs", "failures", "last finished", "next run", "last error"],
            (
                [
                    _e(name),
                    f'<span class="{_result_class(job.get("last_result"))}">'
                    f"{_e(job.get('last_result'))}</span>"
                    + (" (running now)" if job.get("running_since") else ""),
                    _e(job.get("runs")),
                    _e(job.get("failures")),
                    _e(_stamp(job.get("last_finished_at"))),
                    _e(_stamp(job.get("next_run_at"))),
                    _e(job.get("last_error")),
                ]
                for name, job in sorted(service.jobs.items())
                if isinstance(job, dict)
            ),
            empty="no jobs reported",
        )
    )
    parts.append("<h3>alerts</h3>")
    parts.append(
        _table(
            ["rule", "state", "severity", "value", "since", "summary"],
            (
                [
                    _e(name),
                    f'<span class="{_alert_class(alert.state)}">{_e(alert.state)}</span>',
                    _e(alert.severity),
                    _e(alert.value),
                    _e(_stamp(alert.since)),
                    _e(alert.summary),
                ]
                for name, alert in sorted(service.alerts.items())
            ),
            empty="no alert rules reported",
        )
    )
    return "".join(parts)


def _stamp(value: object) -> str:
    """Service times: unix seconds or ISO text, shown in UTC."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return _time(dt.datetime.fromtimestamp(value, dt.UTC))
        except (OverflowError, OSError, ValueError):
            return str(value)
    return "" if value is None else str(value)


def _result_class(result: object) -> str:
    return {"ok": "ok", "failed": "firing", "running": "pending"}.get(str(result), "muted")


def _alert_class(state: object) -> str:
    return {"ok": "ok", "firing": "firing", "pending": "pending"}.get(str(state), "muted")


def timeline_page(timeline: Timeline, zone: dt.tzinfo = dt.UTC) -> str:
    return page(f"timeline of {timeline.id}", render_fragment(timeline, zone), query=timeline.id)


def message_page(title: str, message: str, *, query: str = "") -> str:
    return page(title, f'<p class="error">{escape(message)}</p>', query=query)
