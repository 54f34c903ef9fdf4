"""The CLI reference (docs/cli.md), generated from every command's ``--help``.

python -m doltplane.cli.reference > docs/cli.md
"""

from __future__ import annotations

from collections.abc import Iterator

import click

from doltplane.errors import DoltplaneError

HEADER = """# Command reference

Generated from `--help` by `python -m doltplane.cli.reference > docs/cli.md`;
a test fails when this file and the commands disagree.

## Exit codes

Every doltplane error prints one line on stderr (`error: ...`, with what to
do next in brackets) and exits with its class's code; `--traceback` shows
the full exception instead.

| code | error class |
|---|---|
"""


def _walk(command: click.Command, path: list[str]) -> Iterator[tuple[list[str], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from _walk(command.commands[name], [*path, name])


def _error_classes() -> list[type[DoltplaneError]]:
    seen: list[type[DoltplaneError]] = []
    pending: list[type[DoltplaneError]] = [DoltplaneError]
    while pending:
        cls = pending.pop(0)
        seen.append(cls)
        pending.extend(cls.__subclasses__())
    return seen


def command_paths(root: click.Command) -> list[str]:
    return [" ".join(path) for path, _ in _walk(root, ["doltplane"])]


def render(root: click.Command) -> str:
    codes: dict[int, list[str]] = {2: ["usage errors (click)"]}
    for cls in _error_classes():
        codes.setdefault(cls.exit_code, []).append(cls.__name__)
    lines = [HEADER.rstrip("\n")]
    lines += [f"| {code} | {', '.join(names)} |" for code, names in sorted(codes.items())]
    for path, command in _walk(root, ["doltplane"]):
        context = click.Context(
            command, info_name=" ".join(path), terminal_width=88, max_content_width=88
        )
        lines += ["", f"## {' '.join(path)}", "", "```", command.get_help(context), "```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from doltplane.cli.main import cli

    print(render(cli), end="")
