"""Cross-plane queries on the server: the same SQL and contract as the embedded engine.

A query is written once, in the embedded engine's dialect (SQLite's), with plane
names as qualifiers (``ops.operational_state``, ``ledger.issues``) and ``?`` or
``:name`` parameters. Here sqlglot parses it, maps each plane name to the configured
database, qualifies unqualified names of attached planes' tables (the ledger's
tables win, as on the embedded engine), refuses every function that is not known
to read, and writes MySQL for Dolt. It then runs in ``START TRANSACTION READ ONLY``,
and a statement still running at the timeout is stopped with ``KILL QUERY`` from a
second connection (Dolt 1.86 ignores ``MAX_EXECUTION_TIME``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import sqlglot
from sqlglot import exp

from doltplane.errors import DoltplaneError, InvalidInput, QueryTimeout
from doltplane.store.server import errors
from doltplane.store.server.pool import ServerPool
from doltplane.store.server.sqltext import to_format

_READ_ONLY_FUNCTION_NAMES = """
    abs coalesce concat concat_ws ifnull if nullif greatest least length char_length
    lower upper trim ltrim rtrim substr substring replace instr locate lpad rpad left right
    round floor ceil ceiling mod sign sqrt power pow exp ln log log10 log2 pi
    date time datetime strftime julianday unixepoch date_format now current_timestamp
    current_date current_time year month day hour minute second timestampdiff datediff
    json_extract json_unquote json_object json_array json_length json_type json_valid
    json_contains json_keys json_group_array json_group_object json_arrayagg json_objectagg
    count sum avg min max total group_concat
    row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value
    last_value nth_value
    typeof hex unhex quote printf format
    active_branch dolt_hashof dolt_merge_base dolt_version hashof
