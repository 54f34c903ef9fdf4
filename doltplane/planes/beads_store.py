"""Beads records <-> ledger rows, losslessly, and the upsert that protects live data.

A Beads issue is split by meaning: fields that mean what a ledger column
means go to ``issues`` (``issue_type`` -> ``type``, ``closed_at`` ->
``completed_at``, ``owner`` -> ``owner``, ...); the rest go to the tables of
``beads_tables`` (``assignee`` stays Beads' own field next to ``owner``, so
neither is lost). Reading the rows back gives the same JSON: a mapped field
whose column cannot reproduce it (an absent key, ``null``, an integer id, a
timestamp with nanoseconds) keeps its original in ``spelling``, paired with
the column value, and only while the column still holds that value.

Import protects live data: a record equal to the ledger's copy is left alone
(no commit when nothing changed), and one whose ``updated_at`` is older than
the ledger's copy is skipped and reported unless forced. The ledger's copy is
as new as the ``updated_at`` it was imported with, or, when a live write has
changed its row since (its columns no longer match the digest taken at
import), as new as that write's commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import IO, TYPE_CHECKING, Any

import sqlalchemy as sa

from doltplane.errors import DoltplaneError, InvalidDocument, InvalidInput
from doltplane.planes import beads_tables as bt
from doltplane.planes.beads_format import BeadsRecord, Progress, export_line, parse_instant, same
from doltplane.planes.ledger_records import Issue, issues
from doltplane.planes.ops_records import to_db_time
from doltplane.validation import check_id

if TYPE_CHECKING:
    from doltplane.planes.ledger import Ledger

_ABSENT = object()
_EPOCH = dt.datetime(1970, 1, 1)
_CHUNK = 500
_MAX_WORD = 64
_NOTHING = "nothing was imported"


@dataclasses.dataclass(frozen=True)
class Mapped:
    """A JSON key kept in a column of its own."""

    key: str
    column: str
    type: str
    """``text``, ``ident`` (text or integer, stored as text), ``time`` or ``word``."""
    default: Any = None
    """The column value when the key is absent or null (for NOT NULL columns)."""


def _isolate(mapped: Mapped, value: Any, strict: bool, where: str) -> tuple[Any, bool]:
    """(column value, whether the JSON value converted); strict refuses what doesn't."""
    if value is None:
        return mapped.default, True
    if mapped.type == "time":
        instant = parse_instant(value)
        if instant is not None:
            return instant[0], True
        problem = f"{mapped.key} must be an ISO-8601 timestamp, got {value!r}"
    elif mapped.type == "ident" and isinstance(value, int) and not isinstance(value, bool):
        return str(value), True
    elif isinstance(value, str):
        if mapped.type == "word" and not 0 < len(value) <= _MAX_WORD:
            problem = f"{mapped.key} must be 1 to {_MAX_WORD} characters, got {value!r}"
        else:
            return value, True
    else:
        problem = f"{mapped.key} must be text, got {value!r}"
    if strict:
        raise InvalidDocument(f"{where}: {problem}", hint="nothing was imported")
    return mapped.default, False


def _as_json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        # isoformat: seconds, and microseconds only when there are some
        return _naive(value).isoformat() + "Z"
    return value


def _naive(value: Any) -> dt.datetime:
    """A stored time (text on SQLite, a datetime elsewhere) as naive UTC."""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _render(value: Any) -> Any:
    return _ABSENT if value is None else _as_json(value)


_SCALARS = (str, int, float, bool, type(None))


