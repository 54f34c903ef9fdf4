"""The values a timeline is made of: events in time order, and the retention window."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from doltplane.errors import InvalidInput

Lane = Literal["ops", "heartbeat", "ledger", "cv", "federation"]
LANES: tuple[Lane, ...] = ("ops", "heartbeat", "ledger", "cv", "federation")
"""Where an event comes from, in the order pictures draw them top to bottom."""

LANE_TITLES: dict[Lane, str] = {
    "ops": "operational state",
    "heartbeat": "heartbeats",
    "ledger": "ledger",
    "cv": "CV entries",
    "federation": "federation",
}

Retained = Literal["kept", "outside_window", "marker"]
"""``kept``: inside the retention window (or permanent); ``outside_window``: older than the
window, so retention folds or deletes it (a folded snapshot stands for everything before
it); ``marker``: not an event but the edge of what retention kept."""


@dataclasses.dataclass(frozen=True)
class Event:
    """One thing that happened to the record, in UTC."""

    at: dt.datetime
    lane: Lane
    kind: str
    """``state``, ``heartbeat``, ``created``, ``updated``, ``conflict``, ``resolved``,
    ``merged``, ``cv_entry``, ``catalog_change``, ``retention_cut``, ``thinned``, ..."""
    summary: str
    actor: str | None = None
    branch: str | None = None
    commit: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    retained: Retained = "kept"


@dataclasses.dataclass(frozen=True)
class RetentionWindow:
    """What the operational plane keeps: history and heartbeats younger than ``cutoff``
    (``days`` before ``now``), every heartbeat younger than ``full_since``, one per agent
    per ``thin_seconds`` between the two. The ledger and federation keep everything."""

    days: float
    now: dt.datetime
    cutoff: dt.datetime
    full_since: dt.datetime | None
    thin_seconds: float


@dataclasses.dataclass(frozen=True)
class Timeline:
    """Everything known about one id, oldest first."""

    id: str
    generated_at: dt.datetime
    events: tuple[Event, ...]
    retention: RetentionWindow
    subjects: dict[str, list[str]]
    """What the id was found as: ``ops`` ids, ``agents``, ``ledger`` kinds, ``federation``
    entries (``kind:name``)."""
    notes: tuple[str, ...] = ()
    """What could not be read or was cut short, in words."""

    def lanes(self) -> list[Lane]:
        """The lanes that hold at least one event, in drawing order."""
        used = {e.lane for e in self.events}
        return [lane for lane in LANES if lane in used]

    def span(self) -> tuple[dt.datetime, dt.datetime]:
        """The first and last event time (generated_at when there are none)."""
        if not self.events:
            return self.generated_at, self.generated_at
        return self.events[0].at, self.events[-1].at

    def as_dict(self, zone: dt.tzinfo = dt.UTC) -> dict[str, Any]:
        """Plain JSON values, every time in ``zone``."""

        def t(moment: dt.datetime | None) -> str | None:
            return None if moment is None else moment.astimezone(zone).isoformat()

        r = self.retention
        return {
            "id": self.id,
            "generated_at": t(self.generated_at),
            "timezone": zone_name(zone),
            "retention": {
                "days": r.days,
                "cutoff": t(r.cutoff),
                "heartbeats_full_since": t(r.full_since),
                "heartbeats_thinned_to_seconds": r.thin_seconds,
            },
            "subjects": self.subjects,
            "notes": list(self.notes),
            "events": [
                {
                    "at": t(e.at),
                    "lane": e.lane,
                    "kind": e.kind,
                    "summary": e.summary,
                    "actor": e.actor,
                    "branch": e.branch,
                    "commit": e.commit,
                    "retained": e.retained,
                    "details": e.details,
                }
                for e in self.events
            ],
        }


def describe_days(days: float) -> str:
    """A retention window in words: ``7 days``, ``36 hours``, ``2.5 s``."""
    if days >= 2:
        return f"{days:g} days"
    if days * 24 >= 2:
        return f"{days * 24:.3g} hours"
    if days * 1440 >= 2:
        return f"{days * 1440:.3g} minutes"
    return f"{days * 86400:.3g} s"


RETENTION_LANES: tuple[Lane, ...] = ("ops", "heartbeat")
"""The lanes retention applies to; the ledger and federation keep everything."""


def zone(name: str | None) -> dt.tzinfo:
    """A time zone by IANA name (``UTC``, ``Europe/Berlin``) or ``local``; InvalidInput if
    unknown."""
    if name is None or name.upper() == "UTC":
        return dt.UTC
    if name == "local":
        local = dt.datetime.now().astimezone().tzinfo
        assert local is not None
        return local
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone {name!r}", hint="give an IANA name such as UTC or Europe/Berlin"
        ) from None


def zone_name(tz: dt.tzinfo) -> str:
    if tz is dt.UTC:
        return "UTC"
    key = getattr(tz, "key", None)
    return str(key) if key else str(dt.datetime.now(tz).tzname())
