"""``doltplane table NAME``: read any table of an installed pack, now or in the past."""

from __future__ import annotations

import json
from typing import Any

import click

from doltplane.cli.common import emit, get_dp, json_option
from doltplane.errors import InvalidInput


def _key(table: Any, text: str) -> Any:
    """A key on the command line: a JSON object for a composite key, else the value itself."""
    from doltplane.packs.rows import from_text

    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"key is not valid JSON: {exc}") from None
    first = next(iter(table.table.primary_key.columns))
    return from_text(table.table, first.name, text)


def _where(table: Any, pairs: tuple[str, ...]) -> dict[str, Any]:
    from doltplane.packs.rows import from_text

    filters: dict[str, Any] = {}
    for pair in pairs:
        column, sep, value = pair.partition("=")
        if not sep or not column:
            raise InvalidInput(f"--where takes COLUMN=VALUE, not {pair!r}")
        filters[column] = from_text(table.table, column, value)
    return filters


_WHERE = click.option(
    "--where",
    "where",
    multiple=True,
    metavar="COLUMN=VALUE",
    help="Keep rows where COLUMN equals VALUE.",
)
_LIMIT = click.option("--limit", type=int, default=None, help="At most this many rows.")


@click.group()
@click.argument("name")
@click.pass_context
def table(ctx: click.Context, name: str) -> None:
    """Rows of one pack table: list, get, history, as-of, diff."""
    ctx.meta["doltplane.table"] = name


def _table(ctx: click.Context) -> Any:
    return get_dp().table(ctx.meta["doltplane.table"])


@table.command("list")
@_WHERE
@_LIMIT
@json_option
@click.pass_context
def list_rows(ctx: click.Context, where: tuple[str, ...], limit: int | None, as_json: bool) -> None:
    """Rows in key order, optionally filtered."""
    table = _table(ctx)
    emit(table.list(_where(table, where), limit=limit), as_json)


@table.command()
@click.argument("key")
@json_option
@click.pass_context
def get(ctx: click.Context, key: str, as_json: bool) -> None:
    """One row by key (a JSON object for a composite key)."""
    table = _table(ctx)
    emit(table.get(_key(table, key)), as_json)


@table.command()
@click.argument("key")
@json_option
@click.pass_context
def history(ctx: click.Context, key: str, as_json: bool) -> None:
    """Every committed version of one row, newest first."""
    table = _table(ctx)
    versions = table.history(_key(table, key))
    if as_json:
        emit(versions, True)
        return
    emit(
        [{"commit": v.commit, "date": v.date, "author": v.author, **v.row} for v in versions], False
    )


@table.command("as-of")
@click.argument("when")
@_WHERE
@_LIMIT
@json_option
@click.pass_context
def as_of(
    ctx: click.Context, when: str, where: tuple[str, ...], limit: int | None, as_json: bool
) -> None:
    """Rows as they stood at WHEN (ISO time, commit, tag, branch or HEAD~n)."""
    table = _table(ctx)
    emit(table.as_of(when).list(_where(table, where), limit=limit), as_json)


@table.command()
@click.argument("from_rev", metavar="FROM")
@click.argument("to_rev", metavar="TO", default="main")
@json_option
@click.pass_context
def diff(ctx: click.Context, from_rev: str, to_rev: str, as_json: bool) -> None:
    """Rows added, modified or removed between FROM and TO (default main)."""
    changes = _table(ctx).diff(from_rev, to_rev)
    if as_json:
        emit(changes, True)
        return
    emit(
        [
            {"change": c.diff_type, "key": c.key, "before": c.before, "after": c.after}
            for c in changes
        ],
        False,
        columns=["change", "key", "before", "after"],
    )
