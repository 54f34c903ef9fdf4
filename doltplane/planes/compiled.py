"""Plane statements compiled once from SQLAlchemy Core, run through the raw driver.

SQLAlchemy Core stays the one place plane SQL is written; the hottest reads reuse
its compiled text and parameter order instead of building and executing a
``select()`` per call (most of a point read's time before this). SQLAlchemy is
imported only to compile: a ``Compiled`` loaded from a generated module
(``ops_sql.py``) runs without it.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.engine.interfaces import Dialect


@functools.cache
def _dialect() -> Dialect:
    from sqlalchemy.dialects import sqlite

    return sqlite.dialect(paramstyle="qmark")


@dataclasses.dataclass(frozen=True)
class Compiled:
    """Driver SQL, the names its positional parameters take in order, and its columns."""

    sql: str
    order: tuple[str, ...]
    columns: tuple[str, ...]
    defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """Values of the parameters the statement fixed itself (e.g. ``OFFSET 0``)."""

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(values[name] if name in values else self.defaults[name] for name in self.order)

    def mappings(self, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in rows]


def compile_statement(statement: sa.Select[Any], **expanded: Sequence[Any]) -> Compiled:
    """``statement`` compiled for doltlite; ``expanded`` gives expanding parameters'
    sample values, whose count is baked into the SQL (``IN (?, ?, ...)``)."""
    if expanded:
        statement = statement.params(**expanded)
    compiled = statement.compile(
        dialect=_dialect(), compile_kwargs={"render_postcompile": bool(expanded)}
    )
    order = tuple(compiled.positiontup or ())
    # expanded IN parameters (``ids_1``...) have no bind of their own: the caller gives them
    fixed = {name: getattr(compiled.binds.get(name), "value", None) for name in order}
    return Compiled(
        str(compiled),
        order,
        tuple(column.name for column in statement.selected_columns),
        {name: value for name, value in fixed.items() if value is not None},
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

    def stored(self, name: str, value: Any) -> Any:
        """``value`` of the parameter ``name`` as the statement stores it."""
        process = self.processors[self.order.index(name)]
        return value if process is None else process(value)

    def picker(self, names: Sequence[str]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
        """Parameters in the statement's order taken from a tuple of values named ``names``,
        for batches (one C-level pick per row); each value already in stored form."""
        positions = [names.index(name) for name in self.order]
        if len(positions) == 1:
            only = positions[0]
            return lambda row: (row[only],)
        return operator.itemgetter(*positions)


def compile_write(
    statement: sa.Insert | sa.Update, *keys: str, stored: tuple[str, ...] = ()
) -> CompiledWrite:
    """``statement`` compiled for doltlite; ``keys`` name the insert's columns; the
    parameters named in ``stored`` come already in stored form (JSON text, say)."""
    dialect = _dialect()
    compiled = statement.compile(dialect=dialect, column_keys=list(keys) or None)
    order = tuple(compiled.positiontup or ())
    processors = tuple(
        None
        if name in stored
        else compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        for name in order
    )
    return CompiledWrite(str(compiled), order, processors)


def padded(values: list[Any]) -> list[Any]:
    """``values`` repeated at the end up to a power of two, so that few IN sizes compile."""
    size = 1 << (len(values) - 1).bit_length()
    return values + [values[-1]] * (size - len(values))
