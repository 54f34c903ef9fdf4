"""Ledger writes: every logical operation is one transaction and then one Dolt commit.

There is no delete: a correction is an update, and the earlier value stays
in history. The commit carries the acting agent as author and a message
naming what changed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

from doltplane.errors import InvalidDocument, InvalidInput, InvalidRevision, NotFound
from doltplane.planes.ids import new_id
from doltplane.planes.ledger_records import (
    CLOSED_STATUSES,
    IMPORT_KEY,
    TABLES,
    CvEntry,
    Issue,
    Kind,
    Record,
    chunks,
    cv_entries,
    issues,
    now_utc,
    split_metadata,
)
from doltplane.store.base import Engine
from doltplane.validation import (
    check_collection,
    check_datetime,
    check_id,
    check_optional_id,
    check_text,
    json_object,
)
from doltplane.validation import check_word as check_word  # re-exported: jsonl imports it here

T = TypeVar("T")

_NAMES_IN_MESSAGE = 3


class Unset(enum.Enum):
    """Marks a field an update leaves alone (``None`` means "clear it")."""

    UNSET = 0


UNSET = Unset.UNSET


def check_title(value: object) -> str:
    return check_text(value, "title")


def check_metadata(value: object) -> dict[str, Any]:
    data = json_object({} if value is None else value, "metadata")
    if IMPORT_KEY in data:
        raise InvalidDocument(f"metadata key {IMPORT_KEY!r} is reserved for JSONL imports")
    return data


def check_time(value: object, what: str) -> dt.datetime:
    return check_datetime(value, what)


_optional_id = check_optional_id


def _optional_time(value: object, what: str) -> dt.datetime | None:
    return None if value is None else check_time(value, what)


def _check_kept(extra: object, texts: object) -> tuple[dict[str, Any], dict[str, str]]:
    """What an import kept beside the columns: JSON fields, and time spellings as text."""
    kept = json_object(extra, "imported extra fields")
    spellings = json_object(texts, "imported time spellings")
    for field, text in spellings.items():
        if not isinstance(text, str):
            raise InvalidDocument(f"the imported spelling of {field} must be text, got {text!r}")
    return kept, spellings


def check_issue(issue: Issue) -> Issue:
    """Every field of a whole issue checked (what every write of an issue goes through)."""
    extra, texts = _check_kept(issue.extra, issue.original_text)
    return dataclasses.replace(
        issue,
        id=check_id(issue.id),
        type=check_word(issue.type, "type"),
        title=check_title(issue.title),
        status=check_word(issue.status, "status"),
        created_by=check_id(issue.created_by, "created_by"),
        created_at=check_time(issue.created_at, "created_at"),
        completed_at=_optional_time(issue.completed_at, "completed_at"),
        owner=_optional_id(issue.owner, "owner"),
        metadata=check_metadata(issue.metadata),
        extra=extra,
        original_text=texts,
    )


def check_cv_entry(entry: CvEntry) -> CvEntry:
    """Every field of a whole CV entry checked (what every write of an entry goes through)."""
    extra, texts = _check_kept(entry.extra, entry.original_text)
    return dataclasses.replace(
        entry,
        id=check_id(entry.id),
        owner_email=check_id(entry.owner_email, "owner_email"),
        bead_id=_optional_id(entry.bead_id, "bead_id"),
        activity_type=check_word(entry.activity_type, "activity_type"),
        timestamp=check_time(entry.timestamp, "timestamp"),
        metadata=check_metadata(entry.metadata),
        extra=extra,
        original_text=texts,
    )


def check_record(record: object) -> Record:
    """A whole issue or CV entry checked (anything else is InvalidInput)."""
    if isinstance(record, Issue):
        return check_issue(record)
    if isinstance(record, CvEntry):
        return check_cv_entry(record)
    raise InvalidInput(f"a ledger record must be an Issue or a CvEntry, got {record!r}")


_REQUIRED: dict[str, frozenset[str]] = {
    kind: frozenset(c.name for c in table.columns if not c.nullable and c.name != "metadata")
    for kind, table in TABLES.items()
}


def _column_time(value: object, what: str) -> object:
    # stored rows (a conflict's sides, JSON files) spell times as ISO text
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"{what} must be a datetime or ISO-8601 text, got {value!r}"
            ) from None
    return value


def whole_record(kind: Kind, value: object) -> Record:
    """A whole record from a record, or a mapping of column values as stored or as typed
    (a conflict's ``ours``/``theirs``, or an edited copy); checked like every write."""
    record_type = Issue if kind == "issue" else CvEntry
    if isinstance(value, Issue | CvEntry):
        if not isinstance(value, record_type):
            raise InvalidInput(f"a {type(value).__name__} is not a {kind}")
        return check_record(value)
    if not isinstance(value, Mapping):
        raise InvalidInput(f"a {kind} must be a record or a mapping of columns, got {value!r}")
    columns = set(TABLES[kind].c.keys())
    unknown = sorted(str(k) for k in value if k not in columns)
    if unknown:
        raise InvalidInput(f"{kind} has unknown column(s): {', '.join(unknown)}")
    missing = sorted(_REQUIRED[kind] - set(value))
    if missing:
        raise InvalidInput(f"{kind} {value.get('id')!r} is missing {', '.join(missing)}")
    fields = {str(k): v for k, v in value.items() if k != "metadata"}
    for name, column in TABLES[kind].c.items():
        if isinstance(column.type, sa.DateTime) and name in fields:
            fields[name] = _column_time(fields[name], name)
    stored = json_object({} if value.get("metadata") is None else value["metadata"], "metadata")
    kept = stored.get(IMPORT_KEY, {})
    if (
        not isinstance(kept, Mapping)
        or set(kept) - {"extra", "text"}
        or not all(isinstance(part, Mapping) for part in kept.values())
    ):
        raise InvalidDocument(f"metadata key {IMPORT_KEY!r} is reserved for JSONL imports")
    user, extra, texts = split_metadata(stored)
    if kind == "issue":
        fields.setdefault("completed_at", None)
        fields.setdefault("owner", None)
        return check_issue(Issue(**fields, metadata=user, extra=extra, original_text=texts))
    fields.setdefault("bead_id", None)
    return check_cv_entry(CvEntry(**fields, metadata=user, extra=extra, original_text=texts))


def summarize(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:_NAMES_IN_MESSAGE])
    more = len(ids) - _NAMES_IN_MESSAGE
    return shown + (f" (+{more} more)" if more > 0 else "")


