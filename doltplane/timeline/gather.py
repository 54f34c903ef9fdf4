"""Gather everything the planes know about one id into a Timeline, through their public APIs.

- operational: every snapshot of the record (``ops.history``), and of live records whose
  state names the id (an agent's state ``{"task": "gt-42"}``); the live row when no
  snapshot holds it yet;
- heartbeats of the agents that held it, within the record's span;
- ledger: every committed version on main and on unmerged agent branches, each with its
  branch and author, merges into main, and conflicts met syncing an agent branch with
  how they were resolved (read from the record at the resolving merge's two sides);
- CV entries about it (``bead_id``) or the id itself as a CV entry;
- federation: commits to a role or formula whose name the record's data mentions.

Operational history and heartbeats older than the retention window are flagged, and the
window's edge is an event of its own, so what retention folded is marked, not missing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from doltplane.errors import DoltplaneError, NotFound
from doltplane.timeline.events import (
    RETENTION_LANES,
    Event,
    RetentionWindow,
    Timeline,
    describe_days,
)
from doltplane.validation import check_id, check_int, check_optional_datetime

if TYPE_CHECKING:
    from doltplane.client import DataPlane
    from doltplane.planes.ledger import Ledger
    from doltplane.planes.ledger_records import CvEntry, Issue
    from doltplane.store.base import Commit

_MERGE_PREFIX = "merge ledger work of agent "
_RESOLVED_PREFIX = "sync ledger branch of agent "
_RESOLVED_SUFFIX = " with main (resolved)"
_AGENT_EMAIL = "@doltplane"
_MAX_NAMES = 200  # strings looked at per record when matching federation names


def gather(
    dp: DataPlane,
    id: str,
    *,
    heartbeats: int = 200,
    now: dt.datetime | None = None,
) -> Timeline:
    """The timeline of ``id`` across every plane, oldest event first. ``heartbeats``
    bounds the beats shown per agent (the newest within the record's span)."""
    check_id(id)
    limit = check_int(heartbeats, "heartbeats", minimum=0)
    moment = check_optional_datetime(now, "now") or dt.datetime.now(dt.UTC)
    window = _window(dp, moment)
    found = _Found(id)
    _gather_ops(dp, found, moment)
    _gather_ledger(dp, found)
    _gather_cv(dp, found)
    _gather_federation(dp, found)
    if not found.events and not found.subjects:
        raise NotFound(
            "timeline",
            id,
            hint="no plane knows this id: check it with `doltplane ops get` or "
            "`doltplane ledger get`",
        )
    _gather_heartbeats(dp, found, limit)
    events = _mark_retention(found.events, window)
    return Timeline(
        id=id,
        generated_at=moment,
        events=tuple(events),
        retention=window,
        subjects={k: sorted(v) for k, v in found.subjects.items()},
        notes=tuple(found.notes),
    )


@dataclasses.dataclass
class _Found:
    id: str
    events: list[Event] = dataclasses.field(default_factory=list)
    subjects: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)
    names: list[str] = dataclasses.field(default_factory=list)
    """Strings from the record's data, matched against federation entry names."""

    def subject(self, key: str, value: str) -> None:
        self.subjects.setdefault(key, set()).add(value)

    def mention(self, data: object) -> None:
        for text in _strings(data):
            if len(self.names) < _MAX_NAMES:
                self.names.append(text)


def _window(dp: DataPlane, now: dt.datetime) -> RetentionWindow:
    s = dp.settings
    cutoff = _before(now, s.retention_days * 86400)
    full = _before(now, s.heartbeat_full_hours * 3600) if s.heartbeat_thin_seconds else None
    return RetentionWindow(s.retention_days, now, cutoff, full, s.heartbeat_thin_seconds)


def _before(now: dt.datetime, seconds: float) -> dt.datetime:
    try:
        return now - dt.timedelta(seconds=seconds)
    except OverflowError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)


def _strings(data: object, depth: int = 0) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif depth < 4 and isinstance(data, Mapping):
        for value in data.values():
            yield from _strings(value, depth + 1)
    elif depth < 4 and isinstance(data, list | tuple):
        for value in data:
            yield from _strings(value, depth + 1)


