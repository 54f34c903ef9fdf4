"""JSONL export, import and verify of the ledger, in two formats.

``beads``: Beads' own exports as they are (every era, and its backup folder;
see ``beads_format`` and ``beads_store``). ``doltplane``: the ledger's own
shape, one JSON object per line, with ``kind`` saying which record it is::

    {"kind": "issue", "id": "gt-...", "type": "task", "title": "...", "status": "open",
     "created_by": "...", "created_at": "2025-01-02T03:04:05Z", "completed_at": null,
     "owner": null, "metadata": {...}, <any other fields>}
    {"kind": "cv_entry", "id": "cv-...", "owner_email": "...", "bead_id": null,
     "activity_type": "...", "timestamp": "...", "metadata": {...}, <any other fields>}

Fields with no column are kept, with their values as they are (nested lists
included), under the reserved ``_jsonl`` key of the stored metadata, and come
back as top-level fields on export; so do timestamp spellings that the
canonical form (``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``) would not reproduce. The
round trip is lossless. Import is an upsert in one transaction and one
commit, and no commit at all when nothing changed. The library never prints:
long work reports through ``progress(step, done, total)``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import sqlalchemy as sa

from doltplane.errors import InvalidDocument, InvalidInput, NotFound
from doltplane.planes import beads_format, beads_store
from doltplane.planes.ledger_records import (
    KINDS,
    TABLES,
    CvEntry,
    Issue,
    LedgerReader,
    Record,
    chunks,
    record_from_row,
)
from doltplane.validation import utc

if TYPE_CHECKING:
    from doltplane.planes.ledger import Ledger

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``: called as long work advances."""

KIND_FIELD = "kind"
FIELDS: dict[str, tuple[str, ...]] = {
    "issue": (
        "id",
        "type",
        "title",
        "status",
        "created_by",
        "created_at",
        "completed_at",
        "owner",
        "metadata",
    ),
    "cv_entry": ("id", "owner_email", "bead_id", "activity_type", "timestamp", "metadata"),
}
_OPTIONAL: dict[str, Any] = {"completed_at": None, "owner": None, "bead_id": None, "metadata": {}}
_TIMES = ("created_at", "completed_at", "timestamp")
_TEXT_FIELDS = {"id", "type", "title", "status", "created_by", "owner", "owner_email", "bead_id",
                "activity_type"}  # fmt: skip
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_BATCH = 500


FORMATS = ("doltplane", "beads")


@dataclasses.dataclass(frozen=True)
class ExportResult:
    issues: int
    cv_entries: int
    format: str = "doltplane"
    records: dict[str, int] = dataclasses.field(default_factory=dict)
    """How many records of each kind were written."""


@dataclasses.dataclass(frozen=True)
class UpsertCounts:
    created: int
    updated: int
    unchanged: int
    commit: str | None


@dataclasses.dataclass(frozen=True)
class ImportResult:
    path: str
    records: int
    created: int
    updated: int
    unchanged: int
    dry_run: bool
    commit: str | None
    """The one commit the import made; None for a dry run or when nothing changed."""
    format: str = "doltplane"
    stale_skipped: int = 0
    """Records older (``updated_at``) than the ledger's copy, left alone."""
    kinds: dict[str, beads_store.KindCounts] = dataclasses.field(default_factory=dict)
    """The counts per record kind."""
    stale: tuple[beads_store.StaleRecord, ...] = ()


@dataclasses.dataclass(frozen=True)
class FieldDifference:
    field: str
    in_file: Any
    in_ledger: Any
    change: str = "changed"
    """``changed`` (both have the key), ``dropped`` (only the file has it), ``added``
    (only the ledger has it) or ``renamed`` (the ledger has the file's value under
    ``renamed_to``)."""
    renamed_to: str | None = None


@dataclasses.dataclass(frozen=True)
class RecordDifference:
    kind: str
    id: str
    status: str
    """``missing`` (in the file, not the ledger), ``extra`` (the reverse) or ``different``."""
    fields: tuple[FieldDifference, ...] = ()