def _completed_at(old: Issue, status: str, now: dt.datetime) -> dt.datetime | None:
    if status not in CLOSED_STATUSES:
        return None
    if old.status in CLOSED_STATUSES and old.completed_at is not None:
        return old.completed_at
    return now


def apply_update(old: Issue, fields: Mapping[str, Any], now: dt.datetime) -> Issue:
    """``old`` with ``fields`` changed; a status change sets or clears ``completed_at``."""
    allowed = {"title", "type", "status", "owner", "metadata"}
    unknown = set(fields) - allowed
    if unknown:
        raise InvalidInput(f"cannot update field(s): {', '.join(sorted(unknown))}")
    changes: dict[str, Any] = {}
    if "title" in fields:
        changes["title"] = check_title(fields["title"])
    if "type" in fields:
        changes["type"] = check_word(fields["type"], "type")
    if "owner" in fields:
        changes["owner"] = _optional_id(fields["owner"], "owner")
    if "metadata" in fields:
        changes["metadata"] = check_metadata(fields["metadata"])
    if "status" in fields:
        status = changes["status"] = check_word(fields["status"], "status")
        completed = _completed_at(old, status, now)
        if completed != old.completed_at:
            changes["completed_at"] = completed
            texts = {k: v for k, v in old.original_text.items() if k != "completed_at"}
            changes["original_text"] = texts
    return dataclasses.replace(old, **changes)


def _changed_fields(old: Issue, new: Issue) -> list[str]:
    parts = []
    for name in ("status", "owner", "type", "title", "completed_at", "metadata"):
        before, after = getattr(old, name), getattr(new, name)
        if before == after:
            continue
        if name in ("status", "owner", "type"):
            parts.append(f"{name} {before} -> {after}")
        else:
            parts.append(name)
    return parts