def _exact(a: Any, b: Any) -> bool:
    """The same JSON, types included (1 is not 1.0, nor True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, _SCALARS):
        return bool(a == b)
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def encode(
    mapped: Iterable[Mapped],
    obj: Mapping[str, Any],
    *,
    where: str,
    strict: bool = False,
    forced: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(column values, spelling) of ``obj``'s mapped keys; ``forced`` columns take a given
    value (the owning issue's id) whatever the object says."""
    columns: dict[str, Any] = {}
    spelling: dict[str, Any] = {}
    for m in mapped:
        present = m.key in obj
        value = obj.get(m.key)
        if forced and m.column in forced:
            column = forced[m.column]
        else:
            column, _ = _isolate(m, value, strict and present, where)
        columns[m.column] = column
        rendered = _render(column)
        if not present:
            if rendered is not _ABSENT:
                spelling[m.key] = [_as_json(column)]
        elif rendered is _ABSENT or not _exact(rendered, value):
            spelling[m.key] = [_as_json(column), value]
    return columns, spelling


def decode(
    mapped: Iterable[Mapped], row: Mapping[str, Any], spelling: Mapping[str, Any]
) -> dict[str, Any]:
    """The mapped keys of a record from its row (the inverse of ``encode``)."""
    obj: dict[str, Any] = {}
    for m in mapped:
        column = row[m.column]
        if m.type == "time" and column is not None:
            column = _naive(column)
        kept = spelling.get(m.key)
        if isinstance(kept, list) and kept and _exact(kept[0], _as_json(column)):
            if len(kept) == 2:
                obj[m.key] = kept[1]
            continue
        rendered = _render(column)
        if rendered is not _ABSENT:
            obj[m.key] = rendered
    return obj


# --- the shapes ----------------------------------------------------------------------
ISSUE_MAPPED = (
    Mapped("id", "id", "text"),
    Mapped("title", "title", "text", ""),
    Mapped("issue_type", "type", "word", "task"),
    Mapped("status", "status", "word", "open"),
    Mapped("created_by", "created_by", "text", "beads-import"),
    Mapped("created_at", "created_at", "time", _EPOCH),
    Mapped("closed_at", "completed_at", "time"),
    Mapped("owner", "owner", "text"),
)
_OWNER = Mapped("issue_id", "issue_id", "text")


@dataclasses.dataclass(frozen=True)
class Nested:
    """A list inside an issue kept as rows of its own table."""

    key: str
    table: sa.Table
    mapped: tuple[Mapped, ...]


NESTED = (
    Nested("labels", bt.issue_labels, ()),
    Nested(
        "dependencies",
        bt.issue_dependencies,
        (
            _OWNER,
            Mapped("depends_on_id", "depends_on_id", "text"),
            Mapped("type", "type", "word"),
            Mapped("created_at", "created_at", "time"),
            Mapped("created_by", "created_by", "text"),
        ),
    ),
    Nested(
        "comments",
        bt.issue_comments,
        (
            _OWNER,
            Mapped("id", "comment_id", "ident"),
            Mapped("author", "author", "text"),
            Mapped("text", "text", "text"),
            Mapped("created_at", "created_at", "time"),
        ),
    ),
    Nested(
        "events",
        bt.issue_events,
        (
            _OWNER,
            Mapped("id", "event_id", "ident"),
            Mapped("event_type", "event_type", "word"),
            Mapped("actor", "actor", "text"),
            Mapped("old_value", "old_value", "text"),
            Mapped("new_value", "new_value", "text"),
            Mapped("comment", "comment", "text"),
            Mapped("created_at", "created_at", "time"),
        ),
    ),
)
KEYED_MAPPED = (Mapped("key", "key", "text"), Mapped("value", "value", "text"))
KEYED_TABLES = {"memory": bt.memories, "config": bt.beads_config}


def _is_nested_list(nested: Nested, value: Any) -> bool:
    if not isinstance(value, list) or not value:
        return False
    wanted = str if nested.key == "labels" else dict
    return all(isinstance(item, wanted) for item in value)


def issue_digest(issue: Issue) -> str:
    """What a live write would change in an ``issues`` row, as one hash."""
    parts = [issue.type, issue.title, issue.status, issue.created_by,
             _as_json(to_db_time(issue.created_at)),
             None if issue.completed_at is None else _as_json(to_db_time(issue.completed_at)),
             issue.owner, issue.metadata, issue.extra, issue.original_text]  # fmt: skip
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


