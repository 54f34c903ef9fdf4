"""The root ``doltplane`` group: global options, error mapping, plane subcommands."""

from __future__ import annotations

import importlib
from typing import Any

import click

from doltplane.cli.common import CliState
from doltplane.errors import DoltplaneError

# Subcommands load on first use: an agent running `doltplane ops get` should not pay
# for importing the federation plane (jsonschema, YAML) or the ledger CLI.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("doltplane.cli.admin", "init"),
    "migrate": ("doltplane.cli.admin", "migrate"),
    "status": ("doltplane.cli.status", "status"),
    "serve": ("doltplane.cli.serve", "serve"),
    "demo": ("doltplane.cli.admin", "demo"),
    "ops": ("doltplane.cli.ops", "ops"),
    "ledger": ("doltplane.cli.ledger", "ledger"),
    "export": ("doltplane.cli.ledger", "export_command"),
    "import": ("doltplane.cli.ledger", "import_command"),
    "verify": ("doltplane.cli.ledger", "verify_command"),
    "query": ("doltplane.cli.ledger", "query_command"),
    "federation": ("doltplane.cli.federation", "federation"),
    "backup": ("doltplane.cli.backup", "backup"),
    "remote": ("doltplane.cli.backup", "remote"),
    "timeline": ("doltplane.cli.timeline", "timeline"),
    "ui": ("doltplane.cli.ui", "ui"),
    "alerts": ("doltplane.cli.alerts", "alerts"),
    "doctor": ("doltplane.cli.doctor", "doctor"),
    "pack": ("doltplane.cli.pack", "pack"),
    "table": ("doltplane.cli.table", "table"),
    "server": ("doltplane.cli.server", "server"),
}


# The only commands that may create a data directory; every other command refuses a
# missing or empty one, so a mistyped --data-dir is an error rather than a new database.
# (demo and `federation init --bare` build their own folders and never open this one.)
CREATING_COMMANDS: frozenset[tuple[str, ...]] = frozenset(
    {("init",), ("federation", "init"), ("federation", "clone")}
)


class DoltplaneGroup(click.Group):
    """Loads subcommands lazily, and maps every DoltplaneError to one line on stderr and
    the error class's exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(LAZY_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in LAZY_COMMANDS:
            return None
        module_name, attribute = LAZY_COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DoltplaneError as exc:
            if ctx.params.get("traceback"):
                raise
            if isinstance(ctx.obj, CliState):
                ctx.obj.error_reported = True
            click.echo(f"error: {exc.one_line()}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=DoltplaneGroup)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Data directory of the embedded engine [env DOLTPLANE_DATA_DIR; default ./.doltplane].",
)
@click.option("--url", default=None, help="Server URL (mysql+pymysql://...) [env DOLTPLANE_URL].")
@click.option("--traceback", is_flag=True, help="Show the full traceback of an error.")
@click.version_option(package_name="doltplane")
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None, url: str | None, traceback: bool) -> None:
    """doltplane: a version-controlled data plane on Dolt for multi-agent systems."""
    state = CliState(
        overrides={"data_dir": data_dir, "url": url},
        creating_commands=CREATING_COMMANDS,
        traceback=traceback,
    )
    ctx.obj = state
    ctx.call_on_close(state.close)


def main() -> None:
    cli.main(prog_name="doltplane")


if __name__ == "__main__":
    main()