def _names_id(data: object, id: str) -> bool:
    return any(text == id for text in _strings(data))


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Fields whose value differs: name -> [before, after]."""
    return {
        key: [before.get(key), after.get(key)]
        for key in dict.fromkeys([*before, *after])
        if before.get(key) != after.get(key)
    }


def _describe(changes: Mapping[str, list[Any]], *, skip: Iterable[str] = ()) -> str:
    parts = []
    for key, (old, new) in changes.items():
        if key in skip:
            continue
        if isinstance(old, str | int | None) and isinstance(new, str | int | None):
            parts.append(f"{key} {_short(old)} -> {_short(new)}")
        else:
            parts.append(key)
    return ", ".join(parts)


def _short(value: object, limit: int = 60) -> str:
    text = "-" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(commit: Commit | None, fallback: dt.datetime) -> dt.datetime:
    if commit is None:
        return fallback
    return commit.time or commit.date


# --- operational ------------------------------------------------------------------------


def _gather_ops(dp: DataPlane, found: _Found, now: dt.datetime) -> None:
    ops = dp.ops
    ids = {found.id}
    try:
        live = {s.id: s for s in ops.list()}
    except DoltplaneError as exc:
        found.notes.append(f"operational plane unreadable: {exc.one_line()}")
        return
    ids |= {key for key, state in live.items() if _names_id(state.state, found.id)}
    for key in sorted(ids):
        try:
            versions = list(reversed(ops.history(key, now=now)))
        except NotFound:
            versions = []
        state = live.get(key)
        if not versions and state is None:
            continue
        found.subject("ops", key)
        previous: dict[str, Any] | None = None
        for version in versions:
            record = version.record
            found.subject("agents", record.agent)
            found.mention(record.state)
            fields = _state_fields(record)
            change = "" if previous is None else _describe(_changed(previous, fields))
            found.events.append(
                Event(
                    at=record.updated_at,  # the write itself; its snapshot came later
                    lane="ops",
                    kind="state",
                    summary=f"{key}: {record.status} (v{record.version})"
                    + (f"; {change}" if change else ""),
                    actor=record.agent,
                    commit=version.commit,
                    details={
                        "id": key,
                        "version": record.version,
                        "status": record.status,
                        "state": record.state,
                        "rig": record.rig,
                        "snapshot_at": version.committed_at.isoformat(),
                    },
                )
            )
            previous = fields
        if state is not None and (not versions or versions[-1].record.version < state.version):
            found.subject("agents", state.agent)
            found.mention(state.state)
            found.events.append(
                Event(
                    at=state.updated_at,
                    lane="ops",
                    kind="state_unsnapshotted",
                    summary=f"{key}: {state.status} (v{state.version}), not in a snapshot yet",
                    actor=state.agent,
                    details={
                        "id": key,
                        "version": state.version,
                        "status": state.status,
                        "state": state.state,
                        "rig": state.rig,
                    },
                )
            )


def _state_fields(record: Any) -> dict[str, Any]:
    return {
        "status": record.status,
        "agent": record.agent,
        "rig": record.rig,
        "state": record.state,
    }


def _gather_heartbeats(dp: DataPlane, found: _Found, limit: int) -> None:
    agents = sorted(found.subjects.get("agents", set()))
    if not agents or limit == 0:
        return
    start, end = _span(found.events)
    pad = dt.timedelta(seconds=dp.settings.stale_after_seconds)
    reader: Any = dp.ops
    if end is not None and end + pad < dt.datetime.now(dt.UTC):
        # the record's story ended: the beats around it, not the agent's latest ones
        with contextlib.suppress(DoltplaneError):  # before kept history: read them live
            reader = dp.ops.as_of(end + pad)
    for agent in agents:
        beats = reader.heartbeats(agent, limit=limit)
        shown = [b for b in beats if start is None or b.timestamp >= start - pad]
        if len(beats) == limit and len(shown) == limit:
            found.notes.append(
                f"heartbeats of {agent}: only the newest {limit} are shown (--heartbeats)"
            )
        for beat in reversed(shown):
            cycle = "" if beat.cycle_number is None else f" cycle {beat.cycle_number}"
            found.events.append(
                Event(
                    at=beat.timestamp,
                    lane="heartbeat",
                    kind="heartbeat",
                    summary=f"{agent} alive{cycle}",
                    actor=agent,
                    details={"cycle": beat.cycle_number, "status": beat.status},
                )
            )


def _span(events: list[Event]) -> tuple[dt.datetime | None, dt.datetime | None]:
    times = [e.at for e in events]
    return (min(times), max(times)) if times else (None, None)


# --- ledger -------------------------------------------------------------------------------


def _agent_of(commit: Commit | None, author: str) -> str | None:
    """The agent a commit was written by (agents commit as ``name <name@doltplane>``)."""
    if commit is not None and commit.email.endswith(_AGENT_EMAIL):
        return commit.email[: -len(_AGENT_EMAIL)]
    return None if commit is not None else author


def _gather_ledger(dp: DataPlane, found: _Found) -> None:
    ledger = dp.ledger
    commits = {c.hash: c for c in ledger.log()}
    main_line = ledger.first_parent_line()
    on_main_line = {c.hash for c in main_line}
    ahead = [b for b in ledger.branches() if b.ahead > 0]
    for kind in ("issue", "cv_entry"):
        versions: list[tuple[Any, str | None]] = []  # (RecordVersion, unmerged branch)
        with contextlib.suppress(NotFound):
            versions = [(v, None) for v in ledger.history(found.id, kind=kind)]
        seen = {v.commit for v, _ in versions}
        for branch in ahead:
            if _record_at(ledger, kind, found.id, branch.head) is None:
                continue  # the ledger deletes nothing: absent at the head, absent before
            try:
                extra = ledger.history(found.id, kind=kind, revision=branch.name)
            except NotFound:
                continue
            commits.update({c.hash: c for c in ledger.log(branch=branch.name)})
            versions += [(v, branch.name) for v in extra if v.commit not in seen]
            seen |= {v.commit for v in extra}
        if not versions:
            continue
        found.subject("ledger", kind)
        _ledger_versions(ledger, found, kind, versions, commits, on_main_line)
        born = min(_when(commits.get(v.commit), v.committed_at) for v, _ in versions)
        _ledger_conflicts(ledger, found, kind, commits, born)
        _merges_that_kept_main(found, main_line)


def _record_at(ledger: Ledger, kind: str, id: str, commit: str) -> Issue | CvEntry | None:
    view = ledger.as_of(commit)
    try:
        return view.get_issue(id) if kind == "issue" else view.get_cv_entry(id)
    except NotFound:
        return None


def _record_fields(record: Issue | CvEntry | None) -> dict[str, Any]:
    if record is None:
        return {}
    fields = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    for key in ("branch", "extra", "original_text"):
        fields.pop(key, None)
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in fields.items()}


def _ledger_versions(
    ledger: Ledger,
    found: _Found,
    kind: str,
    versions: list[tuple[Any, str | None]],
    commits: dict[str, Commit],
    on_main_line: set[str],
) -> None:
    parents = ledger.first_parents([v.commit for v, _ in versions])
    for version, unmerged in sorted(
        versions, key=lambda p: _when(commits.get(p[0].commit), p[0].committed_at)
    ):
        commit = commits.get(version.commit)
        record = version.record
        found.mention(record.metadata)
        if kind == "issue" and record.owner:
            found.subject("agents", record.owner)
        parent = parents.get(version.commit)
        before = None if parent is None else _record_at(ledger, kind, found.id, parent)
        after_fields = _record_fields(record)
        agent = _agent_of(commit, version.author)
        message = commit.message if commit is not None else ""
        if unmerged is not None:
            branch = unmerged
        elif version.commit in on_main_line:
            branch = "main"
        else:
            branch = agent or "?"
        details: dict[str, Any] = {"kind": kind, "record": after_fields, "message": message}
        if before is None:
            event_kind, text = "created", f"created on {branch}: {_title(record)}"
        else:
            change = _describe(_changed(_record_fields(before), after_fields))
            details["changed"] = _changed(_record_fields(before), after_fields)
            if branch == "main" and message.startswith(_MERGE_PREFIX):
                event_kind = "merged"
                text = f"merged into main from agent {message[len(_MERGE_PREFIX) :]}: {change}"
            elif message.startswith(_RESOLVED_PREFIX) and message.endswith(_RESOLVED_SUFFIX):
                event_kind, text = "resolved_sync", f"conflict resolution on {branch}: {change}"
            else:
                event_kind, text = "updated", f"updated on {branch}: {change}"
        if unmerged is not None:
            text += " (not merged into main yet)"
            details["unmerged"] = True
        found.events.append(
            Event(
                at=_when(commit, version.committed_at),
                lane="ledger",
                kind=event_kind,
                summary=text,
                actor=agent or version.author,
                branch=branch,
                commit=version.commit,
                details=details,
            )
        )


def _merges_that_kept_main(found: _Found, main_line: list[Commit]) -> None:
    """A merge of an agent's work on the record that left main's version of it as it was
    (the conflict was resolved for main) is no version of the record, but it is an event:
    the first merge of that agent's branch into main after its last change."""
    ledger_events = [e for e in found.events if e.lane == "ledger"]
    merged = {e.commit for e in ledger_events if e.kind == "merged"}
    last_change: dict[str, dt.datetime] = {}
    for event in ledger_events:
        if event.kind in ("created", "updated", "resolved_sync") and event.branch not in (
            None,
            "main",
        ):
            if event.details.get("unmerged"):
                continue
            last_change[event.branch] = max(event.at, last_change.get(event.branch, event.at))
    for agent, changed_at in sorted(last_change.items()):
        merges = [
            c
            for c in main_line
            if c.message == f"{_MERGE_PREFIX}{agent}" and _when(c, c.date) >= changed_at
        ]
        if not merges:
            continue
        merge = min(merges, key=lambda c: _when(c, c.date))
        if merge.hash in merged:
            continue
        found.events.append(
            Event(
                at=_when(merge, merge.date),
                lane="ledger",
                kind="merged",
                summary=f"merged into main from agent {agent}: main's version of the record kept",
                actor=agent,
                branch="main",
                commit=merge.hash,
                details={"unchanged_on_main": True},
            )
        )


