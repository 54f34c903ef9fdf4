"""Ledger tables, records and reads, shared by the live ledger, agent sessions and AS OF views."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Literal

import sqlalchemy as sa

from doltplane.cache import ReadCache
from doltplane.errors import NotFound
from doltplane.planes.compiled import compile_statement
from doltplane.planes.ops_records import from_db_time, to_db_time
from doltplane.store.base import Engine
from doltplane.store.sqlfunc import year_month
from doltplane.validation import (
    check_choice,
    check_id,
    check_ids,
    check_limit,
    check_optional_datetime,
    check_optional_id,
    utc,
)

metadata = sa.MetaData()

issues = sa.Table(
    "issues",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("title", sa.Text(), nullable=False),
    sa.Column("status", sa.String(64), nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("completed_at", sa.DateTime(), nullable=True),
    sa.Column("owner", sa.String(255), nullable=True),
    sa.Column("metadata", sa.JSON(), nullable=False),
)

cv_entries = sa.Table(
    "cv_entries",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("owner_email", sa.String(255), nullable=False),
    sa.Column("bead_id", sa.String(255), nullable=True),
    sa.Column("activity_type", sa.String(64), nullable=False),
    sa.Column("timestamp", sa.DateTime(), nullable=False),
    sa.Column("metadata", sa.JSON(), nullable=False),
)

Kind = Literal["issue", "cv_entry"]
KINDS: tuple[Kind, ...] = ("issue", "cv_entry")
TABLES: dict[str, sa.Table] = {"issue": issues, "cv_entry": cv_entries}

CLOSED_STATUSES = frozenset({"closed", "done", "completed"})
"""Moving an issue into one of these sets ``completed_at``; moving out clears it."""

IMPORT_KEY = "_jsonl"
"""Key in the stored metadata JSON that keeps what a JSONL import had no column for."""

_CHUNK = 500  # ids per IN (...) list


def _json(value: Any) -> dict[str, Any]:
    return dict(json.loads(value)) if isinstance(value, str | bytes) else dict(value or {})


def _maybe_time(value: Any) -> dt.datetime | None:
    return None if value is None else from_db_time(value)


def split_metadata(stored: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Stored metadata -> (the caller's metadata, unknown JSONL fields, original time texts)."""
    data = _json(stored)
    kept = data.pop(IMPORT_KEY, None) or {}
    return data, dict(kept.get("extra") or {}), dict(kept.get("text") or {})


def join_metadata(
    user: Mapping[str, Any], extra: Mapping[str, Any], text: Mapping[str, str]
) -> dict[str, Any]:
    data = dict(user)
    kept: dict[str, Any] = {}
    if extra:
        kept["extra"] = dict(extra)
    if text:
        kept["text"] = dict(text)
    if kept:
        data[IMPORT_KEY] = kept
    return data