@dataclasses.dataclass(frozen=True)
class VerifyReport:
    path: str
    file_records: int
    ledger_records: int
    differences: tuple[RecordDifference, ...]

    @property
    def ok(self) -> bool:
        return not self.differences

    def count(self, status: str) -> int:
        return sum(1 for d in self.differences if d.status == status)


# --- one line <-> one record ------------------------------------------------------
def format_time(moment: dt.datetime) -> str:
    """The canonical spelling: UTC with a ``Z``, microseconds only when there are some."""
    moment = utc(moment)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{moment.microsecond:06d}" if moment.microsecond else "") + "Z"


def _parse_time(value: Any, field: str) -> tuple[dt.datetime, str | None]:
    if not isinstance(value, str) or not _ISO.fullmatch(value):
        raise ValueError(f"{field} must be an ISO-8601 timestamp, got {value!r}")
    moment = utc(dt.datetime.fromisoformat(value))
    return moment, (None if format_time(moment) == value else value)


def record_to_line(record: Record) -> dict[str, Any]:
    """A record as one JSONL object (``kind`` first, unknown fields last)."""
    kind = "issue" if isinstance(record, Issue) else "cv_entry"
    line: dict[str, Any] = {KIND_FIELD: kind}
    for field in FIELDS[kind]:
        value = getattr(record, field)
        if isinstance(value, dt.datetime):
            value = record.original_text.get(field) or format_time(value)
        line[field] = value
    line.update(record.extra)
    return line


def line_to_record(obj: Any) -> Record:
    """One parsed JSONL object as a record; ValueError says what is wrong with it."""
    if not isinstance(obj, dict):
        raise ValueError(f"a line must be a JSON object, got {type(obj).__name__}")
    kind = obj.get(KIND_FIELD)
    if not isinstance(kind, str) or kind not in FIELDS:
        raise ValueError(f"{KIND_FIELD} must be 'issue' or 'cv_entry', got {kind!r}")
    known = FIELDS[kind]
    values: dict[str, Any] = {}
    texts: dict[str, str] = {}
    for field in known:
        if field not in obj:
            if field not in _OPTIONAL:
                raise ValueError(f"{kind} is missing {field!r}")
            values[field] = _OPTIONAL[field]
            continue
        value = obj[field]
        if field in _TIMES and value is not None:
            values[field], text = _parse_time(value, field)
            if text is not None:
                texts[field] = text
        elif field == "metadata":
            if not isinstance(value, dict):
                raise ValueError(f"metadata must be an object, got {type(value).__name__}")
            values[field] = value
        elif field in _TEXT_FIELDS and value is not None and not isinstance(value, str):
            raise ValueError(f"{field} must be text, got {value!r}")
        else:
            values[field] = value
    extra = {k: v for k, v in obj.items() if k not in known and k != KIND_FIELD}
    record: Record
    if kind == "issue":
        record = Issue(**values, extra=extra, original_text=texts)
    else:
        record = CvEntry(**values, extra=extra, original_text=texts)
    return _check_record(record)


def _check_record(record: Record) -> Record:
    """The same whole-record checks as every ledger write, as a ValueError for the line."""
    from doltplane.planes.ledger_writes import check_record

    try:
        return check_record(record)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