class LedgerWriter:
    """The write half of the ledger on one branch (main, or an agent's branch)."""

    def __init__(
        self,
        engine: Engine,
        *,
        branch: str | None,
        author: str,
        actor: str,
        lock: threading.Lock,
    ) -> None:
        self._engine = engine
        self._branch = branch
        self._author = author
        self._actor = actor
        self._write_lock = lock

    def _prepare_branch(self) -> str | None:
        """Hook: an agent session creates its branch here on first write, and returns the
        commit it started at (None: the branch was there already)."""
        return None

    def _discard_branch(self, start: str) -> None:
        """Hook: remove a branch ``_prepare_branch`` made if it still holds nothing new."""

    def _committed(self, fn: Callable[[sa.Connection], T], message: Callable[[T], str | None]) -> T:
        """Run ``fn`` in one write transaction ending in one Dolt commit (same lock).

        The thread lock keeps this process's writers on one branch in order;
        the engine's write lock keeps other processes' changes out of the commit.
        A branch made for this write goes again when the write fails or changes nothing.
        """
        with self._write_lock:
            for attempt in range(2):
                start = self._prepare_branch()
                try:
                    result = self._engine.write(
                        fn, branch=self._branch, message=message, author=self._author
                    )
                except InvalidRevision:
                    if start is not None:
                        self._discard_branch(start)
                    # `ledger prune` (or the agent's merge in another process) deleted the
                    # branch between our check and the write, or since this process last
                    # wrote on it; it held nothing unmerged (or nothing at all, when this
                    # write had just made it), so starting it again from main loses nothing
                    gone = self._branch is not None and not self._engine.has_branch(self._branch)
                    if attempt or not gone:
                        raise
                    continue
                except BaseException:
                    if start is not None:
                        self._discard_branch(start)
                    raise
                if start is not None:
                    self._discard_branch(start)
                return result
            raise AssertionError("unreachable")  # the loop returns or raises

    # --- issues --------------------------------------------------------------
    def _new_issue(
        self,
        title: object,
        *,
        type: object = "task",
        status: object = "open",
        owner: object = None,
        metadata: object = None,
        id: object = None,
        prefix: str = "gt",
        created_by: object = None,
        created_at: object = None,
    ) -> Issue:
        created = now_utc() if created_at is None else check_time(created_at, "created_at")
        state = check_word(status, "status")
        fields: dict[str, Any] = dict(
            id=new_id(prefix) if id is None else id,
            type=type,
            title=title,
            status=state,
            created_by=self._actor if created_by is None else created_by,
            created_at=created,
            completed_at=created if state in CLOSED_STATUSES else None,
            owner=owner,
            metadata={} if metadata is None else metadata,
        )
        return check_issue(Issue(**fields))

    def create_issue(
        self,
        title: str,
        *,
        type: str = "task",
        status: str = "open",
        owner: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        id: str | None = None,
        prefix: str = "gt",
        created_by: str | None = None,
        created_at: dt.datetime | None = None,
    ) -> Issue:
        """Create one issue (one commit); ``id`` defaults to ``<prefix>-<random>``."""
        issue = self._new_issue(
            title,
            type=type,
            status=status,
            owner=owner,
            metadata=metadata,
            id=id,
            prefix=prefix,
            created_by=created_by,
            created_at=created_at,
        )
        return self._insert_issues([issue])[0]

    def create_issues(self, records: Iterable[Mapping[str, Any]]) -> list[Issue]:
        """Create many issues in one transaction and one commit: all of them or none."""
        batch = []
        for record in check_collection(records, "records"):
            if not isinstance(record, Mapping) or "title" not in record:
                raise InvalidInput(f"each issue must be a mapping with a title, got {record!r}")
            try:
                batch.append(self._new_issue(**record))
            except TypeError as exc:
                raise InvalidInput(f"bad issue fields: {exc}") from None
        return self._insert_issues(batch) if batch else []

    def _insert_issues(self, batch: list[Issue]) -> list[Issue]:
        ids = [i.id for i in batch]
        if len(set(ids)) != len(ids):
            raise InvalidInput("the same issue id appears twice in one batch")

        def run(conn: sa.Connection) -> list[Issue]:
            _refuse_existing(conn, issues, ids, "issue")
            conn.execute(issues.insert(), [i.to_row() for i in batch])
            return batch

        def message(done: list[Issue]) -> str:
            if len(done) == 1:
                return f"create issue {done[0].id}: {_short(done[0].title)}"
            return f"create {len(done)} issues: {summarize(ids)}"

        return self._committed(run, message)

    def update_issue(
        self,
        id: str,
        *,
        title: str | Unset = UNSET,
        type: str | Unset = UNSET,
        status: str | Unset = UNSET,
        owner: str | Unset | None = UNSET,
        metadata: Mapping[str, Any] | Unset = UNSET,
    ) -> Issue:
        """Change the fields given (one commit). Closing sets ``completed_at``; reopening
        clears it. NotFound for an unknown id, and nothing is written."""
        given = {
            name: value
            for name, value in (
                ("title", title),
                ("type", type),
                ("status", status),
                ("owner", owner),
                ("metadata", metadata),
            )
            if value is not UNSET
        }
        return self.update_issues([{"id": id, **given}])[0]

    def update_issues(self, changes: Iterable[Mapping[str, Any]]) -> list[Issue]:
        """Apply many partial updates (``{"id": ..., field: value}``) in one commit."""
        wanted: dict[str, dict[str, Any]] = {}
        for change in check_collection(changes, "changes"):
            if not isinstance(change, Mapping) or "id" not in change:
                raise InvalidInput(f"each update must be a mapping with an id, got {change!r}")
            key = check_id(change["id"])
            if key in wanted:
                raise InvalidInput(f"issue {key!r} appears twice in one batch")
            wanted[key] = {k: v for k, v in change.items() if k != "id"}
        if not wanted:
            return []
        ids = list(wanted)

        def run(conn: sa.Connection) -> tuple[list[Issue], list[str]]:
            current: dict[str, Issue] = {}
            for part in chunks(ids):
                rows = conn.execute(sa.select(issues).where(issues.c.id.in_(part))).mappings()
                current.update((r["id"], Issue.from_row(r)) for r in rows)
            missing = [i for i in ids if i not in current]
            if missing:
                raise NotFound("issue", missing[0], hint="nothing was updated")
            now = now_utc()
            result, notes = [], []
            for key in ids:
                old = current[key]
                new = apply_update(old, wanted[key], now)
                result.append(new)
                changed = _changed_fields(old, new)
                if not changed:
                    continue
                notes.append(f"{key}: {', '.join(changed)}")
                row = new.to_row()
                conn.execute(issues.update().where(issues.c.id == key).values(row))
            return result, notes

        def message(done: tuple[list[Issue], list[str]]) -> str | None:
            notes = done[1]
            if not notes:
                return None
            if len(notes) == 1:
                return f"update issue {_short(notes[0], 200)}"
            return f"update {len(notes)} issues: {summarize([n.split(':')[0] for n in notes])}"

        return self._committed(run, message)[0]

    # --- CV entries ------------------------------------------------------------
    def _new_cv_entry(
        self,
        owner_email: object,
        activity_type: object,
        *,
        bead_id: object = None,
        metadata: object = None,
        timestamp: object = None,
        id: object = None,
        prefix: str = "cv",
    ) -> CvEntry:
        fields: dict[str, Any] = dict(
            id=new_id(prefix) if id is None else id,
            owner_email=owner_email,
            bead_id=bead_id,
            activity_type=activity_type,
            timestamp=now_utc() if timestamp is None else timestamp,
            metadata={} if metadata is None else metadata,
        )
        return check_cv_entry(CvEntry(**fields))

    def add_cv_entry(
        self,
        owner_email: str,
        activity_type: str,
        *,
        bead_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        timestamp: dt.datetime | None = None,
        id: str | None = None,
    ) -> CvEntry:
        """Record one activity credited to ``owner_email`` (one commit)."""
        entry = self._new_cv_entry(
            owner_email,
            activity_type,
            bead_id=bead_id,
            metadata=metadata,
            timestamp=timestamp,
            id=id,
        )
        return self._insert_cv_entries([entry])[0]

    def add_cv_entries(self, records: Iterable[Mapping[str, Any]]) -> list[CvEntry]:
        """Add many CV entries in one transaction and one commit."""
        batch = []
        for record in check_collection(records, "records"):
            if not isinstance(record, Mapping):
                raise InvalidInput(f"each cv entry must be a mapping, got {record!r}")
            try:
                batch.append(self._new_cv_entry(**record))
            except TypeError as exc:
                raise InvalidInput(f"bad cv entry fields: {exc}") from None
        return self._insert_cv_entries(batch) if batch else []

    def _insert_cv_entries(self, batch: list[CvEntry]) -> list[CvEntry]:
        ids = [e.id for e in batch]
        if len(set(ids)) != len(ids):
            raise InvalidInput("the same cv entry id appears twice in one batch")

        def run(conn: sa.Connection) -> list[CvEntry]:
            _refuse_existing(conn, cv_entries, ids, "cv entry")
            conn.execute(cv_entries.insert(), [e.to_row() for e in batch])
            return batch

        def message(done: list[CvEntry]) -> str:
            if len(done) == 1:
                entry = done[0]
                return f"add cv entry {entry.id}: {entry.activity_type} by {entry.owner_email}"
            return f"add {len(done)} cv entries: {summarize(ids)}"

        return self._committed(run, message)


def _refuse_existing(conn: sa.Connection, table: sa.Table, ids: list[str], kind: str) -> None:
    for part in chunks(ids):
        taken = conn.execute(sa.select(table.c.id).where(table.c.id.in_(part))).scalars().first()
        if taken is not None:
            raise InvalidInput(
                f"{kind} {taken!r} already exists", hint="ids are never reused; update it instead"
            )


def _short(text: str, limit: int = 72) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