@dataclasses.dataclass(frozen=True)
class Issue:
    """One row of ``issues``. ``branch`` says where it was read when reads span branches."""

    id: str
    type: str
    title: str
    status: str
    created_by: str
    created_at: dt.datetime
    completed_at: dt.datetime | None
    owner: str | None
    metadata: dict[str, Any]
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Fields of an imported JSONL line that have no column, kept for a lossless export."""
    original_text: dict[str, str] = dataclasses.field(default_factory=dict, repr=False)
    """Imported timestamp spellings that the canonical form would not reproduce."""
    branch: str | None = dataclasses.field(default=None, compare=False)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any], branch: str | None = None) -> Issue:
        user, extra, text = split_metadata(row["metadata"])
        return cls(
            id=row["id"],
            type=row["type"],
            title=row["title"],
            status=row["status"],
            created_by=row["created_by"],
            created_at=from_db_time(row["created_at"]),
            completed_at=_maybe_time(row["completed_at"]),
            owner=row["owner"],
            metadata=user,
            extra=extra,
            original_text=text,
            branch=branch,
        )

    def to_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "created_by": self.created_by,
            "created_at": to_db_time(self.created_at),
            "completed_at": None if self.completed_at is None else to_db_time(self.completed_at),
            "owner": self.owner,
            "metadata": join_metadata(self.metadata, self.extra, self.original_text),
        }


@dataclasses.dataclass(frozen=True)
class CvEntry:
    """One row of ``cv_entries``: an activity credited to a person."""

    id: str
    owner_email: str
    bead_id: str | None
    activity_type: str
    timestamp: dt.datetime
    metadata: dict[str, Any]
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    original_text: dict[str, str] = dataclasses.field(default_factory=dict, repr=False)
    branch: str | None = dataclasses.field(default=None, compare=False)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any], branch: str | None = None) -> CvEntry:
        user, extra, text = split_metadata(row["metadata"])
        return cls(
            id=row["id"],
            owner_email=row["owner_email"],
            bead_id=row["bead_id"],
            activity_type=row["activity_type"],
            timestamp=from_db_time(row["timestamp"]),
            metadata=user,
            extra=extra,
            original_text=text,
            branch=branch,
        )

    def to_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "owner_email": self.owner_email,
            "bead_id": self.bead_id,
            "activity_type": self.activity_type,
            "timestamp": to_db_time(self.timestamp),
            "metadata": join_metadata(self.metadata, self.extra, self.original_text),
        }


Record = Issue | CvEntry


def record_from_row(kind: str, row: Mapping[Any, Any], branch: str | None = None) -> Record:
    return Issue.from_row(row, branch) if kind == "issue" else CvEntry.from_row(row, branch)


@dataclasses.dataclass(frozen=True)
class RecordVersion:
    """A record as one commit left it (``history`` lists them newest first)."""

    commit: str
    committed_at: dt.datetime
    author: str
    record: Record


@dataclasses.dataclass(frozen=True)
class LedgerChange:
    """One record's change between two revisions."""

    kind: str
    id: str
    change: str
    """``added``, ``modified`` or ``removed``."""
    before: Record | None
    after: Record | None


@dataclasses.dataclass(frozen=True)
class MonthlyCount:
    owner: str | None
    month: str
    """``YYYY-MM`` (UTC)."""
    count: int


@dataclasses.dataclass(frozen=True)
class OwnerCount:
    owner_email: str
    count: int


def chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def check_kind(kind: object) -> Kind:
    """``issue`` or ``cv_entry``."""
    return "issue" if check_choice(kind, KINDS, "kind") == "issue" else "cv_entry"


def check_filters(**filters: object) -> dict[str, str | None]:
    """Equality filters on text columns (status, owner, ...): each None or an id-like word."""
    return {name: check_optional_id(value, name) for name, value in filters.items()}


def _time_range(
    query: sa.Select[Any],
    column: sa.ColumnElement[Any],
    since: object,
    until: object,
) -> sa.Select[Any]:
    since = check_optional_datetime(since, "since")
    until = check_optional_datetime(until, "until")
    if since is not None:
        query = query.where(column >= to_db_time(since))
    if until is not None:
        query = query.where(column < to_db_time(until))
    return query


_GET_ISSUE = compile_statement(sa.select(issues).where(issues.c.id == sa.bindparam("id")))


