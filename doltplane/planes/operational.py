"""The operational plane: live agent state and heartbeats, snapshot-committed for forensics.

Writes are plain transactions on ``main`` (fast, durable); a Dolt commit
("snapshot") is taken every ``checkpoint_every_writes`` writes or
``checkpoint_every_seconds`` seconds, and on ``checkpoint()`` and close, so
``history(id)`` and ``as_of(when)`` can answer for any snapshot. Cleanup
deletes rows past the retention window and then squashes the history older
than the window and collects garbage: in Dolt, deleting rows frees nothing
while old commits still reference them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as sqlite_dialect

from doltplane.cache import from_settings
from doltplane.config import Settings
from doltplane.errors import (
    DatabaseBusy,
    InvalidInput,
    InvalidRevision,
    NotFound,
    VersionConflict,
)
from doltplane.planes import ops_cleanup
from doltplane.planes.compiled import compile_in, compile_write, padded
from doltplane.planes.ops_records import (
    AgentState,
    Heartbeat,
    StateReader,
    StateVersion,
    heartbeats,
    operational_state,
    to_db_time,
)
from doltplane.store.base import Engine, Thinning
from doltplane.validation import (
    check_callable,
    check_collection,
    check_days,
    check_flag,
    check_id,
    check_int,
    check_optional_datetime,
    check_optional_int,
    check_record,
    check_text,
    check_word,
    json_document,
    json_object,
    parse_when,
)

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``: called as long work advances."""

_VERSIONS = sa.select(operational_state.c.id, operational_state.c.version).where(
    operational_state.c.id.in_(sa.bindparam("ids", expanding=True))
)
_INSERT = operational_state.insert()
_UPSERT_STATEMENT = sqlite_dialect.insert(operational_state)
# one statement for the commonest write (one record, no expected version): insert, or bump
# the version of the row that is there, and say which version it wrote
_UPSERT = _UPSERT_STATEMENT.on_conflict_do_update(
    index_elements=[operational_state.c.id],
    set_={
        **{
            c.name: _UPSERT_STATEMENT.excluded[c.name]
            for c in operational_state.c
            if c.name not in ("id", "version")
        },
        "version": operational_state.c.version + sa.literal_column("1", sa.Integer),
    },
).returning(operational_state.c.version)
_UPDATE = (
    operational_state.update()
    .where(operational_state.c.id == sa.bindparam("key"))
    .values({c.name: sa.bindparam(c.name) for c in operational_state.c if c.name != "id"})
)

# the state arrives as the JSON text its validation produced: serialized once per write
_INSERT_SQL = compile_write(
    _INSERT, *(c.name for c in operational_state.c), stored=("state", "updated_at")
)
_UPDATE_SQL = compile_write(_UPDATE, stored=("state", "updated_at"))
_ROW = ("id", "rig", "agent", "status", "state", "version", "updated_at", "key")
_PICK_INSERT = _INSERT_SQL.picker(_ROW)
_PICK_UPDATE = _UPDATE_SQL.picker(_ROW)
_UPSERT_SQL = compile_write(_UPSERT, *(c.name for c in operational_state.c), stored=("state",))
# values picked from a _ROW tuple are in stored form: the time converted by .stored() first
_PICK_UPSERT = _UPSERT_SQL.picker(_ROW)


@dataclasses.dataclass(frozen=True)
class CleanupResult:
    cutoff: dt.datetime
    dry_run: bool
    state_rows_deleted: int
    heartbeats_deleted: int
    commits_before: int
    commits_after: int
    bytes_before: int
    bytes_after: int
    heartbeats_thinned: int = 0
    """Beats inside the window removed by thinning (``heartbeat_full_hours``)."""


_REQUIRED = ("id", "rig", "agent", "status", "state")
_FIELDS = frozenset((*_REQUIRED, "expected_version"))
"""The fields of one record of ``set_many``."""


class _StateWrite(NamedTuple):  # a tuple: built once per record of a batch, 10x cheaper
    id: str
    rig: str
    agent: str
    status: str
    state: dict[str, Any]
    expected_version: int | None
    state_text: str

    @classmethod
    def checked(
        cls,
        id: object,
        *,
        rig: object,
        agent: object,
        status: object,
        state: object,
        expected_version: object = None,
    ) -> _StateWrite:
        status_text = check_word(status, "status")
        document, text = json_document(state)
        version = check_optional_int(expected_version, "expected_version")
        # positional: a NamedTuple built from keywords costs a third more per record
        return cls(
            check_id(id),
            check_id(rig, "rig"),
            check_id(agent, "agent"),
            status_text,
            document,
            version,
            text,
        )