"""
READ_ONLY_FUNCTIONS = frozenset(_READ_ONLY_FUNCTION_NAMES.split())
"""Functions a cross-plane query may call on the server that sqlglot does not know
itself (it turns those into ``Anonymous``): ones that only read. Functions sqlglot
knows are standard SQL functions; procedures such as ``DOLT_COMMIT`` and functions
with side effects (``SLEEP``, ``GET_LOCK``, ``LOAD_FILE``) are unknown to it and
not listed here, so they are refused."""


def _refuse(reason: str) -> InvalidInput:
    # "not authorized" as the embedded engine's authorizer says it: one message for both
    return InvalidInput(f"query refused: not authorized: {reason}", hint="queries are read-only")


_INT64 = 2**63
_RECURSION = 2**31 - 1


def _check_text(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} is not valid Unicode (non-UTF-8 bytes?)") from None


def check_params(values: Sequence[Any]) -> None:
    """Refuse what the embedded engine's driver refuses too: text that is not Unicode,
    integers beyond 64 bits, values of no SQL type."""
    for value in values:
        if isinstance(value, bool) or value is None or isinstance(value, float | bytes):
            continue
        if isinstance(value, int):
            if not -_INT64 <= value < _INT64:
                raise InvalidInput(f"query parameter out of range: {value}")
        elif isinstance(value, str):
            _check_text(value, "query parameter")
        elif not isinstance(value, dt.date | dt.time | decimal.Decimal):
            raise InvalidInput(f"query parameter of unsupported type {type(value).__name__}")


def rewrite(
    sql: str,
    params: Any,
    default: str,
    planes: Mapping[str, str],
    tables: Mapping[str, set[str]],
) -> tuple[str, tuple[Any, ...]]:
    """The MySQL text of ``sql`` and its positional parameters.

    ``planes`` maps plane names to database names (the default plane included);
    ``tables`` maps database names to their tables, for unqualified names.
    """
    _check_text(sql, "query")
    try:
        statements = sqlglot.parse(sql, read="sqlite")
    except sqlglot.errors.ParseError as exc:
        raise InvalidInput(f"query failed: {str(exc).splitlines()[0]}") from None
    statements = [s for s in statements if s is not None]
    if len(statements) != 1:
        raise _refuse("give exactly one statement")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise _refuse(f"not a query: {tree.key.upper()}")  # type: ignore[union-attr]
    if tree.find(exp.Into, exp.Lock) is not None:
        raise _refuse("SELECT ... INTO and locking reads write or lock")
    for node in tree.find_all(exp.Anonymous):
        if str(node.name).lower() not in READ_ONLY_FUNCTIONS:
            raise _refuse(f"function {node.name}() is not known to only read")
    ctes = {str(cte.alias).lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        qualifier = str(table.db or "")
        name = str(table.name)
        if qualifier:
            if table.catalog:
                raise _refuse(f"unknown database in {table.sql()}")
            database = planes.get(qualifier.lower())
            if database is None:
                raise InvalidInput(
                    f"query failed: no plane named {qualifier!r}",
                    hint=f"qualify tables with {', '.join(sorted(planes))}",
                )
            table.set("db", exp.to_identifier(database, quoted=True))
        elif name.lower() not in ctes and name not in tables.get(default, set()):
            for database, names in tables.items():
                if database != default and name in names:
                    table.set("db", exp.to_identifier(database, quoted=True))
                    break
    ordered: list[Any] = []
    placeholders = list(tree.find_all(exp.Placeholder))
    named = [p for p in placeholders if p.this]
    if named and len(named) != len(placeholders):
        raise InvalidInput("query mixes ? and :name parameters")
    if named:
        if not isinstance(params, Mapping):
            raise InvalidInput("a query with :name parameters takes a mapping of params")
        for placeholder in named:
            key = str(placeholder.this)
            if key not in params:
                raise InvalidInput(f"query parameter :{key} has no value")
            ordered.append(params[key])
            placeholder.replace(exp.Placeholder())
    elif placeholders:
        if params is None or isinstance(params, Mapping):
            raise InvalidInput(f"query takes {len(placeholders)} positional parameter(s)")
        ordered = list(params)
        if len(ordered) != len(placeholders):
            raise InvalidInput(
                f"query takes {len(placeholders)} parameter(s), {len(ordered)} given"
            )
    check_params(ordered)
    return tree.sql(dialect="mysql"), tuple(ordered)


def _tables(pool: ServerPool, databases: Sequence[str]) -> dict[str, set[str]]:
    marks = ", ".join(["%s"] * len(databases))
    with pool.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT table_schema, table_name FROM information_schema.tables "
            f"WHERE table_schema IN ({marks})",
            tuple(databases),
        ).fetchall()
    found: dict[str, set[str]] = {d: set() for d in databases}
    for schema, name in rows:
        found.setdefault(str(schema), set()).add(str(name))
    return found


_KILL_AGAIN = 1.0
"""Seconds between two ``KILL QUERY`` of a statement past its timeout that still runs."""


def run_read_only(
    pool: ServerPool,
    default: str,
    attached: Mapping[str, str],
    sql: str,
    params: Any,
    timeout: float | None,
) -> list[dict[str, Any]]:
    """Rows of one read-only query in ``default`` with ``attached`` planes visible."""
    planes = {"ledger": default, **attached}
    for database in (default, *attached.values()):
        planes.setdefault(database.lower(), database)  # the database's own name works too
    tables = _tables(pool, sorted({default, *attached.values()}))
    text, ordered = rewrite(sql, params, default, planes, tables)
    started = time.monotonic()
    killed, finished = threading.Event(), threading.Event()
    with pool.connection(default) as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        timer: threading.Timer | None = None
        if timeout:
            thread_id = raw.thread_id()

            def stop() -> None:
                killed.set()
                # then the whole connection while the statement still runs: measured on a
                # loaded machine, Dolt 1.86.4 let a recursive CTE run on for minutes after
                # KILL QUERY (the client waited all along); KILL returns the client at once
                kill = "KILL QUERY"
                while not finished.is_set():
                    try:
                        with pool.engine.connect() as killer:
                            killer.exec_driver_sql(f"{kill} {int(thread_id)}")
                    except Exception:
                        return
                    kill = "KILL"
                    finished.wait(_KILL_AGAIN)

            timer = threading.Timer(timeout, stop)
        try:
            # Dolt stops a recursive CTE at 1,000 rounds by default: the timeout is the limit
            conn.exec_driver_sql(f"SET SESSION cte_max_recursion_depth = {_RECURSION}")
            conn.exec_driver_sql("START TRANSACTION READ ONLY")
            cursor = raw.cursor()
            if timer is not None:
                timer.start()
            cursor.execute(to_format(text) if ordered else text, ordered or None)
            columns = [d[0] for d in cursor.description or ()]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        except DoltplaneError:
            raise
        except Exception as exc:
            if killed.is_set():
                conn.invalidate()  # the kill can leave the connection mid-result
                raise QueryTimeout(timeout or 0, time.monotonic() - started) from None
            if errors.driver_error(exc) is None:
                raise
            _, message = errors.code_and_text(exc)
            if "read only" in message.lower() or "read-only" in message.lower():
                raise _refuse(message) from None
            raise InvalidInput(f"query failed: {message}") from None
        finally:
            finished.set()
            if timer is not None:
                timer.cancel()
            if not conn.invalidated:
                try:
                    conn.exec_driver_sql("ROLLBACK")
                except Exception:
                    conn.invalidate()