def _count_lines(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(1 for _ in handle)
    except FileNotFoundError:
        raise NotFound("file", str(path)) from None


def read_file(path: Path, progress: Progress | None = None) -> list[Record]:
    """Every record of a JSONL file; InvalidDocument naming the first bad line."""
    return [record for _, record in _parse(path, progress)]


def _parse(path: Path, progress: Progress | None) -> list[tuple[dict[str, Any], Record]]:
    """Each line's JSON object with the record it makes, validated, duplicates refused."""
    report = progress or (lambda step, done, total: None)
    total = _count_lines(path)
    records: list[tuple[dict[str, Any], Record]] = []
    seen: dict[tuple[str, str], int] = {}
    report("read", 0, total)
    for number, text in beads_format.read_lines(path):
        try:
            obj = json.loads(text)
            record = line_to_record(obj)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise InvalidDocument(f"{path}:{number}: {exc}", hint="nothing was imported") from None
        except RecursionError:
            raise InvalidDocument(
                f"{path}:{number}: nested too deeply", hint="nothing was imported"
            ) from None
        key = (_kind(record), record.id)
        if key in seen:
            raise InvalidDocument(
                f"{path}:{number}: {key[0]} {record.id!r} already appeared on line {seen[key]}",
                hint="nothing was imported",
            )
        seen[key] = number
        records.append((obj, record))
        if number % _BATCH == 0:
            report("read", number, total)
    report("read", total, total)
    return records


def _kind(record: Record) -> str:
    return "issue" if isinstance(record, Issue) else "cv_entry"


# --- export ---------------------------------------------------------------------
def export_records(
    reader: LedgerReader, out: IO[str], *, progress: Progress | None = None
) -> ExportResult:
    report = progress or (lambda step, done, total: None)
    counts = {}
    for kind in KINDS:
        records = list(reader.all_records(kind))
        report(f"export {kind}", 0, len(records))
        for done, record in enumerate(records, start=1):
            out.write(json.dumps(record_to_line(record), ensure_ascii=False) + "\n")
            if done % _BATCH == 0:
                report(f"export {kind}", done, len(records))
        report(f"export {kind}", len(records), len(records))
        counts[kind] = len(records)
    return ExportResult(counts["issue"], counts["cv_entry"])


# --- import ---------------------------------------------------------------------
@dataclasses.dataclass
class _Plan:
    inserts: dict[str, list[Record]] = dataclasses.field(default_factory=dict)
    updates: dict[str, list[Record]] = dataclasses.field(default_factory=dict)
    unchanged: int = 0

    def count(self, which: str) -> int:
        return sum(len(v) for v in getattr(self, which).values())


def _plan(conn: sa.Connection, records: list[Record], report: Progress) -> _Plan:
    plan = _Plan()
    for kind, table in TABLES.items():
        mine = [r for r in records if _kind(r) == kind]
        existing: dict[str, Record] = {}
        for part in chunks([r.id for r in mine]):
            rows = conn.execute(sa.select(table).where(table.c.id.in_(part))).mappings()
            existing.update((row["id"], record_from_row(kind, row)) for row in rows)
        plan.inserts[kind] = [r for r in mine if r.id not in existing]
        plan.updates[kind] = [r for r in mine if r.id in existing and existing[r.id] != r]
        plan.unchanged += len(mine) - len(plan.inserts[kind]) - len(plan.updates[kind])
    report("compare", len(records), len(records))
    return plan


def _apply(conn: sa.Connection, plan: _Plan, report: Progress) -> None:
    total, done = plan.count("inserts") + plan.count("updates"), 0
    report("write", 0, total)
    for kind, table in TABLES.items():
        for part in _batches(plan.inserts[kind]):
            conn.execute(table.insert(), [r.to_row() for r in part])
            done += len(part)
            report("write", done, total)
        columns = [c.name for c in table.columns if c.name != "id"]
        statement = (
            table.update()
            .where(table.c.id == sa.bindparam("key"))
            .values({c: sa.bindparam(c) for c in columns})
        )
        for part in _batches(plan.updates[kind]):
            rows = [{**r.to_row(), "key": r.id} for r in part]
            conn.execute(statement, [{k: v for k, v in row.items() if k != "id"} for row in rows])
            done += len(part)
            report("write", done, total)


def _batches(records: list[Record]) -> Iterator[list[Record]]:
    for start in range(0, len(records), _BATCH):
        yield records[start : start + _BATCH]


def upsert(
    ledger: Ledger, records: list[Record], message: str, progress: Progress | None = None
) -> UpsertCounts:
    """Insert new records and replace changed ones, in one commit (none if nothing changed)."""
    report = progress or (lambda step, done, total: None)

    def run(conn: sa.Connection) -> _Plan:
        plan = _plan(conn, records, report)
        _apply(conn, plan, report)
        return plan

    def commit_message(plan: _Plan) -> str | None:
        created, updated = plan.count("inserts"), plan.count("updates")
        if not created and not updated:
            return None
        return f"{message}: {created} new, {updated} changed, {plan.unchanged} unchanged"

    before = ledger._engine.resolve_revision("main")
    plan = ledger._committed(run, commit_message)
    after = ledger._engine.resolve_revision("main")
    return UpsertCounts(
        plan.count("inserts"),
        plan.count("updates"),
        plan.unchanged,
        None if after == before else after,
    )


def import_file(
    ledger: Ledger, path: Path, *, dry_run: bool = False, progress: Progress | None = None
) -> ImportResult:
    report = progress or (lambda step, done, total: None)
    records = read_file(path, report)
    if dry_run:
        with ledger._engine.read() as conn:
            plan = _plan(conn, records, report)
        counts = UpsertCounts(plan.count("inserts"), plan.count("updates"), plan.unchanged, None)
    else:
        counts = upsert(ledger, records, f"import {len(records)} records from {path.name}", report)
    return ImportResult(
        str(path),
        len(records),
        counts.created,
        counts.updated,
        counts.unchanged,
        dry_run,
        counts.commit,
    )


# --- verify ---------------------------------------------------------------------
def _comparable(line: Mapping[str, Any]) -> dict[str, Any]:
    """Absent optional fields equal their defaults (null, or {} for metadata)."""
    return {
        k: v
        for k, v in line.items()
        if not (k in _OPTIONAL and v == _OPTIONAL[k]) and k != KIND_FIELD
    }


def _same(field: str, a: Any, b: Any) -> bool:
    if a == b and type(a) is type(b):
        return True
    if field in _TIMES and isinstance(a, str) and isinstance(b, str):
        try:
            return _parse_time(a, field)[0] == _parse_time(b, field)[0]
        except ValueError:
            return False
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def compare_fields(
    in_file: Mapping[str, Any], in_ledger: Mapping[str, Any], same: Callable[[str, Any, Any], bool]
) -> tuple[FieldDifference, ...]:
    """The keys that differ: changed values, and keys dropped, added or renamed (a key
    only the file has whose value the ledger holds under a key only it has)."""
    changed = [
        FieldDifference(k, in_file[k], in_ledger[k])
        for k in sorted(in_file.keys() & in_ledger.keys())
        if not same(k, in_file[k], in_ledger[k])
    ]
    added = sorted(in_ledger.keys() - in_file.keys())
    moved = []
    for key in sorted(in_file.keys() - in_ledger.keys()):
        target = next((k for k in added if same(key, in_file[key], in_ledger[k])), None)
        if target is None:
            moved.append(FieldDifference(key, in_file[key], None, "dropped"))
        else:
            added.remove(target)
            moved.append(FieldDifference(key, in_file[key], in_ledger[target], "renamed", target))
    extra = [FieldDifference(k, None, in_ledger[k], "added") for k in added]
    return tuple(sorted(changed + moved + extra, key=lambda d: d.field))


def verify_file(ledger: LedgerReader, path: Path, progress: Progress | None = None) -> VerifyReport:
    report = progress or (lambda step, done, total: None)
    in_file = {(_kind(r), r.id): obj for obj, r in _parse(path, report)}
    in_ledger: dict[tuple[str, str], dict[str, Any]] = {}
    for each in KINDS:
        for record in ledger.all_records(each):
            in_ledger[(each, record.id)] = record_to_line(record)
    differences = []
    keys = sorted(set(in_file) | set(in_ledger))
    for done, key in enumerate(keys, start=1):
        kind, id = key
        if key not in in_ledger:
            differences.append(RecordDifference(kind, id, "missing"))
        elif key not in in_file:
            differences.append(RecordDifference(kind, id, "extra"))
        else:
            a, b = _comparable(in_file[key]), _comparable(in_ledger[key])
            fields = compare_fields(a, b, _same)
            if fields:
                differences.append(RecordDifference(kind, id, "different", fields))
        if done % _BATCH == 0:
            report("compare", done, len(keys))
    report("compare", len(keys), len(keys))
    return VerifyReport(str(path), len(in_file), len(in_ledger), tuple(differences))


# --- format dispatch ----------------------------------------------------------------
def detect_format(path: Path, format: str | None = None) -> str:
    """``format`` when given; else ``beads`` for a folder or a file whose first record
    has no ``kind``, ``doltplane`` otherwise."""
    if format is not None:
        if format not in FORMATS:
            raise InvalidInput(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
        return format
    return "beads" if beads_format.looks_like_beads(path) else "doltplane"


def export_as(
    ledger: Ledger, out: IO[str], *, format: str = "doltplane", progress: Progress | None = None
) -> ExportResult:
    report = progress or (lambda step, done, total: None)
    if detect_format(Path("."), format) == "doltplane":
        return export_records(ledger, out, progress=report)
    with ledger._engine.read() as conn:
        counts = beads_store.export_beads(conn, out, report)
    return ExportResult(counts.get("issue", 0), 0, "beads", counts)


def import_path(
    ledger: Ledger,
    path: Path,
    *,
    format: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Upsert a file (or a Beads backup folder) in one commit; see the module docstring."""
    if detect_format(path, format) == "doltplane":
        if path.is_dir():
            raise InvalidDocument(f"{path} is a folder", hint="only Beads backups are folders")
        return import_file(ledger, path, dry_run=dry_run, progress=progress)
    report = progress or (lambda step, done, total: None)
    records = beads_format.read_beads(path, report)
    # every record is made into rows first: a malformed one is refused before any write
    rows = {}
    for record in records:
        if record.kind == "issue":
            rows[record.key] = beads_store.issue_rows(record, 0)
        else:
            beads_store.keyed_row(record)

    def run(conn: sa.Connection) -> beads_store.BeadsPlan:
        plan = beads_store.plan_import(conn, ledger, records, force=force, report=report, rows=rows)
        if not dry_run:
            beads_store.apply_plan(conn, plan, report)
        return plan

    def message(plan: beads_store.BeadsPlan) -> str | None:
        if not plan.changes:
            return None
        return (
            f"import {len(records)} Beads records from {path.name}: {len(plan.create)} new, "
            f"{len(plan.update)} changed, {len(plan.unchanged)} unchanged, "
            f"{len(plan.stale)} stale skipped"
        )

    if dry_run:
        with ledger._engine.read() as conn:
            plan = run(conn)
        commit = None
    else:
        before = ledger._engine.resolve_revision("main")
        plan = ledger._committed(run, message)
        after = ledger._engine.resolve_revision("main")
        commit = None if after == before else after
    return ImportResult(
        str(path),
        len(records),
        len(plan.create),
        len(plan.update),
        len(plan.unchanged),
        dry_run,
        commit,
        "beads",
        len(plan.stale),
        plan.counts(),
        tuple(plan.stale),
    )


def verify_path(
    ledger: Ledger, path: Path, *, format: str | None = None, progress: Progress | None = None
) -> VerifyReport:
    """Compare the ledger with a file (or Beads backup folder) record by record."""
    if detect_format(path, format) == "doltplane":
        return verify_file(ledger, path, progress)
    report = progress or (lambda step, done, total: None)
    in_file = {(r.kind, r.key): r.data for r in beads_format.read_beads(path, report)}
    with ledger._engine.read() as conn:
        in_ledger = {(k, key): data for k, key, data in beads_store.ledger_records(conn)}

    def same(field: str, a: Any, b: Any) -> bool:
        return beads_format.same(a, b)

    differences = []
    for key in sorted(in_file.keys() | in_ledger.keys()):
        kind, id = key
        if key not in in_ledger:
            differences.append(RecordDifference(kind, id, "missing"))
        elif key not in in_file:
            differences.append(RecordDifference(kind, id, "extra"))
        elif not beads_format.same(in_file[key], in_ledger[key]):
            fields = compare_fields(in_file[key], in_ledger[key], same)
            differences.append(RecordDifference(kind, id, "different", fields))
    report("compare", len(in_file), len(in_file))
    return VerifyReport(str(path), len(in_file), len(in_ledger), tuple(differences))
