"""Retention of pack tables: each rule deletes exactly its expired rows."""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING

import sqlalchemy as sa

from doltplane.errors import InvalidInput
from doltplane.packs import rows
from doltplane.packs.model import Pack, Retention
from doltplane.store.base import Engine
from doltplane.validation import check_optional_datetime

if TYPE_CHECKING:
    from doltplane.client import DataPlane
    from doltplane.packs.service import RetentionResult


def _expired(pack: Pack, rule: Retention, cutoff: dt.datetime) -> sa.ColumnElement[bool]:
    table = pack.metadata.tables[rule.table]
    clause = table.c[rule.column] < cutoff
    if rule.states:
        clause = sa.and_(clause, table.c[rule.state_column].in_(rule.states))
    return clause


def _message(what: str, deleted: int) -> str | None:
    return f"{what} deleted {deleted} row(s)" if deleted else None


def apply_rules(
    dp: DataPlane, engine: Engine, pack: Pack, now: dt.datetime, dry_run: bool
) -> list[RetentionResult]:
    from doltplane.packs.service import RetentionResult

    moment = check_optional_datetime(now, "now")
    assert moment is not None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    results: list[RetentionResult] = []
    for rule in pack.retention:
        try:
            cutoff = moment - dt.timedelta(days=rule.days)
        except OverflowError:
            raise InvalidInput(
                f"{rule.table}: retention of {rule.days:g} days reaches before year 1"
            ) from None
        table = pack.metadata.tables[rule.table]
        clause = _expired(pack, rule, cutoff)
        if dry_run:
            with engine.read() as conn:
                count = int(
                    conn.execute(
                        sa.select(sa.func.count()).select_from(table).where(clause)
                    ).scalar_one()
                )
        else:

            def delete(
                conn: sa.Connection,
                table: sa.Table = table,
                clause: sa.ColumnElement[bool] = clause,
            ) -> int:
                return int(conn.execute(table.delete().where(clause)).rowcount or 0)

            count = engine.write(
                rows.guarded(rule.table, delete),
                message=functools.partial(_message, f"pack {pack.name}: retention on {rule.table}"),
            )
        results.append(RetentionResult(pack.name, rule.table, cutoff, rule.states, count, dry_run))
    del dp
    return results
