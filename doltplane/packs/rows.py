"""Rows of pack tables: key handling, value decoding, the one upsert and the one place
that turns database constraint errors into typed doltplane errors."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa

from doltplane.errors import (
    CheckViolation,
    ConstraintViolation,
    ForeignKeyViolation,
    InvalidInput,
    UniqueViolation,
)

T = TypeVar("T")


def utc_now() -> dt.datetime:
    """Stored times are naive UTC, the form both engines keep."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def new_key() -> str:
    """A text key that sorts by creation time (inserts land at the end of Dolt's tree)."""
    return f"{time.time_ns() // 1000:014x}{secrets.token_hex(5)}"


def key_of(table: sa.Table, key: object) -> dict[str, Any]:
    """A primary key as ``{column: value}``; a bare value for a one-column key."""
    columns = [c.name for c in table.primary_key.columns]
    if isinstance(key, Mapping):
        missing = [c for c in columns if c not in key]
        extra = [c for c in key if c not in columns]
        if missing or extra:
            raise InvalidInput(
                f"{table.name}: the key is {', '.join(columns)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; not key columns: {', '.join(map(str, extra))}" if extra else "")
            )
        return {c: checked_value(table, table.c[c], key[c]) for c in columns}
    if len(columns) != 1:
        raise InvalidInput(f"{table.name}: the key has columns {', '.join(columns)}: pass a dict")
    return {columns[0]: checked_value(table, table.c[columns[0]], key)}


def checked_value(table: sa.Table, column: sa.Column[Any], value: Any) -> Any:
    """A value for ``column`` as the database should get it, or InvalidInput naming the
    column (a dict for a text column would otherwise fail in the driver)."""
    if value is None:
        return None
    kind = column.type
    where = f"{table.name}.{column.name}"
    if isinstance(kind, sa.JSON):
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"{where}: not a JSON value ({exc})") from None
        return value
    if isinstance(kind, sa.DateTime):
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value)
            except ValueError:
                raise InvalidInput(f"{where}: not an ISO time: {value!r}") from None
        if not isinstance(value, dt.datetime):
            raise InvalidInput(f"{where}: expected a datetime, not {type(value).__name__}")
        return value if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(kind, sa.Boolean):
        if not isinstance(value, bool):
            raise InvalidInput(f"{where}: expected true or false, not {value!r}")
        return value
    if isinstance(kind, sa.Integer):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"{where}: expected an integer, not {value!r}")
        if not -(2**63) <= value < 2**63:
            raise InvalidInput(f"{where}: {value} is out of range")
        return value
    if isinstance(kind, sa.Float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"{where}: expected a number, not {value!r}")
        return value
    if isinstance(kind, sa.String):
        if not isinstance(value, str):
            raise InvalidInput(f"{where}: expected text, not {type(value).__name__}")
        if "\x00" in value:
            raise InvalidInput(f"{where}: text may not hold NUL characters")
        if kind.length is not None and len(value) > kind.length:
            raise InvalidInput(f"{where}: longer than {kind.length} characters")
        return value
    return value


def from_text(table: sa.Table, name: str, text: str) -> Any:
    """A value typed on a command line, read as ``table.name``'s type."""
    column = table.c.get(name)
    if column is None:
        raise InvalidInput(f"{table.name}: no column {name}")
    kind = column.type
    try:
        if isinstance(kind, sa.Boolean):
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError(text)
            return text.lower() in ("true", "1")
        if isinstance(kind, sa.Integer):
            return int(text)
        if isinstance(kind, sa.Float):
            return float(text)
        if isinstance(kind, sa.JSON):
            return json.loads(text)
    except ValueError:
        raise InvalidInput(f"{table.name}.{name}: cannot read {text!r} as {kind}") from None
    return text


def where_key(table: sa.Table, key: Mapping[str, Any]) -> sa.ColumnElement[bool]:
    return sa.and_(*(table.c[name] == value for name, value in key.items()))


def decode(
    table: sa.Table, row: Mapping[Any, Any] | sa.RowMapping, *, raw: bool = False
) -> dict[str, Any]:
    """A row as Python values: times naive UTC, booleans as bool. With ``raw`` the row
    comes from a history or diff table, where engines hand JSON and times back as text."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        column = table.c.get(name)
        if column is not None and isinstance(value, bytes):
            value = value.decode()
        if column is not None and raw and isinstance(value, str):
            if isinstance(column.type, sa.JSON):
                value = json.loads(value)
            elif isinstance(column.type, sa.DateTime):
                value = dt.datetime.fromisoformat(value)
        elif column is not None and isinstance(column.type, sa.Boolean) and isinstance(value, int):
            value = bool(value)
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        out[name] = value
    return out


def from_json(table: sa.Table, stored: Mapping[str, Any]) -> dict[str, Any]:
    """A row kept as JSON (an idempotency record): times come back from their text."""
    out = dict(stored)
    for name, value in stored.items():
        column = table.c.get(name)
        if column is not None and isinstance(column.type, sa.DateTime) and isinstance(value, str):
            out[name] = dt.datetime.fromisoformat(value)
    return out


def same(
    table: sa.Table, stored: Mapping[Any, Any] | sa.RowMapping, wanted: Mapping[str, Any]
) -> bool:
    """Whether every wanted column already holds its value (JSON compared as data)."""
    decoded = decode(table, stored)
    return all(decoded.get(name) == value for name, value in decode(table, wanted).items())


def upsert(
    conn: sa.Connection, table: sa.Table, key: Mapping[str, Any], values: Mapping[str, Any]
) -> None:
    """Insert or update one row by primary key, inside the caller's write transaction.

    Read-then-write instead of ON CONFLICT / ON DUPLICATE KEY: the write
    transaction already holds the engine's write lock (doltlite) or is merged
    cell by cell at commit (Dolt server), and the same statements work on both.
    """
    exists = conn.execute(sa.select(sa.literal(1)).where(where_key(table, key))).first()
    if exists is None:
        conn.execute(table.insert().values({**values, **key}))
    else:
        changed = {k: v for k, v in values.items() if k not in key}
        if changed:
            conn.execute(table.update().where(where_key(table, key)).values(changed))


_UNIQUE = re.compile(r"unique|duplicate", re.I)
_CHECK = re.compile(r"check constraint", re.I)
_FOREIGN = re.compile(r"foreign key", re.I)
_NOT_NULL = re.compile(r"not null|cannot be null|have a default value", re.I)


@contextmanager
def constraint_errors(table: str) -> Iterator[None]:
    """Turn a constraint error from either engine's driver into a typed error; raised inside
    the write transaction, it rolls the whole write back."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        orig = exc.orig
        # pymysql's args are (code, message); sqlite3's are (message,)
        detail = orig.args[-1] if orig is not None and orig.args else (orig or exc)
        text = (str(detail).splitlines() or [type(orig).__name__])[0]
        kind: type[ConstraintViolation] | None = None
        if _FOREIGN.search(text):
            kind = ForeignKeyViolation
        elif _CHECK.search(text):
            kind = CheckViolation
        elif _UNIQUE.search(text):
            kind = UniqueViolation
        elif _NOT_NULL.search(text):
            kind = ConstraintViolation
        if kind is None:
            raise
        raise kind(table, text.strip(), hint="nothing was written; fix the row and retry") from None


def guarded(table: str, fn: Callable[[sa.Connection], T]) -> Callable[[sa.Connection], T]:
    def run(conn: sa.Connection) -> T:
        with constraint_errors(table):
            return fn(conn)

    return run
