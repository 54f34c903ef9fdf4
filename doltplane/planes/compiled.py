"""Plane statements compiled once from SQLAlchemy Core, run through the raw driver.

SQLAlchemy Core stays the one place plane SQL is written; the hottest reads reuse
its compiled text and parameter order instead of building and executing a
``select()`` per call (most of a point read's time before this).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

_DIALECT = sqlite.dialect(paramstyle="qmark")


@dataclasses.dataclass(frozen=True)
class Compiled:
    """Driver SQL, the names its positional parameters take in order, and its columns."""

    sql: str
    order: tuple[str, ...]
    columns: tuple[str, ...]

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(values[name] for name in self.order)

    def mappings(self, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in rows]


def compile_statement(statement: sa.Select[Any], **expanded: Sequence[Any]) -> Compiled:
    """``statement`` compiled for doltlite; ``expanded`` gives expanding parameters'
    sample values, whose count is baked into the SQL (``IN (?, ?, ...)``)."""
    if expanded:
        statement = statement.params(**expanded)
    compiled = statement.compile(
        dialect=_DIALECT, compile_kwargs={"render_postcompile": bool(expanded)}
    )
    return Compiled(
        str(compiled),
        tuple(compiled.positiontup or ()),
        tuple(column.name for column in statement.selected_columns),
    )


@functools.lru_cache(maxsize=64)
def _in_list(statement: sa.Select[Any], name: str, count: int) -> Compiled:
    return compile_statement(statement, **{name: [f"p{i}" for i in range(count)]})


def compile_in(statement: sa.Select[Any], name: str, count: int) -> Compiled:
    """``statement`` with its expanding parameter ``name`` rendered for ``count`` values;
    parameters then go in list order."""
    return _in_list(statement, name, count)


@dataclasses.dataclass(frozen=True)
class CompiledWrite:
    """A DML statement as driver SQL, with each positional parameter's name and the
    column type's bind processor (JSON to text, datetime to the stored text)."""

    sql: str
    order: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(
            values[name] if process is None else process(values[name])
            for name, process in zip(self.order, self.processors, strict=True)
        )


def compile_write(statement: sa.Insert | sa.Update, *keys: str) -> CompiledWrite:
    """``statement`` compiled for doltlite; ``keys`` name the insert's columns."""
    compiled = statement.compile(dialect=_DIALECT, column_keys=list(keys) or None)
    order = tuple(compiled.positiontup or ())
    processors = tuple(
        compiled.binds[name].type.dialect_impl(_DIALECT).bind_processor(_DIALECT) for name in order
    )
    return CompiledWrite(str(compiled), order, processors)


def padded(values: list[Any]) -> list[Any]:
    """``values`` repeated at the end up to a power of two, so that few IN sizes compile."""
    size = 1 << (len(values) - 1).bit_length()
    return values + [values[-1]] * (size - len(values))