# --- one record -> rows -----------------------------------------------------------------
@dataclasses.dataclass
class IssueRows:
    issue: dict[str, Any]
    fields: dict[str, Any]
    nested: dict[str, list[dict[str, Any]]]


def _derived_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    return None


def _derived_time(value: Any) -> dt.datetime | None:
    instant = parse_instant(value)
    return None if instant is None else instant[0]


def issue_rows(record: BeadsRecord, seq: int) -> IssueRows:
    """The rows of one Beads issue; InvalidDocument (``file:line: ...``) when a mapped
    field can't be what its column holds."""
    obj = record.data
    try:
        check_id(record.key)
    except InvalidInput as exc:
        raise InvalidDocument(f"{record.where}: {exc.message}", hint=_NOTHING) from None
    columns, spelling = encode(ISSUE_MAPPED, obj, where=record.where, strict=True)
    for field in ("created_by", "owner"):
        value = columns[field]
        if value is not None and len(value) > 255:
            raise InvalidDocument(f"{record.where}: {field} is longer than 255 characters")
    nested_rows: dict[str, list[dict[str, Any]]] = {}
    skip = {m.key for m in ISSUE_MAPPED}
    for nested in NESTED:
        value = obj.get(nested.key)
        if not isinstance(value, list) or not _is_nested_list(nested, value):
            continue
        skip.add(nested.key)
        rows: list[dict[str, Any]] = []
        for position, item in enumerate(value):
            if nested.key == "labels":
                rows.append({"issue_id": record.key, "position": position, "label": item})
                continue
            cols, spelled = encode(
                nested.mapped, item, where=record.where, forced={"issue_id": record.key}
            )
            kept = {k: v for k, v in item.items() if k not in {m.key for m in nested.mapped}}
            rows.append({**cols, "position": position, "fields": kept, "spelling": spelled})
        nested_rows[nested.key] = rows
    fields = {k: v for k, v in obj.items() if k not in skip}
    ephemeral = _derived_bool(obj.get("ephemeral", obj.get("wisp")))
    priority = obj.get("priority")
    if not isinstance(priority, int) or isinstance(priority, bool) or abs(priority) >= 2**31:
        priority = None
    issue_row = {
        **columns,
        "created_at": to_db_time(columns["created_at"]),
        "completed_at": None if columns["completed_at"] is None else columns["completed_at"],
        "metadata": {},
    }
    assignee = obj.get("assignee")
    return IssueRows(
        issue=issue_row,
        fields={
            "id": record.key,
            "seq": seq,
            "assignee": assignee if isinstance(assignee, str) and len(assignee) <= 255 else None,
            "priority": priority,
            "updated_at": _derived_time(obj.get("updated_at")),
            "ephemeral": ephemeral,
            "deleted_at": _derived_time(obj.get("deleted_at")),
            "fields": fields,
            "spelling": spelling,
        },
        nested=nested_rows,
    )


def keyed_row(record: BeadsRecord) -> dict[str, Any]:
    columns, spelling = encode(
        KEYED_MAPPED, record.data, where=record.where, forced={"key": record.key}
    )
    if len(record.key) > 255:
        raise InvalidDocument(f"{record.where}: key is longer than 255 characters")
    fields = {k: v for k, v in record.data.items() if k not in ("key", "value")}
    return {**columns, "fields": fields, "spelling": spelling}


# --- rows -> records -------------------------------------------------------------------
def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


