"""``dp.table(name)``: reads, guarded upserts, history, AS OF and diff of one pack table."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from doltplane.errors import (
    ForeignKeyViolation,
    IllegalTransition,
    InvalidInput,
    NotFound,
    VersionConflict,
)
from doltplane.packs import rows
from doltplane.packs.installed import idempotency_table
from doltplane.packs.model import Pack, WriteEvent
from doltplane.store.base import Engine
from doltplane.validation import check_id

if TYPE_CHECKING:
    from doltplane.client import DataPlane


@dataclasses.dataclass(frozen=True)
class RowVersion:
    """One committed version of a row (history is newest first)."""

    commit: str
    date: dt.datetime
    author: str
    row: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class RowChange:
    """One row's change between two revisions: ``added``, ``modified`` or ``removed``."""

    diff_type: str
    key: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _check_filters(table: sa.Table, filters: Mapping[str, Any] | None) -> dict[str, Any]:
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise InvalidInput(f"{table.name}: filters must be a mapping of column to value")
    unknown = [str(k) for k in filters if k not in table.c]
    if unknown:
        raise InvalidInput(f"{table.name}: no column {', '.join(unknown)}")
    return {
        name: [rows.checked_value(table, table.c[name], v) for v in value]
        if isinstance(value, list | tuple)
        else rows.checked_value(table, table.c[name], value)
        for name, value in filters.items()
    }