def _title(record: Issue | CvEntry) -> str:
    title = getattr(record, "title", None)
    return _short(title, 80) if isinstance(title, str) else getattr(record, "activity_type", "")


def _ledger_conflicts(
    ledger: Ledger,
    found: _Found,
    kind: str,
    commits: dict[str, Commit],
    born: dt.datetime,
) -> None:
    """Conflicts on the record met while syncing an agent branch, and their resolution.

    A resolving sync R has the agent's branch as first parent (ours) and a commit of
    main's first-parent line as the other (theirs: the newest main-line ancestor of R);
    the base is the newest main-line ancestor of ours. The record conflicted when both
    sides changed it differently from the base."""
    main_line = [c.hash for c in ledger.first_parent_line()]
    resolving = [
        c
        for c in commits.values()
        if c.message.startswith(_RESOLVED_PREFIX)
        and c.message.endswith(_RESOLVED_SUFFIX)
        and _when(c, c.date) >= born - dt.timedelta(seconds=1)  # Dolt dates: whole seconds
    ]
    if not resolving:
        return
    parents = ledger.first_parents([c.hash for c in resolving])
    for commit in resolving:
        result = _record_at(ledger, kind, found.id, commit.hash)
        ours_at = parents.get(commit.hash)
        if result is None or ours_at is None:
            continue
        in_r = {c.hash for c in ledger.log(branch=commit.hash)} - {commit.hash}
        in_ours = {c.hash for c in ledger.log(branch=ours_at)}
        theirs_at = next((h for h in main_line if h in in_r and h != ours_at), None)
        base_at = next((h for h in main_line if h in in_ours), None)
        if theirs_at is None or base_at is None:
            continue
        ours = _record_at(ledger, kind, found.id, ours_at)
        theirs = _record_at(ledger, kind, found.id, theirs_at)
        base = _record_at(ledger, kind, found.id, base_at)
        if ours in (base, theirs) or theirs == base:
            continue
        agent = commit.message[len(_RESOLVED_PREFIX) : -len(_RESOLVED_SUFFIX)]
        if result == ours:
            kept = f"ours (agent {agent})"
        elif result == theirs:
            kept = "theirs (main)"
        else:
            kept = "rows written by hand"
        base_fields = _record_fields(base)
        at = _when(commit, commit.date)
        found.events.append(
            Event(
                at=at,
                lane="ledger",
                kind="conflict",
                summary=f"conflict syncing {agent} with main: {agent} changed "
                f"{_describe(_changed(base_fields, _record_fields(ours))) or 'it'}; main changed "
                f"{_describe(_changed(base_fields, _record_fields(theirs))) or 'it'}",
                actor=agent,
                branch=agent,
                commit=commit.hash,
                details={
                    "base": base_fields,
                    "ours": _record_fields(ours),
                    "theirs": _record_fields(theirs),
                    "ours_is": agent,
                    "theirs_is": "main",
                },
            )
        )
        found.events.append(
            Event(
                at=at,
                lane="ledger",
                kind="resolved",
                summary=f"conflict resolved: kept {kept}",
                actor=commit.author,
                branch=agent,
                commit=commit.hash,
                details={"kept": kept, "record": _record_fields(result)},
            )
        )