@dataclasses.dataclass
class LedgerIssue:
    """An issue as the ledger holds it, with what a Beads import kept of it."""

    row: dict[str, Any]
    fields: dict[str, Any] | None
    nested: dict[str, list[dict[str, Any]]]

    def issue(self) -> Issue:
        return Issue.from_row(self.row)

    def live_edited(self) -> bool:
        """Whether a write other than a Beads import changed the row since the import."""
        return self.fields is None or self.fields["digest"] != issue_digest(self.issue())

    def render(self) -> dict[str, Any]:
        kept = self.fields
        spelling = _json(kept["spelling"]) if kept else {}
        obj = decode(ISSUE_MAPPED, self.row, spelling or {})
        obj.update(_json(kept["fields"]) if kept else {"_type": "issue"})
        for nested in NESTED:
            rows = self.nested.get(nested.key)
            if not rows:
                continue
            if nested.key == "labels":
                obj[nested.key] = [r["label"] for r in rows]
                continue
            items = []
            for row in rows:
                item = decode(nested.mapped, row, _json(row["spelling"]) or {})
                item.update(_json(row["fields"]) or {})
                items.append(item)
            obj[nested.key] = items
        return obj


def render_keyed(row: Mapping[str, Any]) -> dict[str, Any]:
    obj = decode(KEYED_MAPPED, row, _json(row["spelling"]) or {})
    obj.update(_json(row["fields"]) or {})
    return obj


def _raw_columns(table: sa.Table) -> list[sa.ColumnElement[Any]]:
    # times and JSON come back as the driver gives them (``from_db_time`` and ``_json``
    # read both spellings): SQLAlchemy's own result processing costs ten times the read
    return [
        sa.type_coerce(c, sa.Text()).label(c.name) if isinstance(c.type, sa.DateTime | sa.JSON)
        else c
        for c in table.columns
    ]  # fmt: skip


def _select_in(
    conn: sa.Connection, table: sa.Table, column: str, keys: list[str] | None
) -> Iterable[dict[str, Any]]:
    order = list(table.primary_key.columns)
    select = sa.select(*_raw_columns(table))
    if keys is None:
        yield from (dict(r) for r in conn.execute(select.order_by(*order)).mappings())
        return
    for start in range(0, len(keys), _CHUNK):
        part = keys[start : start + _CHUNK]
        query = select.where(table.c[column].in_(part)).order_by(*order)
        yield from (dict(r) for r in conn.execute(query).mappings())


def load_issues(conn: sa.Connection, ids: list[str] | None) -> dict[str, LedgerIssue]:
    """The ledger's issues (all of them for ``ids=None``) with their Beads rows."""
    found = {r["id"]: LedgerIssue(r, None, {}) for r in _select_in(conn, issues, "id", ids)}
    wanted = list(found) if ids is not None else None
    for row in _select_in(conn, bt.issue_fields, "id", wanted):
        if row["id"] in found:
            found[row["id"]].fields = row
    for nested in NESTED:
        for row in _select_in(conn, nested.table, "issue_id", wanted):
            if row["issue_id"] in found:
                found[row["issue_id"]].nested.setdefault(nested.key, []).append(row)
    return found


def load_keyed(conn: sa.Connection, kind: str, keys: list[str] | None) -> dict[str, dict[str, Any]]:
    table = KEYED_TABLES[kind]
    return {r["key"]: r for r in _select_in(conn, table, "key", keys)}


