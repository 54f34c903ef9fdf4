"""The server driver's errors as doltplane errors: the one table, used at the boundary.

MySQL error numbers Dolt 1.86 sends (measured): 1213 for a transaction that
conflicts with one committed meanwhile ("serialization failure"), 1205 for a lock
wait, 1105 (Dolt's catch-all) with the reason in the text, 1049 for an unknown
database, 2006/2013 for a connection the server dropped (an online gc does that).
"""

from __future__ import annotations

import pymysql
import sqlalchemy as sa

from doltplane.errors import (
    DoltplaneError,
    EngineError,
    InvalidInput,
    InvalidRevision,
    NotFound,
    QueryTimeout,
)

RETRYABLE = (1205, 1213)
DISCONNECTED = (2006, 2013, 2014, 2055)
UNKNOWN_DATABASE = 1049
QUERY_KILLED = (1317, 3024)


def driver_error(exc: BaseException) -> pymysql.MySQLError | None:
    """The pymysql error inside ``exc`` (SQLAlchemy wraps it), or None."""
    if isinstance(exc, sa.exc.DBAPIError):
        exc = exc.orig if isinstance(exc.orig, BaseException) else exc
    return exc if isinstance(exc, pymysql.MySQLError) else None


def code_and_text(exc: BaseException) -> tuple[int | None, str]:
    orig = driver_error(exc)
    if orig is None:
        return None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    args = orig.args
    code = args[0] if args and isinstance(args[0], int) else None
    text = str(args[1]) if len(args) > 1 else str(orig)
    return code, text.splitlines()[0] if text else type(orig).__name__


def is_retryable(exc: BaseException) -> bool:
    """Another transaction won (deadlock, lock wait, Dolt's serialization failure), or the
    connection was dropped before the transaction committed: redo the whole of it."""
    code, text = code_and_text(exc)
    if code is None and driver_error(exc) is None:
        return False
    lowered = text.lower()
    return (
        code in RETRYABLE
        or code in DISCONNECTED
        or "serialization failure" in lowered
        or "try restarting transaction" in lowered
        or ("database is read only" in lowered and "gc" in lowered)
    )


def translate(exc: BaseException, what: str) -> DoltplaneError:
    """A driver or SQLAlchemy error as the doltplane error a caller can act on."""
    if isinstance(exc, sa.exc.TimeoutError):  # the pool stayed full for pool_timeout
        return EngineError(
            f"{what}: every pooled connection stayed in use",
            hint="raise pool_max_open, or find what holds connections open",
        )
    code, text = code_and_text(exc)
    lowered = text.lower()
    if code == UNKNOWN_DATABASE or "database not found" in lowered:
        if "/" in lowered:  # db/<revision>: the revision names nothing
            return InvalidRevision(what, text)
        return NotFound("database", text.rsplit(" ", 1)[-1], hint="create it, or check the name")
    if "invalid ref spec" in lowered or "branch not found" in lowered:
        return InvalidRevision(what, text)
    if "not found" in lowered and ("revision" in lowered or "branch" in lowered):
        return InvalidRevision(what, text)
    if code in QUERY_KILLED:
        return QueryTimeout(0, 0)
    if code in (1054, 1146, 1064, 1149):  # unknown column, table; syntax
        return InvalidInput(f"{what}: {text}")
    return EngineError(f"{what}: {text}")
