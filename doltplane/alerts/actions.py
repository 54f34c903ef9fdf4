"""What a rule does when it fires or clears: log, run a command, POST a webhook, restart
the supervised server. Each is bounded in time and reports failure as a log line: an alert
that cannot be delivered must never stop the service that evaluates it."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from doltplane.alerts.evaluator import AlertState
    from doltplane.alerts.rules import Action, Rule

_OUTPUT_SHOWN = 200


@dataclasses.dataclass(frozen=True)
class ActionContext:
    rule: Rule
    state: AlertState
    status: str
    """"firing" or "resolved"."""
    now: float
    restart_server: Callable[[], None] | None
    log: Callable[[str], None]
    event: str = ""
    """What happened, for people: "firing", "still firing" (a repeat) or "resolved"."""


def payload(context: ActionContext) -> dict[str, Any]:
    """The alert as JSON: what a webhook receives and a command reads on stdin."""
    rule, state = context.rule, context.state
    return {
        "alert": rule.name,
        "status": context.status,
        "severity": rule.severity,
        "summary": rule.summary,
        "description": rule.description,
        "observe": rule.observe,
        "value": state.value,
        "condition": rule.condition,
        "threshold": rule.threshold,
        "since": state.since,
        "at": context.now,
        "at_iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(context.now)),
        "host": socket.gethostname(),
    }


def describe(context: ActionContext) -> str:
    """The event on one line: ``alert NAME firing (warning): observe = value, above
    threshold: summary``."""
    from doltplane.alerts.rules import format_threshold

    rule, value = context.rule, context.state.value
    shown = "unknown" if value is None else format_threshold(value, rule.unit)
    limit = format_threshold(rule.threshold, rule.unit)
    return (
        f"alert {rule.name} {context.event or context.status} ({rule.severity}): "
        f"{rule.observe} = {shown}, {rule.condition} {limit}: {rule.summary}"
    )


def run_action(action: Action, context: ActionContext) -> bool:
    """Run one action; whether it succeeded (failures are logged, never raised)."""
    label = f"alert {context.rule.name}: {action.kind}"
    try:
        if action.kind == "log":
            context.log(describe(context))
            return True
        if action.kind == "command":
            return _command(action, context, label)
        if action.kind == "webhook":
            return _webhook(action, context, label)
        if action.kind == "restart_server":
            return _restart(context, label)
    except Exception as exc:  # an action must never take the evaluator down
        context.log(f"{label} failed: {type(exc).__name__}: {exc}")
        return False
    context.log(f"{label}: unknown action, skipped")
    return False


def _command(action: Action, context: ActionContext, label: str) -> bool:
    env = {
        **os.environ,
        "DOLTPLANE_ALERT_NAME": context.rule.name,
        "DOLTPLANE_ALERT_STATUS": context.status,
        "DOLTPLANE_ALERT_SEVERITY": context.rule.severity,
        "DOLTPLANE_ALERT_VALUE": "" if context.state.value is None else repr(context.state.value),
        "DOLTPLANE_ALERT_SUMMARY": context.rule.summary,
    }
    try:
        done = subprocess.run(
            list(action.argv),
            input=json.dumps(payload(context)).encode(),
            capture_output=True,
            env=env,
            timeout=action.timeout,
            check=False,
            start_new_session=True,  # a signal to the service's group does not reach it
        )
    except subprocess.TimeoutExpired:
        context.log(f"{label} {action.argv[0]!r} killed after {action.timeout:g} s")
        return False
    except OSError as exc:
        context.log(f"{label} {action.argv[0]!r} could not start: {exc.strerror or exc}")
        return False
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip()[-_OUTPUT_SHOWN:]
        context.log(f"{label} {action.argv[0]!r} exited {done.returncode}: {tail}")
        return False
    context.log(f"{label} {action.argv[0]!r} ran ({context.status})")
    return True


def _webhook(action: Action, context: ActionContext, label: str) -> bool:
    assert action.url is not None
    request = urllib.request.Request(
        action.url,
        data=json.dumps(payload(context)).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "doltplane-alerts"},
        method="POST",
    )
    shown = _shown_url(action.url)
    try:
        with urllib.request.urlopen(request, timeout=action.timeout) as response:
            response.read(_OUTPUT_SHOWN)
            status = response.status
    except urllib.error.HTTPError as exc:
        context.log(f"{label} {shown} answered HTTP {exc.code}")
        return False
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        context.log(f"{label} {shown} unreachable: {reason}")
        return False
    context.log(f"{label} {shown} answered HTTP {status} ({context.status})")
    return True


def _shown_url(url: str) -> str:
    """The URL without its query and credentials, which often carry a token."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _restart(context: ActionContext, label: str) -> bool:
    if context.restart_server is None:
        context.log(f"{label} skipped: this service supervises no server")
        return False
    context.restart_server()
    context.log(f"{label}: restart requested")
    return True