class TableReader:
    """Reads of one pack table at one revision (None: the live state)."""

    def __init__(self, engine: Engine, table: sa.Table, revision: str | None) -> None:
        self._engine = engine
        self.table = table
        self.revision = revision

    @property
    def name(self) -> str:
        return self.table.name

    def _select(self, where: sa.ColumnElement[bool] | None = None) -> list[dict[str, Any]]:
        query = sa.select(self.table)
        if where is not None:
            query = query.where(where)
        query = query.order_by(*self.table.primary_key.columns)
        with self._engine.read(self.revision) as conn:
            return [rows.decode(self.table, r) for r in conn.execute(query).mappings()]

    def get(self, key: object) -> dict[str, Any]:
        """One row by primary key (a value, or a dict for a composite key); NotFound if none."""
        wanted = rows.key_of(self.table, key)
        found = self._select(rows.where_key(self.table, wanted))
        if not found:
            raise NotFound(f"{self.name} row", json.dumps(wanted, default=str))
        return found[0]

    def get_many(self, keys: Iterable[object]) -> list[dict[str, Any]]:
        """The rows of the given keys that exist, in the order asked."""
        wanted = [rows.key_of(self.table, k) for k in keys]
        if not wanted:
            return []
        found = self._select(sa.or_(*(rows.where_key(self.table, k) for k in wanted)))
        names = [c.name for c in self.table.primary_key.columns]
        by_key = {tuple(r[n] for n in names): r for r in found}
        return [by_key[t] for k in wanted if (t := tuple(k[n] for n in names)) in by_key]

    def list(
        self, filters: Mapping[str, Any] | None = None, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Rows whose columns equal ``filters`` (a list value means any of them), by key."""
        checked = _check_filters(self.table, filters)
        clauses = [
            self.table.c[k].in_(v) if isinstance(v, list | tuple) else self.table.c[k] == v
            for k, v in checked.items()
        ]
        query = sa.select(self.table).where(*clauses).order_by(*self.table.primary_key.columns)
        if limit is not None:
            if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
                raise InvalidInput(f"limit must be a positive integer, not {limit!r}")
            query = query.limit(limit)
        with self._engine.read(self.revision) as conn:
            return [rows.decode(self.table, r) for r in conn.execute(query).mappings()]


class PackTable(TableReader):
    """One pack table's live state, writes and history (``dp.table(name)``)."""

    def __init__(self, dp: DataPlane, pack: Pack, engine: Engine, table: sa.Table) -> None:
        super().__init__(engine, table, None)
        self._dp = dp
        self.pack = pack

    def __repr__(self) -> str:
        return f"<PackTable {self.pack.name}.{self.name}>"

    # --- writes --------------------------------------------------------------
    def put(
        self,
        row: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
        author: str | None = None,
    ) -> dict[str, Any]:
        """Insert or update one row by primary key; the row as stored.

        With a ``version`` column the write is compare-and-set: an update must
        carry the version it read (VersionConflict when stale) and stores the
        next one. ``created_at``, ``updated_at`` and ``version`` are set when
        the row leaves them out. With ``idempotency_key`` the write applies once
        per (scope, key); a replay returns the first result and writes nothing.
        """
        values = self._checked(row)
        actor = "doltplane" if author is None else check_id(author, "author")
        if idempotency_key is not None and (
            not isinstance(idempotency_key, str) or not 0 < len(idempotency_key) <= 128
        ):
            raise InvalidInput("idempotency_key must be text of 1-128 characters")

        def apply(conn: sa.Connection) -> tuple[dict[str, Any], bool]:
            scope = self._scope(values)
            if idempotency_key is not None:
                earlier = conn.execute(
                    sa.select(idempotency_table.c.result).where(
                        idempotency_table.c.scope == scope,
                        idempotency_table.c.idem_key == idempotency_key,
                    )
                ).scalar()
                if earlier is not None:
                    stored = json.loads(earlier) if isinstance(earlier, str) else earlier
                    return rows.from_json(self.table, stored), False
            result = self._write(conn, values, actor)
            if idempotency_key is not None:
                conn.execute(
                    idempotency_table.insert().values(
                        scope=scope,
                        idem_key=idempotency_key,
                        table_name=self.name,
                        result=json.loads(json.dumps(result, default=str)),
                        created_at=rows.utc_now(),
                    )
                )
            return result, True

        ledger = self.pack.plane == "ledger"

        def message(outcome: tuple[dict[str, Any], bool]) -> str | None:
            if not (ledger and outcome[1]):
                return None
            return f"{self.pack.name}: put {self.name} {self._key_text(outcome[0])}"

        result, wrote = self._engine.write(
            rows.guarded(self.name, apply),
            message=message,
            author=None if author is None else f"{actor} <{actor}@doltplane>",
        )
        if wrote and not ledger:
            self._dp.ops._wrote(1)  # ops writes are snapshotted at the plane's cadence
        return result

    def _checked(self, row: object) -> dict[str, Any]:
        if not isinstance(row, Mapping) or not row:
            raise InvalidInput(f"{self.name}: a row must be a non-empty mapping")
        unknown = [str(k) for k in row if k not in self.table.c]
        if unknown:
            raise InvalidInput(
                f"{self.name}: no column {', '.join(unknown)}",
                hint=f"columns: {', '.join(self.table.c.keys())}",
            )
        values = {
            name: rows.checked_value(self.table, self.table.c[name], value)
            for name, value in row.items()
        }
        primary = list(self.table.primary_key.columns)
        if len(primary) == 1 and primary[0].name not in values:
            if not isinstance(primary[0].type, sa.String):
                raise InvalidInput(f"{self.name}: the row needs its key {primary[0].name}")
            values[primary[0].name] = rows.new_key()
        for column in primary:
            if values.get(column.name) is None:
                raise InvalidInput(f"{self.name}: the row needs its key {column.name}")
        return values

    def _scope(self, values: Mapping[str, Any]) -> str:
        columns = self.pack.idempotency.get(self.name, ())
        parts = [self.name, *(f"{c}={values.get(c)}" for c in columns)]
        return "/".join(parts)[:255]

    def _key_text(self, row: Mapping[str, Any]) -> str:
        return ",".join(str(row.get(c.name)) for c in self.table.primary_key.columns)

    def _write(self, conn: sa.Connection, values: dict[str, Any], actor: str) -> dict[str, Any]:
        table = self.table
        values = dict(values)  # the engine may run this again after a busy retry
        key = {c.name: values[c.name] for c in table.primary_key.columns}
        found = conn.execute(sa.select(table).where(rows.where_key(table, key))).mappings().first()
        existing = None if found is None else rows.decode(table, found)
        now = rows.utc_now()
        if self.pack.versioned(self.name):
            given = values.get("version")
            if existing is None:
                if given not in (None, 0):
                    raise VersionConflict(self._key_text(key), int(given), None)
                values["version"] = 1
            else:
                if given is None:
                    raise InvalidInput(
                        f"{self.name}: an update must carry the version it read",
                        hint=f"get the row, then put it with version={existing['version']}",
                    )
                if int(given) != existing["version"]:
                    raise VersionConflict(self._key_text(key), int(given), existing["version"])
                values["version"] = existing["version"] + 1
        if "created_at" in table.c:
            if existing is not None:
                values.pop("created_at", None)
            elif values.get("created_at") is None:
                values["created_at"] = now
        if "updated_at" in table.c and "updated_at" not in values:
            values["updated_at"] = now
        machine = self.pack.machine(self.name)
        if machine is not None and machine.column in values:
            old = None if existing is None else existing.get(machine.column)
            new = values[machine.column]
            if not machine.allows(old, new):
                raise IllegalTransition(self.name, machine.column, old, str(new))
        self._check_references(conn, values)
        rows.upsert(conn, table, key, values)
        stored = conn.execute(sa.select(table).where(rows.where_key(table, key))).mappings().one()
        after = rows.decode(table, stored)
        hook = self.pack.after_write.get(self.name)
        if hook is not None:
            hook(conn, WriteEvent(self.name, existing, after, actor))
        return after

    def _check_references(self, conn: sa.Connection, values: Mapping[str, Any]) -> None:
        """Foreign keys, checked here because doltlite connections do not enforce them."""
        for constraint in self.table.foreign_key_constraints:
            local = [c.name for c in constraint.columns]
            if not all(values.get(c) is not None for c in local):
                continue
            target = constraint.referred_table
            match = sa.and_(
                *(element.column == values[element.parent.name] for element in constraint.elements)
            )
            if conn.execute(sa.select(sa.literal(1)).select_from(target).where(match)).first():
                continue
            shown = ", ".join(f"{c}={values[c]!r}" for c in local)
            raise ForeignKeyViolation(
                self.name,
                f"{shown} names no row of {target.name}",
                hint="nothing was written; create the referenced row first",
            )

    # --- history ---------------------------------------------------------------
    def history(self, key: object) -> list[RowVersion]:
        """Every committed version of one row, newest first (NotFound when none is committed)."""
        wanted = rows.key_of(self.table, key)
        versions = self._engine.row_history(self.name, wanted)
        distinct: list[RowVersion] = []
        for v in versions:  # the row is listed at every commit: keep where each version appeared
            row = rows.decode(self.table, v.row, raw=True)
            if distinct and distinct[-1].row == row:
                distinct[-1] = RowVersion(v.commit, v.date, v.author, row)
            else:
                distinct.append(RowVersion(v.commit, v.date, v.author, row))
        if not distinct:
            raise NotFound(
                f"{self.name} history",
                json.dumps(wanted, default=str),
                hint="on the ops plane a row appears in history after the next snapshot",
            )
        return distinct

    def as_of(self, when: dt.datetime | str) -> TableReader:
        """The table at a past moment: a datetime, ISO time, commit, tag, branch or HEAD~n."""
        return TableReader(self._engine, self.table, _revision(self._engine, when))

    def diff(self, a: dt.datetime | str, b: dt.datetime | str = "main") -> list[RowChange]:
        """The rows that differ between two moments or revisions."""
        old, new = _revision(self._engine, a), _revision(self._engine, b)
        return [
            RowChange(
                c.diff_type,
                c.key,
                None if c.before is None else rows.decode(self.table, c.before, raw=True),
                None if c.after is None else rows.decode(self.table, c.after, raw=True),
            )
            for c in self._engine.diff(self.name, old, new)
        ]


def _revision(engine: Engine, when: object) -> str:
    from doltplane.validation import parse_when

    moment = parse_when(when)
    if isinstance(moment, dt.datetime):
        return engine.resolve_time(moment)
    return engine.resolve_revision(moment)


__all__ = ["PackTable", "RowChange", "RowVersion", "TableReader"]
