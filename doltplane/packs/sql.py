"""Column types and SQL pieces that mean the same on doltlite (SQLite) and Dolt (MySQL).

Pack migrations and views use these instead of dialect-specific SQL: times are
naive UTC with microseconds on both engines, JSON is ``sa.JSON``, and the two
time expressions views need compile to each dialect's own functions.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement

TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
"""A naive-UTC time with microseconds (MySQL's DATETIME keeps none unless told)."""

JSON = sa.JSON()
KEY = 64
"""Length of key and indexed text columns: MySQL indexes only sized VARCHARs."""


def key(length: int = KEY) -> sa.String:
    return sa.String(length)


class HoursAgo(ColumnElement[Any]):
    """The database clock (UTC) ``hours`` ago, as the stored time format compares."""

    inherit_cache = True
    type = TIME

    def __init__(self, hours: float) -> None:
        self.hours = float(hours)


@compiles(HoursAgo, "sqlite")
def _hours_ago_sqlite(element: HoursAgo, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLAlchemy stores SQLite times as 'YYYY-MM-DD HH:MM:SS.ffffff': strftime keeps that form
    return f"strftime('%Y-%m-%d %H:%M:%f', 'now', '-{element.hours:g} hours')"


@compiles(HoursAgo)
def _hours_ago_mysql(element: HoursAgo, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(UTC_TIMESTAMP(6) - INTERVAL {int(element.hours * 3600)} SECOND)"


class SecondsBetween(ColumnElement[Any]):
    """``end - start`` in seconds (a float)."""

    inherit_cache = True
    type = sa.Float()

    def __init__(self, start: ColumnElement[Any], end: ColumnElement[Any]) -> None:
        self.start = start
        self.end = end


@compiles(SecondsBetween, "sqlite")
def _seconds_sqlite(element: SecondsBetween, compiler: SQLCompiler, **kw: Any) -> str:
    end, start = compiler.process(element.end, **kw), compiler.process(element.start, **kw)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


@compiles(SecondsBetween)
def _seconds_mysql(element: SecondsBetween, compiler: SQLCompiler, **kw: Any) -> str:
    end, start = compiler.process(element.end, **kw), compiler.process(element.start, **kw)
    return f"(TIMESTAMPDIFF(MICROSECOND, {start}, {end}) / 1000000.0)"


def create_view(bind: sa.Connection, name: str, select: sa.Select[Any]) -> None:
    """``CREATE VIEW name AS select``, compiled for the connection's dialect."""
    sql = select.compile(dialect=bind.dialect, compile_kwargs={"literal_binds": True})
    quoted = bind.dialect.identifier_preparer.quote(name)
    bind.exec_driver_sql(f"CREATE VIEW {quoted} AS {sql}")


def drop_view(bind: sa.Connection, name: str) -> None:
    quoted = bind.dialect.identifier_preparer.quote(name)
    bind.exec_driver_sql(f"DROP VIEW IF EXISTS {quoted}")