def ledger_records(conn: sa.Connection) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, key, record) of everything, in export order: imported issues in the order
    they were read, then other issues by id, then memories and config by key."""
    found = load_issues(conn, None)

    def order(item: LedgerIssue) -> tuple[int, int, str]:
        seq = item.fields["seq"] if item.fields else 0
        return (0 if item.fields else 1, int(seq), str(item.row["id"]))

    out = [("issue", str(i.row["id"]), i.render()) for i in sorted(found.values(), key=order)]
    for kind in ("memory", "config"):
        rows = load_keyed(conn, kind, None)
        out.extend((kind, key, render_keyed(rows[key])) for key in sorted(rows))
    return out


# --- import --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stale_skipped: int = 0


@dataclasses.dataclass(frozen=True)
class StaleRecord:
    kind: str
    id: str
    file_updated_at: str
    ledger_updated_at: str


@dataclasses.dataclass
class BeadsPlan:
    create: list[BeadsRecord] = dataclasses.field(default_factory=list)
    update: list[BeadsRecord] = dataclasses.field(default_factory=list)
    unchanged: list[BeadsRecord] = dataclasses.field(default_factory=list)
    stale: list[StaleRecord] = dataclasses.field(default_factory=list)
    positions: dict[str, int] = dataclasses.field(default_factory=dict)
    """Each issue's place in export order (``issue_fields.seq``)."""
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    """The ledger's own metadata of each issue the plan updates."""
    rows: dict[str, IssueRows] = dataclasses.field(default_factory=dict)
    """Rows already made from the records (when the caller validated them first)."""

    def counts(self) -> dict[str, KindCounts]:
        tally: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for name in ("create", "update", "unchanged"):
            for record in getattr(self, name):
                tally[record.kind][name] += 1
        for stale in self.stale:
            tally[stale.kind]["stale"] += 1
        return {
            kind: KindCounts(t["create"], t["update"], t["unchanged"], t["stale"])
            for kind, t in sorted(tally.items())
        }

    @property
    def changes(self) -> int:
        return len(self.create) + len(self.update)


def _last_live_change(ledger: Ledger, id: str) -> tuple[dt.datetime, int] | None:
    try:
        versions = ledger.history(id)
    except DoltplaneError:
        return None
    return (to_db_time(versions[0].committed_at), 0) if versions else None


def issue_positions(records: Iterable[BeadsRecord]) -> dict[str, int]:
    """Each issue's place among the issues of its file (export keeps that order)."""
    return {r.key: n for n, r in enumerate((r for r in records if r.kind == "issue"), start=1)}


def plan_import(
    conn: sa.Connection,
    ledger: Ledger,
    records: list[BeadsRecord],
    *,
    force: bool,
    report: Progress,
    rows: dict[str, IssueRows] | None = None,
) -> BeadsPlan:
    plan = BeadsPlan(rows=rows or {})
    # an issue keeps the place it first had; new ones follow everything imported before,
    # in the order of their file: exports list issues in the order they arrived
    last = conn.execute(sa.select(sa.func.max(bt.issue_fields.c.seq))).scalar_one()
    base = int(last or 0)
    plan.positions = {key: base + n for key, n in issue_positions(records).items()}
    by_kind: dict[str, list[BeadsRecord]] = defaultdict(list)
    for record in records:
        by_kind[record.kind].append(record)
    current_issues = load_issues(conn, [r.key for r in by_kind["issue"]])
    for done, record in enumerate(by_kind["issue"], start=1):
        existing = current_issues.get(record.key)
        if existing is None:
            plan.create.append(record)
        else:
            ours = existing.render()
            if same(ours, record.data):
                plan.unchanged.append(record)
            elif not force and (stale := _stale(ledger, record, existing, ours)) is not None:
                plan.stale.append(stale)
            else:
                plan.update.append(record)
                plan.metadata[record.key] = existing.row["metadata"]
            if existing.fields is not None:
                plan.positions[record.key] = int(existing.fields["seq"])
        if done % 1000 == 0:
            report("compare", done, len(records))
    for kind in ("memory", "config"):
        current = load_keyed(conn, kind, [r.key for r in by_kind[kind]])
        for record in by_kind[kind]:
            row = current.get(record.key)
            if row is None:
                plan.create.append(record)
            elif same(render_keyed(row), record.data):
                plan.unchanged.append(record)
            else:
                plan.update.append(record)
    report("compare", len(records), len(records))
    return plan


def _stale(
    ledger: Ledger, record: BeadsRecord, existing: LedgerIssue, ours: dict[str, Any]
) -> StaleRecord | None:
    theirs = parse_instant(record.data.get("updated_at"))
    if theirs is None:
        return None
    if existing.live_edited():
        mine = _last_live_change(ledger, record.key)
        shown = None if mine is None else _as_json(mine[0])
    else:
        mine = parse_instant(ours.get("updated_at"))
        shown = ours.get("updated_at")
    if mine is None or not theirs < mine:
        return None
    return StaleRecord(record.kind, record.key, str(record.data["updated_at"]), str(shown))