class OpsView(StateReader):
    """The operational plane as it was at one commit (read-only)."""

    def __repr__(self) -> str:
        return f"<OpsView at {self.revision}>"


class Operational(StateReader):
    """``dp.ops``: writes, reads, snapshots, forensics and retention of live agent state."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.cache = from_settings(settings)
        """The L1 read cache (``cache.stats()`` for metrics); see doltplane/cache.py."""
        super().__init__(engine, None, stale_after=settings.stale_after_seconds, cache=self.cache)
        self.settings = settings
        self._lock = threading.Lock()
        self._writes_since_checkpoint = 0
        self._writes_since_gc = 0
        self._last_checkpoint = time.monotonic()
        # the one-statement upsert is SQLite's INSERT .. ON CONFLICT .. RETURNING; a Dolt
        # server takes the read-then-write path (same result, one more statement)
        self._one_statement_upsert = engine.capabilities.sqlite_syntax

    # --- writes ----------------------------------------------------------
    def set_state(
        self,
        id: str,
        *,
        rig: str,
        agent: str,
        status: str,
        state: Mapping[str, Any] | str,
        expected_version: int | None = None,
    ) -> AgentState:
        """Insert or update one record. With ``expected_version`` (0: must not exist yet) a
        stale version raises VersionConflict and writes nothing."""
        write = _StateWrite.checked(
            id, rig=rig, agent=agent, status=status, state=state, expected_version=expected_version
        )
        return self._write_states([write])[0]

    def set_many(self, records: Iterable[Mapping[str, Any]]) -> list[AgentState]:
        """Write many records in one transaction: all of them, or (on any conflict) none."""
        writes = []
        for record in check_collection(records, "records"):
            fields = check_record(record, "record", allowed=_FIELDS, required=_REQUIRED)
            writes.append(_StateWrite.checked(**fields))
        ids = [w.id for w in writes]
        if len(set(ids)) != len(ids):
            raise InvalidInput("the same id appears twice in one batch")
        return self._write_states(writes) if writes else []

    def _write_states(self, writes: list[_StateWrite]) -> list[AgentState]:
        def run(conn: sa.Connection) -> list[AgentState]:
            now = dt.datetime.now(dt.UTC)
            # statements compiled once, run on the transaction's own driver connection
            raw = conn.connection.dbapi_connection
            assert raw is not None
            single = len(writes) == 1 and writes[0].expected_version is None
            if single and self._one_statement_upsert:
                return [_upsert(raw, writes[0], now)]
            ids = padded([w.id for w in writes])
            versions = compile_in(_VERSIONS, "ids", len(ids))
            current: dict[str, int] = dict(raw.execute(versions.sql, ids).fetchall())
            for w in writes:
                have = current.get(w.id)
                if w.expected_version is not None and w.expected_version != (have or 0):
                    raise VersionConflict(w.id, w.expected_version, have)
            results = [
                AgentState(w.id, w.rig, w.agent, w.status, w.state, current.get(w.id, 0) + 1, now)
                for w in writes
            ]
            # one tuple per row, in _ROW's names; the time converted to its stored text once
            stamp = _UPSERT_SQL.stored("updated_at", to_db_time(now))
            rows = [
                (r.id, r.rig, r.agent, r.status, w.state_text, r.version, stamp, r.id)
                for r, w in zip(results, writes, strict=True)
            ]
            inserts = [_PICK_INSERT(r) for r in rows if r[0] not in current]
            updates = [_PICK_UPDATE(r) for r in rows if r[0] in current]
            if inserts:
                raw.executemany(_INSERT_SQL.sql, inserts)
            if updates:
                raw.executemany(_UPDATE_SQL.sql, updates)
            return results

        try:
            results = self._engine.write(run)
        finally:
            self.cache.wrote()  # even a failed commit may have landed: drop live entries
        self._wrote(len(writes))
        return results

    def heartbeat(
        self, agent: str, *, status: Mapping[str, Any] | str | None = None, cycle: int | None = None
    ) -> Heartbeat:
        """Record that ``agent`` is alive, with an optional status document and cycle number."""
        check_id(agent, "agent")
        document = json_object(status if status is not None else {}, "heartbeat status")
        check_optional_int(cycle, "cycle", minimum=None)
        beat = Heartbeat(agent, dt.datetime.now(dt.UTC), document, cycle)
        stored = self._engine.write(functools.partial(_insert_beat, beat=beat))
        self._wrote(1, versioned=False)
        return stored

    # --- snapshots and forensics ---------------------------------------------
    def _wrote(self, count: int, *, versioned: bool = True) -> None:
        with self._lock:
            self._writes_since_gc += count
            if not versioned:  # heartbeats: never committed, so nothing to snapshot
                return
            self._writes_since_checkpoint += count
            due_writes = self.settings.checkpoint_every_writes
            due_seconds = self.settings.checkpoint_every_seconds
            due = (due_writes and self._writes_since_checkpoint >= due_writes) or (
                due_seconds and time.monotonic() - self._last_checkpoint >= due_seconds
            )
        # a squash replays every snapshot it keeps and starts over when one lands meanwhile:
        # wait (writes go on; a later write snapshots them all) rather than race it
        if due and not self._engine.squash_running():
            self.checkpoint()

    def checkpoint(self, message: str | None = None) -> str | None:
        """Snapshot-commit every change since the last snapshot; the commit, or None if none.

        It also collects garbage once the file grew by ``gc_growth_mb`` (and by
        ``gc_growth_factor`` times its size) since the last collection by any
        process: each write transaction leaves tens of KB of dead chunks behind.
        """
        if message is not None:
            check_text(message, "message")
        with self._lock:
            pending = self._writes_since_checkpoint
            self._writes_since_checkpoint = 0
            self._last_checkpoint = time.monotonic()
            # a server collects by itself (auto-gc): agent processes never start one there
            threshold = self.settings.gc_every_writes if self._engine.capabilities.file_size else 0
            counted = bool(threshold) and self._writes_since_gc >= threshold
            if counted:
                self._writes_since_gc = 0
        text = message or f"{SNAPSHOT_MESSAGE} ({pending} writes from this process)"
        commit = self._engine.commit(text)
        if counted or self._garbage_due():
            try:
                self._engine.gc()
            except DatabaseBusy:  # another writer is busy: a later snapshot sees the growth
                if counted:
                    with self._lock:
                        self._writes_since_gc += threshold
        return commit

    def _garbage_due(self) -> bool:
        """Whether the store grew enough since the last collection, by whichever process."""
        growth_mb = self.settings.gc_growth_mb
        if not growth_mb or not self._engine.capabilities.file_size:
            return False  # a server collects by itself (auto-gc) and shows no file size
        base = self._engine.size_after_gc() or 0
        growth = self._engine.size_bytes() - base
        return growth >= max(growth_mb * 1_000_000, self.settings.gc_growth_factor * base)

    def as_of(self, when: dt.datetime | str) -> OpsView:
        """The plane at a past moment: a datetime, ISO timestamp, commit, ``HEAD~n`` or branch.

        Only moments inside the retention window answer (InvalidRevision otherwise), however
        long ago cleanup last squashed: see ``squash_every_hours``."""
        moment = parse_when(when)
        if isinstance(moment, dt.datetime):
            commit = self._engine.resolve_time(moment)
            at = moment
            self._check_window(moment, str(when))
        else:
            commit = self._engine.resolve_revision(moment)
            made = self._engine.log(commit, limit=1)[0]
            at = made.time or made.date
            # a commit older than the window answers only as the state the window opened on
            start = self._window_start()
            if at < start and self._engine.resolve_time(start) != commit:
                self._check_window(at, str(when))
        return OpsView(
            self._engine, commit, stale_after=self.stale_after, moment=at, cache=self.cache
        )

    def _window_start(self, now: dt.datetime | None = None) -> dt.datetime:
        try:
            moment = now or dt.datetime.now(dt.UTC)
            return moment - dt.timedelta(days=self.settings.retention_days)
        except OverflowError:
            return dt.datetime.min.replace(tzinfo=dt.UTC)

    def _check_window(self, moment: dt.datetime, asked: str) -> None:
        start = self._window_start()
        if moment < start:
            raise InvalidRevision(
                asked,
                f"older than the retention window ({self.settings.retention_days:g} days); "
                f"the oldest time answerable is {start.isoformat(timespec='seconds')}",
                hint="use a later time",
            )

    def history(self, id: str, *, now: dt.datetime | None = None) -> list[StateVersion]:
        """Every snapshot of one record inside the retention window, newest first (the
        version the window opened on included); NotFound if no snapshot holds it. The
        window ends at ``now`` (default: this moment), as in ``cleanup(now=...)``."""
        check_id(id)
        moment = check_optional_datetime(now, "now")
        versions = self._engine.row_history("operational_state", {"id": id})
        # dolt_history lists the row at every commit; keep the commit where each version appeared
        distinct: list[StateVersion] = []
        for v in versions:
            record = AgentState.from_row(v.row)
            if distinct and distinct[-1].record.version == record.version:
                distinct[-1] = StateVersion(v.commit, v.date, record)
            else:
                distinct.append(StateVersion(v.commit, v.date, record))
        # versions replaced before the window opened are history cleanup has yet to squash
        start = self._window_start(moment)
        for n, version in enumerate(distinct):
            if version.committed_at < start:
                distinct = distinct[: n + 1]
                break
        if not distinct:
            raise NotFound("operational state history", id, hint="it may not be checkpointed yet")
        return distinct

    # --- retention -------------------------------------------------------
    def cleanup(
        self,
        retention_days: float | None = None,
        *,
        batch_size: int | None = None,
        dry_run: bool = False,
        now: dt.datetime | None = None,
        progress: Progress | None = None,
    ) -> CleanupResult:
        """Delete rows older than the window in batches, then squash older history and gc."""
        days = check_days(
            self.settings.retention_days if retention_days is None else retention_days,
            "retention_days",
        )
        size = check_int(
            self.settings.cleanup_batch_size if batch_size is None else batch_size,
            "batch_size",
            minimum=1,
        )
        check_flag(dry_run, "dry_run")
        report = check_callable(progress, "progress") or (lambda step, done, total: None)
        moment = check_optional_datetime(now, "now") or dt.datetime.now(dt.UTC)
        try:
            cutoff = moment - dt.timedelta(days=days)
        except OverflowError:
            raise InvalidInput(
                f"retention_days {days:g} reaches back before the year 1 from {moment:%Y-%m-%d}"
            ) from None
        if not dry_run:
            self._engine.remove_scratch_leftovers()  # they pin history that squash frees
        engine = self._engine
        agents = ops_cleanup.beating_agents(engine)
        expired = ops_cleanup.count_expired(engine, agents, cutoff)
        thin_end = _thin_end(moment, self.settings)
        doomed = []  # the beats thinning removes, agent by agent
        if thin_end is not None and thin_end > cutoff:
            interval = self.settings.heartbeat_thin_seconds
            doomed = list(ops_cleanup.thinned_beats(engine, agents, cutoff, thin_end, interval))
        to_thin = sum(len(keys) for keys in doomed)
        commits_before, bytes_before = engine.commit_count(), engine.size_bytes()
        if dry_run:
            return CleanupResult(
                cutoff,
                True,
                expired[0],
                expired[1],
                commits_before,
                commits_before,
                bytes_before,
                bytes_before,
                to_thin,
            )
        total = sum(expired)
        report("delete", 0, total)
        done = ops_cleanup.delete_expired_state(engine, cutoff, size)
        report("delete", done, total)
        expired_beats = ops_cleanup.expired_beats(engine, agents, cutoff)
        for count in ops_cleanup.delete_beats(engine, expired_beats, size):
            done += count
            report("delete", done, max(total, done))
        self.cache.wrote()
        thinned = 0
        report("thin", 0, to_thin)
        for count in ops_cleanup.delete_beats(engine, doomed, size):
            thinned += count
            self._wrote(count, versioned=False)
            report("thin", thinned, to_thin)
        self.checkpoint(f"ops cleanup: deleted rows older than {cutoff:%Y-%m-%d %H:%M:%S}")
        report("squash", 0, 1)
        thinning = _snapshot_thinning(moment, self.settings)
        if self._squash_due(cutoff, thinning):
            engine.squash_before(cutoff, thin=thinning)
        report("squash", 1, 1)
        report("gc", 0, 1)
        engine.gc()
        report("gc", 1, 1)
        return CleanupResult(
            cutoff,
            False,
            expired[0],
            expired[1],
            commits_before,
            engine.commit_count(),
            bytes_before,
            engine.size_bytes(),
            thinned,
        )

    def _squash_due(self, cutoff: dt.datetime, thinning: Thinning | None) -> bool:
        """Whether history past the window, or snapshots thinning would drop, are
        ``squash_every_hours`` deep: a squash replays every snapshot it keeps (a week of
        snapshots: minutes of work), so doing it hourly cost 24x a daily one. Reads refuse
        what is past the window either way."""
        slack = dt.timedelta(hours=self.settings.squash_every_hours)
        # the root, then (after a first squash) the squash commit: the snapshots after
        # them are what a squash would fold. Dates, not positions: commits made with an
        # explicit date (imports, the accelerated benchmark) need not be in date order
        line = [c for c in self._engine.first_parent_line()[:-1] if not c.squashed]
        if not line:
            return False
        try:
            if len(line) >= 2 and min(c.date for c in line) < cutoff - slack:
                return True  # the date squash_before folds by
            if thinning is None:
                return False
            ripe = dataclasses.replace(thinning, before=thinning.before - slack)
        except OverflowError:
            return False
        newer = [c for c in line if c.date >= cutoff]
        return len(ripe.keep(newer)) < len(newer)

    def close(self) -> None:
        """Snapshot what this process wrote since the last snapshot, unless snapshots are
        manual only (both cadence settings 0)."""
        with self._lock:
            pending = self._writes_since_checkpoint
        cadence = self.settings.checkpoint_every_writes or self.settings.checkpoint_every_seconds
        if pending and cadence:
            self.checkpoint()


def _upsert(raw: Any, write: _StateWrite, now: dt.datetime) -> AgentState:
    stamp = _UPSERT_SQL.stored("updated_at", to_db_time(now))
    row = (write.id, write.rig, write.agent, write.status, write.state_text, 1, stamp, write.id)
    (version,) = raw.execute(_UPSERT_SQL.sql, _PICK_UPSERT(row)).fetchone()
    return AgentState(
        write.id, write.rig, write.agent, write.status, write.state, int(version), now
    )


SNAPSHOT_MESSAGE = "ops snapshot"
"""How cadence snapshots begin their message: the only commits snapshot thinning drops."""

_SAME_INSTANT_TRIES = 64


def _insert_beat(conn: sa.Connection, *, beat: Heartbeat) -> Heartbeat:
    """Insert ``beat``, keyed by its agent and time. When the agent already beat at that
    microsecond (two processes in the same instant), this beat moves a microsecond on, so
    both are kept; the beat returned carries the time stored."""
    moment = beat.timestamp
    for attempt in range(1, _SAME_INSTANT_TRIES + 1):
        try:
            conn.execute(heartbeats.insert(), [_beat_row(beat, moment)])
        except sa.exc.IntegrityError:
            if attempt == _SAME_INSTANT_TRIES:
                raise  # the engine reports it
            moment += dt.timedelta(microseconds=1)
        else:
            break
    return beat if moment == beat.timestamp else dataclasses.replace(beat, timestamp=moment)


def _beat_row(beat: Heartbeat, moment: dt.datetime) -> dict[str, Any]:
    return {
        "agent": beat.agent,
        "timestamp": to_db_time(moment),
        "status": beat.status,
        "cycle_number": beat.cycle_number,
    }


def _tier_edge(moment: dt.datetime, full_hours: float, interval: float) -> dt.datetime | None:
    """Where a full tier of ``full_hours`` before ``moment`` starts, rounded down to a whole
    thinning interval (so an interval is thinned once, when all of it aged out); None:
    thinning is off (``interval`` 0)."""
    if not interval:
        return None
    try:
        edge = moment - dt.timedelta(hours=full_hours)
    except OverflowError:
        return None
    seconds = edge.timestamp()
    return dt.datetime.fromtimestamp(seconds - seconds % interval, dt.UTC)


def _snapshot_thinning(moment: dt.datetime, settings: Settings) -> Thinning | None:
    """Snapshot thinning as of ``moment`` (the snapshot tiers)."""
    interval = settings.snapshot_thin_seconds
    edge = _tier_edge(moment, settings.snapshot_full_hours, interval)
    return None if edge is None else Thinning(edge, interval, prefix=SNAPSHOT_MESSAGE)


def _thin_end(moment: dt.datetime, settings: Settings) -> dt.datetime | None:
    """Where the heartbeats' full tier starts (None: thinning is off)."""
    return _tier_edge(moment, settings.heartbeat_full_hours, settings.heartbeat_thin_seconds)