# --- CV entries ---------------------------------------------------------------------------


def _gather_cv(dp: DataPlane, found: _Found) -> None:
    for entry in dp.ledger.cv_entries(bead_id=found.id, include_unmerged=True):
        found.subject("cv_entries", entry.id)
        where = "" if entry.branch in (None, "main") else f" (on {entry.branch}, not merged)"
        found.events.append(
            Event(
                at=entry.timestamp,
                lane="cv",
                kind="cv_entry",
                summary=f"{entry.activity_type} by {entry.owner_email}{where}",
                actor=entry.owner_email,
                branch=entry.branch,
                details={"id": entry.id, "metadata": entry.metadata},
            )
        )


# --- federation ---------------------------------------------------------------------------


def _gather_federation(dp: DataPlane, found: _Found) -> None:
    if not found.names:
        return
    federation = dp.federation
    try:
        entries = federation.list()
    except NotFound:
        return  # no clone on this site: nothing to match
    except DoltplaneError as exc:
        found.notes.append(f"federation catalog unreadable: {exc.one_line()}")
        return
    mentioned = set(found.names)
    named = sorted(
        {(e.kind, e.name) for e in entries if e.kind != "template" and e.name in mentioned}
    )
    start, _ = _span(found.events)
    for kind, name in named:
        found.subject("federation", f"{kind}:{name}")
        changes = federation.changes(kind, name)
        before = [c for c in changes if start is not None and c.time < start]
        shown = [c for c in changes if start is None or c.time >= start] + before[:1]
        for change in sorted(shown, key=lambda c: c.time):
            in_force = start is not None and change.time < start
            found.events.append(
                Event(
                    at=change.time,
                    lane="federation",
                    kind="catalog_change",
                    summary=f"{kind} {name}: {change.subject}"
                    + (" (the version in force when the record began)" if in_force else ""),
                    actor=change.author,
                    commit=change.commit,
                    details={"kind": kind, "name": name, "paths": list(change.paths)},
                )
            )


