"""Read-only SQL across planes: the ledger with the operational plane attached.

Embedded engine: one read-only connection on ``ledger.db`` with ``ops.db``
attached read-only as ``ops``. Unqualified names resolve in order: the
ledger's tables first, then ``operational_state`` and ``heartbeats`` from
``ops``. Writes are refused three times over: only SELECT/WITH statements
are accepted, an authorizer denies every action but reading, and both files
are opened with ``mode=ro``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from doltplane.errors import DoltplaneError, EngineError, InvalidInput, UnsupportedOperation
from doltplane.store.loader import sqlite_module

if TYPE_CHECKING:
    from doltplane.client import DataPlane

_LEADING_COMMENTS = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)
_READ_STATEMENT = re.compile(r"(?:SELECT|WITH|VALUES)\b", re.I)
_DENIED_FUNCTIONS = {"load_extension"}

# sqlite3 authorizer action codes that only read
_SQLITE_READ, _SQLITE_SELECT, _SQLITE_FUNCTION, _SQLITE_RECURSIVE = 20, 21, 31, 33


def check_read_only(sql: object) -> str:
    """The statement, if it is one read-only query; InvalidInput otherwise."""
    if not isinstance(sql, str) or not sql.strip():
        raise InvalidInput("query must be non-empty SQL text")
    body = _LEADING_COMMENTS.sub("", sql)
    if not _READ_STATEMENT.match(body):
        first = body.split(None, 1)[0] if body.split() else ""
        raise InvalidInput(
            f"only SELECT or WITH queries are allowed, not {first.upper()!r}",
            hint="cross-plane queries are read-only",
        )
    return sql


def _authorize(
    action: int, arg1: str | None, arg2: str | None, db: str | None, src: str | None
) -> int:
    sqlite3 = sqlite_module()
    if action in (_SQLITE_READ, _SQLITE_SELECT, _SQLITE_RECURSIVE):
        return int(sqlite3.SQLITE_OK)
    if action == _SQLITE_FUNCTION and (arg2 or "").lower() not in _DENIED_FUNCTIONS:
        return int(sqlite3.SQLITE_OK)
    return int(sqlite3.SQLITE_DENY)


def _read_only_uri(path: str) -> str:
    return "file:" + quote(path) + "?mode=ro"


def run_query(dp: DataPlane, sql: str, params: Any = None) -> list[dict[str, Any]]:
    """Rows of one read-only query over the ledger and the operational plane."""
    statement = check_read_only(sql)
    if params is not None and (
        isinstance(params, str | bytes) or not isinstance(params, Mapping | Sequence)
    ):
        raise InvalidInput("params must be a sequence (for ?) or a mapping (for :name)")
    ledger, ops = dp.engine("ledger"), dp.engine("ops")  # both exist and are migrated
    if ledger.name != "doltlite" or ops.name != "doltlite":
        raise UnsupportedOperation(
            f"cross-plane queries are implemented for the embedded engine, not {ledger.name}",
            hint="on a Dolt server, query with database-qualified table names",
        )
    sqlite3 = sqlite_module()
    timeout = dp.settings.busy_timeout_ms / 1000
    try:
        conn = sqlite3.connect(
            _read_only_uri(ledger.location), uri=True, timeout=timeout, isolation_level=None
        )
    except sqlite3.Error as exc:
        raise EngineError(f"cannot open {ledger.location}: {exc}") from None
    try:
        conn.execute("ATTACH DATABASE ? AS ops", (_read_only_uri(ops.location),))
        conn.set_authorizer(_authorize)
        cursor = conn.execute(statement, params if params is not None else ())
        columns = [d[0] for d in cursor.description or ()]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    except DoltplaneError:
        raise
    except sqlite3.Error as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "not authorized" in text or "readonly" in text or "one statement" in text:
            raise InvalidInput(
                f"query refused: {text}", hint="cross-plane queries are read-only"
            ) from None
        if isinstance(exc, sqlite3.OperationalError | sqlite3.ProgrammingError):
            raise InvalidInput(f"query failed: {text}") from None
        raise EngineError(f"query failed: {text}") from None
    finally:
        conn.close()
