"""What every CLI module shares: the client from ``ctx.obj`` and output rendering."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from doltplane.cli.jsonable import to_jsonable as to_jsonable  # re-exported

if TYPE_CHECKING:
    from doltplane.client import DataPlane

F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass
class CliState:
    """Held in ``ctx.obj``: settings from the root options, the client made on first use."""

    overrides: dict[str, Any]
    creating_commands: frozenset[tuple[str, ...]] = frozenset()
    """Command paths (below the root) that may create the data directory, e.g. ``("init",)``."""
    traceback: bool = False
    error_reported: bool = False
    """Set once an error was printed: a later failure while closing then stays silent."""
    _dp: DataPlane | None = None

    def dp(self, command_path: tuple[str, ...] = ()) -> DataPlane:
        if self._dp is None:
            from doltplane.client import connect

            create = command_path in self.creating_commands
            self._dp = connect(create=create, **self.overrides)
        return self._dp

    def close(self) -> None:
        """Close the client; a doltplane error here (the last snapshot failed) is one line
        on stderr and the error's exit code, like any other command error."""
        from doltplane.errors import DoltplaneError

        dp, self._dp = self._dp, None
        if dp is None:
            return
        try:
            dp.close()
        except DoltplaneError as exc:
            if self.traceback:
                raise
            if self.error_reported:
                return
            self.error_reported = True
            click.echo(f"error: {exc.one_line()}", err=True)
            raise click.exceptions.Exit(exc.exit_code) from None


def command_path(ctx: click.Context) -> tuple[str, ...]:
    """The names of the invoked command and its groups, without the root's program name."""
    names: list[str] = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return tuple(reversed(names))


def get_dp(ctx: click.Context | None = None) -> DataPlane:
    """The DataPlane for this invocation (opened lazily, closed when the CLI exits).

    Only the commands in ``CliState.creating_commands`` may create the data directory;
    every other command refuses one that is missing or holds no doltplane data.
    """
    ctx = ctx or click.get_current_context()
    state = ctx.find_object(CliState)
    assert state is not None, "the root group sets ctx.obj"
    return state.dp(command_path(ctx))


def json_option(func: F) -> F:
    """``--json``: machine-readable output for agents."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        func
    )


def echo_json(value: Any) -> None:
    click.echo(json.dumps(to_jsonable(value), indent=2, sort_keys=False, default=str))


def _fields(row: Any) -> Mapping[str, Any]:
    if dataclasses.is_dataclass(row) and not isinstance(row, type):
        return {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}
    if isinstance(row, Mapping):
        return row
    raise TypeError(f"cannot show {type(row).__name__} as a table row")


def _cell(value: Any) -> str:
    """Compact text for people: times to the second, hashes shortened, JSON on one line."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, str) and len(value) == 40 and all(c in "0123456789abcdef" for c in value):
        return value[:12]
    if isinstance(value, float):
        return f"{value:,.1f}"
    value = to_jsonable(value)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)


def echo_table(
    rows: Iterable[Any],
    columns: Sequence[str] | None = None,
    *,
    title: str | None = None,
    empty: str = "(nothing)",
) -> None:
    """A readable table for people (rich), with the given columns in order."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    mappings = [_fields(r) for r in rows]
    if not mappings:
        click.echo(empty)
        return
    columns = list(columns or mappings[0].keys())
    # cells are Text, never markup: "[/]" or "[bold]" in an agent's title is shown as written
    table = Table(
        title=None if title is None else Text(title), show_lines=False, header_style="bold"
    )
    for n, column in enumerate(columns):
        table.add_column(column, overflow="fold", no_wrap=n == 0)
    for row in mappings:
        table.add_row(*(Text(_cell(row.get(c))) for c in columns))
    Console(soft_wrap=False).print(table)


def emit(
    value: Any,
    as_json: bool,
    *,
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> None:
    """``--json`` prints the value; otherwise a table of its rows (or its fields)."""
    if as_json:
        echo_json(value)
        return
    if isinstance(value, list | tuple):
        echo_table(value, columns, title=title)
        return
    fields = _fields(value)
    rows = [{"field": k, "value": v} for k, v in fields.items()]
    echo_table(rows, ["field", "value"], title=title)


def read_resolution(strategy: str | None, rows_file: str | None) -> Any:
    """``--strategy ours|theirs`` or ``--rows FILE`` (a JSON object {table: [final rows]})."""
    if (strategy is None) == (rows_file is None):
        raise click.UsageError("give exactly one of --strategy or --rows")
    if rows_file is None:
        return strategy
    from doltplane.errors import InvalidDocument

    try:
        rows = json.loads(Path(rows_file).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidDocument(f"{rows_file} is not valid JSON: {exc}") from None
    if not isinstance(rows, dict):
        raise InvalidDocument(f"{rows_file} must hold an object {{table: [rows]}}")
    return rows


def merge_output(result: Any, as_json: bool, *, ours: str, theirs: str, hint: str) -> None:
    """Print a merge result (conflicts as a table whose sides say whose they are); a
    conflict then exits with MergeConflict's code, so ``merge && deploy`` stops."""
    if as_json:
        echo_json(result)
    else:
        commit = f" ({result.commit})" if result.commit else ""
        click.echo(f"{result.status.value}: {result.source} -> {result.target}{commit}")
        if result.conflicts:
            conflict_table(result.conflicts, ours=ours, theirs=theirs)
    if not result.ok:
        from doltplane.errors import MergeConflict

        if not as_json:
            click.echo(f"resolve with {hint}", err=True)
        click.get_current_context().exit(MergeConflict.exit_code)


def conflict_table(conflicts: Iterable[Any], *, ours: str, theirs: str) -> None:
    """Conflicting rows as a table for people, each side's column named for whose it is."""
    rows = [
        {"table": c.table, "key": c.key, "base": c.base, ours: c.ours, theirs: c.theirs}
        for c in conflicts
    ]
    emit(rows, False, title="conflicts")
