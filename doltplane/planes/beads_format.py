"""Reading Beads exports as records, and comparing records the way ``verify`` does.

Three shapes reach ``doltplane import`` (facts from Beads' own exporters):

- the pre-Dolt ``.beads/issues.jsonl``: one issue per line, no discriminator;
- the current ``bd export``: ``{"_type": "issue", ...}`` and
  ``{"_type": "memory", "key", "value"}`` lines, maybe after a header line
  carrying ``_schema`` (and ``_dolt_branch``, ``_dolt_commit``), which is no record;
- the per-table backup folder (``issues.jsonl``, ``labels.jsonl``,
  ``dependencies.jsonl``, ``comments.jsonl``, ``events.jsonl``,
  ``config.jsonl``), joined here into whole issues (``labels`` as a list of
  strings, the others as lists of their rows, in file order) and ``config``
  records.

A record is its JSON object exactly as read; nothing is renamed or dropped.
Only a ``config`` record, which Beads never writes to a JSONL export, is marked
``"_type": "config"`` on an exported line, and that mark is taken off on reading.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from doltplane.errors import InvalidDocument, NotFound

Progress = Callable[[str, int, int], None]

TYPE_KEY = "_type"
HEADER_KEY = "_schema"
KINDS = ("issue", "memory", "config")
KEY_FIELD = {"issue": "id", "memory": "key", "config": "key"}
BACKUP_FILES = ("issues", "labels", "dependencies", "comments", "events", "config")
"""The per-table files of a Beads backup folder (``<name>.jsonl``)."""
NESTED = {"labels": "labels", "dependencies": "dependencies", "comments": "comments",
          "events": "events"}  # fmt: skip
"""Backup file -> the key of the whole issue that lists its rows."""

_ISO = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:?\d{2})?"
)
_REPORT_EVERY = 1000


@dataclasses.dataclass(frozen=True)
class BeadsRecord:
    kind: str
    """``issue``, ``memory`` or ``config``."""
    key: str
    data: dict[str, Any]
    where: str
    """``file:line`` it came from (for messages)."""


# --- time -------------------------------------------------------------------------
def parse_instant(value: Any) -> tuple[dt.datetime, int] | None:
    """An ISO-8601 timestamp as (UTC datetime to the microsecond, nanoseconds beyond);
    None when ``value`` is not one. Naive times are taken as UTC."""
    if not isinstance(value, str):
        return None
    return _parse_instant(value)


@functools.lru_cache(maxsize=65536)  # exports repeat the same times many times over
def _parse_instant(value: str) -> tuple[dt.datetime, int] | None:
    match = _ISO.fullmatch(value)
    if match is None:
        return None
    day, clock, fraction, zone = match.groups()
    digits = (fraction or "").ljust(9, "0")
    try:
        moment = dt.datetime.fromisoformat(f"{day}T{clock}")
    except ValueError:
        return None
    moment = moment.replace(microsecond=int(digits[:6]))
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[-2:])
        if hours > 23 or minutes > 59:
            return None
        try:
            moment -= sign * dt.timedelta(hours=hours, minutes=minutes)
        except OverflowError:
            return None
    return moment, int(digits[6:])


# --- equality as verify means it --------------------------------------------------
def same(a: Any, b: Any) -> bool:
    """JSON equality with key order free and timestamps equal as instants."""
    if isinstance(a, dict | list) and _canonical(a) == _canonical(b):
        return True  # the usual case, decided in C
    return _same(a, b)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        if a == b:
            return True
        left, right = parse_instant(a), parse_instant(b)
        return left is not None and left == right
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a is None and b is None


# --- reading ------------------------------------------------------------------------
def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The non-blank lines of a UTF-8 text file with their numbers (typed errors otherwise)."""
    try:
        with path.open(encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                if text.strip():
                    yield number, text
    except FileNotFoundError:
        raise NotFound("file", str(path)) from None
    except IsADirectoryError:
        raise InvalidDocument(f"{path} is a folder, not a JSONL file") from None
    except UnicodeDecodeError as exc:
        raise InvalidDocument(f"{path}: not UTF-8 text ({exc.reason})") from None


def _objects(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for number, text in read_lines(path):
        where = f"{path}:{number}"
        try:
            obj = json.loads(text, parse_constant=_no_constant)
        except ValueError as exc:
            raise _bad(where, f"not JSON: {exc}") from None
        except RecursionError:
            raise _bad(where, "nested too deeply") from None
        if not isinstance(obj, dict):
            raise _bad(where, f"a line must be a JSON object, got {type(obj).__name__}")
        yield where, obj


def _no_constant(name: str) -> Any:
    # NaN and Infinity are no JSON: stored, they would never compare equal again
    raise ValueError(f"{name} is not a JSON value")


def _bad(where: str, message: str) -> InvalidDocument:
    return InvalidDocument(f"{where}: {message}", hint="nothing was imported")


def _key_of(kind: str, obj: dict[str, Any], where: str) -> str:
    field = KEY_FIELD[kind]
    value = obj.get(field)
    if not isinstance(value, str) or not value:
        raise _bad(where, f"{kind} needs a non-empty text {field!r}, got {value!r}")
    return value


def looks_like_beads(path: Path) -> bool:
    """Whether a file's first record is a Beads line (no doltplane ``kind``)."""
    if path.is_dir():
        return True
    try:
        for _, text in read_lines(path):
            try:
                obj = json.loads(text)
            except ValueError:
                return False
            return isinstance(obj, dict) and "kind" not in obj
    except (NotFound, InvalidDocument):
        return False
    return False


def read_beads(path: Path, progress: Progress | None = None) -> list[BeadsRecord]:
    """Every record of a Beads JSONL file or backup folder; InvalidDocument naming the
    first bad line (``file:line: message``)."""
    report = progress or (lambda step, done, total: None)
    records = _read_folder(path) if path.is_dir() else list(_read_file(path, report))
    seen: dict[tuple[str, str], str] = {}
    for record in records:
        first = seen.setdefault((record.kind, record.key), record.where)
        if first != record.where:
            raise _bad(record.where, f"{record.kind} {record.key!r} already appeared at {first}")
    report("read", len(records), len(records))
    return records


def _read_file(path: Path, report: Progress) -> Iterator[BeadsRecord]:
    for count, (where, obj) in enumerate(_objects(path), start=1):
        if HEADER_KEY in obj and TYPE_KEY not in obj:
            continue  # the provenance header: no record
        kind = obj.get(TYPE_KEY, "issue")
        if kind not in KINDS:
            raise _bad(where, f"{TYPE_KEY} must be 'issue', 'memory' or 'config', got {kind!r}")
        data = obj
        if kind == "config":
            data = {k: v for k, v in obj.items() if k != TYPE_KEY}
        yield BeadsRecord(kind, _key_of(kind, data, where), data, where)
        if count % _REPORT_EVERY == 0:
            report("read", count, 0)


def _read_folder(folder: Path) -> list[BeadsRecord]:
    if not (folder / "issues.jsonl").is_file():
        raise InvalidDocument(
            f"{folder}: no issues.jsonl", hint="a Beads backup folder holds issues.jsonl"
        )
    issues: dict[str, BeadsRecord] = {}
    for where, obj in _objects(folder / "issues.jsonl"):
        key = _key_of("issue", obj, where)
        if key in issues:
            raise _bad(where, f"issue {key!r} already appeared at {issues[key].where}")
        issues[key] = BeadsRecord("issue", key, obj, where)
    for name, field in NESTED.items():
        path = folder / f"{name}.jsonl"
        if not path.is_file():
            continue
        for where, row in _objects(path):
            owner = row.get("issue_id")
            if not isinstance(owner, str) or owner not in issues:
                raise _bad(where, f"issue_id {owner!r} is not an issue of issues.jsonl")
            listed = issues[owner].data.setdefault(field, [])
            if not isinstance(listed, list):
                raise _bad(where, f"issue {owner!r} has a {field!r} that is not a list")
            listed.append(row["label"] if name == "labels" and "label" in row else row)
    records = list(issues.values())
    config = folder / "config.jsonl"
    if config.is_file():
        records.extend(
            BeadsRecord("config", _key_of("config", obj, where), obj, where)
            for where, obj in _objects(config)
        )
    return records


def export_line(kind: str, data: dict[str, Any]) -> str:
    """One record as an export line (a config record gets its ``_type`` mark)."""
    if kind == "config":
        data = {TYPE_KEY: "config", **data}
    # ASCII only: U+2028 and friends end a "line" for many readers (JavaScript, splitlines)
    return json.dumps(data)
