"""The CLI reference (docs/cli.md), generated from every command's ``--help``.

Regenerate it after adding or changing a command or option::

    python -m doltplane.cli.reference > docs/cli.md
"""

from __future__ import annotations

from collections.abc import Iterator

import click

from doltplane.errors import DoltplaneError

REGENERATE = "python -m doltplane.cli.reference > docs/cli.md"

HEADER = f"""# Command reference

Generated from `--help`; do not edit by hand. After adding or changing a
command or option, regenerate it with

    {REGENERATE}

(tests/test_docs.py fails when this file and the commands disagree).

## Data directory

Every command except `init` (and `demo`, `federation init`, `federation clone`,
which build their own) refuses a data directory that does not exist or holds
no doltplane databases, with exit code 4 and a hint to run `doltplane init`:
a mistyped `--data-dir` never creates an empty database. From Python,
`doltplane.connect()` still creates the directory on first use
(`connect(..., create=False)` refuses like the CLI).

## Exit codes

Every doltplane error prints one line on stderr (`error: ...`, with what to
do next in brackets) and exits with its class's code; `--traceback` shows
the full exception instead.

| code | error class |
|---|---|
"""


def walk(
    command: click.Command,
    path: tuple[str, ...] = ("doltplane",),
    parent: click.Context | None = None,
) -> Iterator[tuple[tuple[str, ...], click.Command, click.Context]]:
    """Every command and subcommand, depth first, each with a context for its help.

    Groups are asked through ``list_commands``/``get_command`` (not ``.commands``), so
    lazily loaded subcommands are found too.
    """
    context = click.Context(
        command,
        parent=parent,
        info_name=path[-1],
        terminal_width=88,
        max_content_width=88,
    )
    yield path, command, context
    if isinstance(command, click.Group):
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            if sub is not None and not sub.hidden:
                yield from walk(sub, (*path, name), context)


def command_paths(root: click.Command) -> list[str]:
    """``doltplane``, ``doltplane ops``, ``doltplane ops set``, ... for every command."""
    return [" ".join(path) for path, _, _ in walk(root)]


def _error_classes() -> list[type[DoltplaneError]]:
    seen: list[type[DoltplaneError]] = []
    pending: list[type[DoltplaneError]] = [DoltplaneError]
    while pending:
        cls = pending.pop(0)
        seen.append(cls)
        pending.extend(cls.__subclasses__())
    return seen


def render(root: click.Command) -> str:
    codes: dict[int, list[str]] = {2: ["usage errors (click)"]}
    for cls in _error_classes():
        codes.setdefault(cls.exit_code, []).append(cls.__name__)
    lines = [HEADER.rstrip("\n")]
    lines += [f"| {code} | {', '.join(names)} |" for code, names in sorted(codes.items())]
    for path, command, context in walk(root):
        lines += ["", f"## {' '.join(path)}", "", "```", command.get_help(context), "```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    from doltplane.cli.main import cli

    print(render(cli), end="")


if __name__ == "__main__":
    main()