def apply_plan(conn: sa.Connection, plan: BeadsPlan, report: Progress) -> None:
    """Write what the plan creates and updates (one transaction, the caller's)."""
    total = plan.changes
    report("write", 0, total)
    issue_inserts: list[dict[str, Any]] = []
    issue_updates: list[dict[str, Any]] = []
    field_rows: list[dict[str, Any]] = []
    nested_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    replaced: list[str] = []
    keyed: dict[str, list[dict[str, Any]]] = defaultdict(list)
    keyed_replaced: dict[str, list[str]] = defaultdict(list)
    for is_new, batch in ((True, plan.create), (False, plan.update)):
        for record in batch:
            if record.kind != "issue":
                keyed[record.kind].append(keyed_row(record))
                if not is_new:
                    keyed_replaced[record.kind].append(record.key)
                continue
            # the rows were made before the plan knew where the issue goes in export order
            rows = plan.rows.get(record.key) or issue_rows(record, 0)
            rows.fields["seq"] = plan.positions[record.key]
            (issue_inserts if is_new else issue_updates).append(rows.issue)
            if not is_new:
                replaced.append(record.key)
            field_rows.append(rows.fields)
            for key, items in rows.nested.items():
                nested_rows[key].extend(items)
    _delete_in(conn, bt.issue_fields, "id", replaced)
    for nested in NESTED:
        _delete_in(conn, nested.table, "issue_id", replaced)
    for kind, keys in keyed_replaced.items():
        _delete_in(conn, KEYED_TABLES[kind], "key", keys)
    done = 0
    for part in _parts(issue_inserts):
        conn.execute(issues.insert(), part)
        done += len(part)
        report("write", done, total)
    columns = [m.column for m in ISSUE_MAPPED if m.column != "id"]
    statement = (
        issues.update()
        .where(issues.c.id == sa.bindparam("key"))
        .values({c: sa.bindparam(c) for c in columns})
    )
    for part in _parts(issue_updates):
        conn.execute(statement, [{"key": r["id"], **{c: r[c] for c in columns}} for r in part])
        done += len(part)
        report("write", done, total)
    written = {r["id"]: r for r in issue_inserts}
    for row in issue_updates:  # an update leaves the ledger's own metadata as it was
        written[row["id"]] = {**row, "metadata": plan.metadata.get(row["id"], {})}
    for part in _parts(field_rows):
        conn.execute(
            bt.issue_fields.insert(),
            [{**r, "digest": issue_digest(Issue.from_row(written[r["id"]]))} for r in part],
        )
    for nested in NESTED:
        for part in _parts(nested_rows[nested.key]):
            conn.execute(nested.table.insert(), part)
    for kind, keyed_rows in keyed.items():
        for part in _parts(keyed_rows):
            conn.execute(KEYED_TABLES[kind].insert(), part)
            done += len(part)
    report("write", total, total)


def _delete_in(conn: sa.Connection, table: sa.Table, column: str, keys: list[str]) -> None:
    for start in range(0, len(keys), _CHUNK):
        conn.execute(table.delete().where(table.c[column].in_(keys[start : start + _CHUNK])))


def _parts(rows: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), _CHUNK):
        yield rows[start : start + _CHUNK]


# --- export --------------------------------------------------------------------------
def export_beads(conn: sa.Connection, out: IO[str], report: Progress) -> dict[str, int]:
    """Every record as a Beads JSONL line; how many of each kind."""
    records = ledger_records(conn)
    counts: dict[str, int] = defaultdict(int)
    report("export", 0, len(records))
    for done, (kind, _, data) in enumerate(records, start=1):
        out.write(export_line(kind, data) + "\n")
        counts[kind] += 1
        if done % 1000 == 0:
            report("export", done, len(records))
    report("export", len(records), len(records))
    return dict(counts)
