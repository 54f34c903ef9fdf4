"""Rule evaluation: ok -> pending -> firing -> ok, with the rules' actions on each change.

Time is an argument (``now``, Unix seconds), so the service, a test and an accelerated
soak clock all drive the same code.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from doltplane.alerts.actions import ActionContext, run_action
from doltplane.alerts.rules import Rule

StateName = Literal["ok", "pending", "firing"]
STATES: tuple[str, ...] = ("ok", "pending", "firing")

_logger = logging.getLogger("doltplane.alerts")


@dataclasses.dataclass(frozen=True)
class AlertState:
    """Where one rule stands after the last evaluation."""

    name: str
    state: StateName
    severity: str
    value: float | None
    """The last observed value (None: the observation was absent, so the rule is unknown)."""
    since: float | None
    """Unix time the rule entered ``state`` (None: never evaluated)."""
    summary: str
    observe: str = ""
    condition: str = ""
    threshold: float | None = None
    evaluated_at: float | None = None
    """Unix time of the last evaluation."""
    last_action_at: float | None = None
    """Unix time the actions last ran for this firing (drives ``repeat``)."""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AlertState:
        """Read back what ``to_json`` wrote; unknown keys are ignored, so an older reader
        copes with a newer service."""
        if not isinstance(data, Mapping):
            raise ValueError(f"an alert state must be an object, got {type(data).__name__}")
        state = data.get("state")
        if state not in STATES:
            raise ValueError(f"alert state must be one of {', '.join(STATES)}, got {state!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("name", "severity", "summary"):
            if not isinstance(values.get(key, ""), str):
                raise ValueError(f"alert state {key} must be text")
        for key in ("value", "since", "threshold", "evaluated_at", "last_action_at"):
            value = values.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise ValueError(f"alert state {key} must be a number or null")
        if "name" not in values:
            raise ValueError("alert state needs a name")
        values.setdefault("severity", "")
        values.setdefault("summary", "")
        values.setdefault("value", None)
        values.setdefault("since", None)
        return cls(**values)


def _observed(observations: Mapping[str, float], name: str) -> float | None:
    value = observations.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class Evaluator:
    """Holds each rule's state between evaluations and runs its actions on changes.

    ``restart_server`` is what the restart_server action calls (None: it is logged as
    skipped); ``log`` receives one line per event (default: the ``doltplane.alerts``
    logger). ``previous`` carries states over a service restart, so a rule that was
    already firing does not notify again.
    """

    def __init__(
        self,
        rules: Iterable[Rule],
        *,
        restart_server: Callable[[], None] | None = None,
        log: Callable[[str], None] | None = None,
        previous: Mapping[str, AlertState] | None = None,
    ) -> None:
        self.rules = list(rules)
        self._restart_server = restart_server
        self._log = log or _logger.warning
        self._lock = threading.Lock()
        self._states: dict[str, AlertState] = {}
        for rule in self.rules:
            carried = (previous or {}).get(rule.name)
            fresh = AlertState(
                rule.name,
                "ok",
                rule.severity,
                None,
                None,
                rule.summary,
                rule.observe,
                rule.condition,
                rule.threshold,
            )
            if carried is not None and carried.observe in ("", rule.observe):
                fresh = dataclasses.replace(
                    fresh,
                    state=carried.state,
                    value=carried.value,
                    since=carried.since,
                    evaluated_at=carried.evaluated_at,
                    last_action_at=carried.last_action_at,
                )
            self._states[rule.name] = fresh

    @property
    def states(self) -> list[AlertState]:
        with self._lock:
            return [self._states[rule.name] for rule in self.rules]

    def evaluate(self, observations: Mapping[str, float], now: float) -> list[AlertState]:
        """Advance every rule to ``now`` with these observations; runs actions of the
        rules that started firing (or repeat) and resolve notices of those that cleared.
        An action that fails is logged; it never raises."""
        with self._lock:
            changes: list[tuple[Rule, AlertState, str]] = []
            for rule in self.rules:
                before = self._states[rule.name]
                after, event = _step(rule, before, _observed(observations, rule.observe), now)
                self._states[rule.name] = after
                if event:
                    changes.append((rule, after, event))
            result = [self._states[rule.name] for rule in self.rules]
        for rule, state, event in changes:
            self._announce(rule, state, event, now)
        return result

    def _announce(self, rule: Rule, state: AlertState, event: str, now: float) -> None:
        status = "resolved" if event == "resolved" else "firing"
        context = ActionContext(
            rule=rule,
            state=state,
            status=status,
            now=now,
            restart_server=self._restart_server,
            log=self._log,
            event="still firing" if event == "repeat" else status,
        )
        for action in rule.actions:
            if status == "resolved" and action.kind == "restart_server":
                continue
            run_action(action, context)


def _step(
    rule: Rule, before: AlertState, value: float | None, now: float
) -> tuple[AlertState, str]:
    """The next state and the event to announce ("" none, "firing", "repeat", "resolved")."""
    state = dataclasses.replace(before, value=value, evaluated_at=now)
    breached = value is not None and rule.breached(value)
    if not breached:
        if before.state == "ok":
            since = before.since if before.since is not None else now
            return dataclasses.replace(state, since=since), ""
        event = "resolved" if before.state == "firing" else ""
        return dataclasses.replace(state, state="ok", since=now, last_action_at=None), event
    if before.state == "ok":
        state = dataclasses.replace(state, state="pending", since=now)
    since = state.since if state.since is not None else now
    if state.state == "pending" and now - since >= rule.for_seconds:
        return dataclasses.replace(state, state="firing", since=now, last_action_at=now), "firing"
    if (
        state.state == "firing"
        and rule.repeat_seconds is not None
        and now - (state.last_action_at if state.last_action_at is not None else since)
        >= rule.repeat_seconds
    ):
        return dataclasses.replace(state, last_action_at=now), "repeat"
    return state, ""