# --- retention ----------------------------------------------------------------------------


def _mark_retention(events: list[Event], window: RetentionWindow) -> list[Event]:
    """Flag operational events older than the window, and add its edges as markers."""
    order = {lane: n for n, lane in enumerate(("ops", "heartbeat", "ledger", "cv", "federation"))}
    out = []
    oldest_state = min((e.at for e in events if e.kind == "state"), default=None)
    for event in events:
        if event.lane in RETENTION_LANES and event.at < window.cutoff:
            summary = event.summary
            if event.kind == "state" and event.at == oldest_state:
                summary += " (the oldest snapshot kept: earlier ones fell out of retention)"
            event = dataclasses.replace(event, retained="outside_window", summary=summary)
        out.append(event)
    start, _ = _span(out)
    if start is not None and start < window.cutoff:
        out.append(
            Event(
                at=window.cutoff,
                lane="ops",
                kind="retention_cut",
                summary=f"retention window edge ({describe_days(window.days)}): operational "
                "history before this is folded into one snapshot, heartbeats before it deleted",
                retained="marker",
            )
        )
    full_since = window.full_since
    if full_since is not None and any(
        e.lane in RETENTION_LANES and window.cutoff <= e.at < full_since for e in out
    ):
        out.append(
            Event(
                at=full_since,
                lane="heartbeat",
                kind="thinned",
                summary=f"heartbeats before this are thinned to one per agent per "
                f"{window.thin_seconds:g} s",
                retained="marker",
            )
        )
    return sorted(out, key=lambda e: (e.at, order[e.lane], _RANK.get(e.kind, 1)))


_RANK = {"conflict": 0, "resolved": 1, "resolved_sync": 2}
"""Events of one commit: the conflict first, then how it was resolved."""
