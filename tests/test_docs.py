"""Docs that cannot drift: the CLI reference and the settings table are checked here."""

from __future__ import annotations

from pathlib import Path

from doltplane.cli.main import cli
from doltplane.cli.reference import command_paths, render
from doltplane.config import ENVIRONMENT_VARIABLES

DOCS = Path(__file__).parent.parent / "docs"


def test_cli_reference_is_current() -> None:
    text = (DOCS / "cli.md").read_text()
    assert text == render(cli), "regenerate: python -m doltplane.cli.reference > docs/cli.md"


def test_every_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    missing = [path for path in command_paths(cli) if f"## {path}\n" not in text]
    assert not missing


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [var for var in ENVIRONMENT_VARIABLES.values() if f"`{var}`" not in text]
    assert not missing


def test_lazy_command_table_matches_the_commands() -> None:
    from doltplane.cli.main import LAZY_COMMANDS

    for name in LAZY_COMMANDS:
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.name == name
