"""Docs that cannot drift: the CLI reference and the settings table are checked here."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import click

from doltplane.cli.main import cli
from doltplane.cli.reference import REGENERATE, command_paths, render
from doltplane.config import ENVIRONMENT_VARIABLES

DOCS = Path(__file__).parent.parent / "docs"
FIX = f"docs/cli.md is out of date; regenerate it: {REGENERATE}"


def documented_paths(text: str) -> set[str]:
    return set(re.findall(r"^## (doltplane(?: [\w-]+)*)$", text, flags=re.MULTILINE))


def reference_problems(root: click.Command, text: str) -> list[str]:
    """Commands missing from the reference, headings for commands that are gone, stale help."""
    found, documented = set(command_paths(root)), documented_paths(text)
    problems = [f"undocumented: {p}" for p in sorted(found - documented)]
    problems += [f"no such command: {p}" for p in sorted(documented - found)]
    if not problems and text != render(root):
        problems.append("help text differs")
    return problems


def test_cli_reference_is_current() -> None:
    text = (DOCS / "cli.md").read_text()
    assert reference_problems(cli, text) == [], FIX


def test_reference_walks_lazy_groups_to_every_subcommand() -> None:
    paths = command_paths(cli)
    for expected in ("doltplane ops set", "doltplane ledger merge", "doltplane federation pull"):
        assert expected in paths
    assert "doltplane federation review approve" in paths  # a group inside a lazy group
    assert len(paths) > 40


def test_a_new_command_makes_the_reference_stale() -> None:
    """The check itself can fail: add a subcommand to a lazily loaded group."""
    text = render(cli)
    ops = cli.get_command(click.Context(cli), "ops")
    assert isinstance(ops, click.Group)
    grown = copy.copy(ops)
    grown.commands = {**ops.commands, "teleport": click.Command("teleport", help="New.")}

    class Grown(type(cli)):  # type: ignore[misc]
        def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
            return grown if name == "ops" else super().get_command(ctx, name)

    root = Grown(name=cli.name, params=cli.params, callback=cli.callback, help=cli.help)
    assert reference_problems(root, text) == ["undocumented: doltplane ops teleport"]
    assert reference_problems(root, render(root)) == []


def test_a_removed_command_or_changed_help_is_noticed() -> None:
    text = render(cli)
    assert reference_problems(cli, text + "\n## doltplane ops teleport\n") == [
        "no such command: doltplane ops teleport"
    ]
    changed = text.replace("Insert or update one agent's state.", "Sets state.")
    assert changed != text and reference_problems(cli, changed) == ["help text differs"]


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [var for var in ENVIRONMENT_VARIABLES.values() if f"`{var}`" not in text]
    assert not missing


def test_lazy_command_table_matches_the_commands() -> None:
    from doltplane.cli.main import LAZY_COMMANDS

    for name in LAZY_COMMANDS:
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.name == name