class LedgerReader:
    """Queries over the ledger tables at one point: live main, a branch head, or a commit."""

    def __init__(
        self, engine: Engine, revision: str | None, cache: ReadCache | None = None
    ) -> None:
        self._engine = engine
        self.revision = revision
        """The revision this reader sees (None: the live state of main)."""
        # only reads at a resolved commit (a view) are cached: they never change
        self._cache = cache if cache is not None and cache.enabled and revision else None

    def _read_revision(self) -> str | None:
        return self.revision

    def _read(self) -> AbstractContextManager[sa.Connection]:
        return self._engine.read(self._read_revision())

    def _where(self) -> str:
        revision = self._read_revision()
        return f" at {revision}" if revision else ""

    # --- issues ------------------------------------------------------------
    def get_issue(self, id: str) -> Issue:
        """One issue; NotFound when there is none."""
        check_id(id)
        revision = self._read_revision()
        if self._cache is None:
            rows = self._engine.fetch_rows(_GET_ISSUE.sql, (id,), revision)
        else:
            rows = self._cache.rows(
                (_GET_ISSUE.sql, id),
                revision,
                lambda: self._engine.fetch_rows(_GET_ISSUE.sql, (id,), revision),
            )
        if not rows:
            raise NotFound("issue", id, hint=f"no such issue{self._where()}")
        return Issue.from_row(_GET_ISSUE.mappings(rows[:1])[0])

    def get_issues(self, ids: Iterable[str]) -> dict[str, Issue]:
        """Issues by id; ids that do not exist are absent from the result."""
        wanted = check_ids(ids)
        found: dict[str, Issue] = {}
        if not wanted:
            return found
        with self._read() as conn:
            for part in chunks(wanted):
                rows = conn.execute(sa.select(issues).where(issues.c.id.in_(part))).mappings()
                found.update((r["id"], Issue.from_row(r)) for r in rows)
        return found

    def issues(
        self,
        *,
        status: str | None = None,
        owner: str | None = None,
        type: str | None = None,
        created_by: str | None = None,
        created_since: dt.datetime | None = None,
        created_until: dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[Issue]:
        """Issues matching every filter given, newest first."""
        check_limit(limit)
        query = self._issue_query(status, owner, type, created_by, created_since, created_until)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [Issue.from_row(r) for r in conn.execute(query).mappings()]

    @staticmethod
    def _issue_query(
        status: str | None,
        owner: str | None,
        type: str | None,
        created_by: str | None,
        created_since: dt.datetime | None,
        created_until: dt.datetime | None,
    ) -> sa.Select[Any]:
        query = sa.select(issues).order_by(issues.c.created_at.desc(), issues.c.id)
        filters = check_filters(status=status, owner=owner, type=type, created_by=created_by)
        for column, value in filters.items():
            if value is not None:
                query = query.where(issues.c[column] == value)
        return _time_range(query, issues.c.created_at, created_since, created_until)

    def count(self, kind: Kind = "issue") -> int:
        """How many records of ``kind`` there are."""
        table = TABLES[check_kind(kind)]
        with self._read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    # --- CV entries ----------------------------------------------------------
    def get_cv_entry(self, id: str) -> CvEntry:
        check_id(id)
        with self._read() as conn:
            row = (
                conn.execute(sa.select(cv_entries).where(cv_entries.c.id == id)).mappings().first()
            )
        if row is None:
            raise NotFound("cv entry", id, hint=f"no such entry{self._where()}")
        return CvEntry.from_row(row)

    def cv_entries(
        self,
        *,
        owner_email: str | None = None,
        bead_id: str | None = None,
        activity_type: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[CvEntry]:
        """CV entries matching every filter given (time range ``[since, until)``), newest first."""
        check_limit(limit)
        query = sa.select(cv_entries).order_by(cv_entries.c.timestamp.desc(), cv_entries.c.id)
        filters = check_filters(
            owner_email=owner_email, bead_id=bead_id, activity_type=activity_type
        )
        for column, value in filters.items():
            if value is not None:
                query = query.where(cv_entries.c[column] == value)
        query = _time_range(query, cv_entries.c.timestamp, since, until)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [CvEntry.from_row(r) for r in conn.execute(query).mappings()]

    # --- aggregates ----------------------------------------------------------
    def completed_per_owner_per_month(
        self, *, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[MonthlyCount]:
        """Issues completed in ``[since, until)``, counted per owner and UTC month."""
        with self._read() as conn:
            month = year_month(issues.c.completed_at).label("month")
            query = (
                sa.select(issues.c.owner, month, sa.func.count().label("n"))
                .where(issues.c.completed_at.is_not(None))
                .group_by(issues.c.owner, month)
                .order_by(month, issues.c.owner)
            )
            query = _time_range(query, issues.c.completed_at, since, until)
            return [MonthlyCount(o, str(m), int(n)) for o, m, n in conn.execute(query)]

    def cv_entries_per_owner(
        self, *, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[OwnerCount]:
        """CV entries in ``[since, until)`` per owner, most first."""
        n = sa.func.count().label("n")
        query = (
            sa.select(cv_entries.c.owner_email, n)
            .group_by(cv_entries.c.owner_email)
            .order_by(n.desc(), cv_entries.c.owner_email)
        )
        query = _time_range(query, cv_entries.c.timestamp, since, until)
        with self._read() as conn:
            return [OwnerCount(o, int(c)) for o, c in conn.execute(query)]

    def all_records(self, kind: Kind) -> Iterable[Record]:
        """Every record of ``kind`` in id order (for export and verify)."""
        table = TABLES[check_kind(kind)]
        with self._read() as conn:
            rows = conn.execute(sa.select(table).order_by(table.c.id)).mappings().all()
        return [record_from_row(kind, r) for r in rows]


def now_utc() -> dt.datetime:
    return utc(dt.datetime.now(dt.UTC))
