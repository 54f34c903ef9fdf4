"""The root ``doltplane`` group: global options, error mapping, plane subcommands."""

from __future__ import annotations

from typing import Any

import click

from doltplane.cli.common import CliState
from doltplane.errors import DoltplaneError


class DoltplaneGroup(click.Group):
    """Maps every DoltplaneError to one line on stderr and the error class's exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DoltplaneError as exc:
            if ctx.params.get("traceback"):
                raise
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
    state = CliState(overrides={"data_dir": data_dir, "url": url})
    ctx.obj = state
    ctx.call_on_close(state.close)


def _register() -> None:
    from doltplane.cli import admin, federation, ledger, ops

    cli.add_command(ops.ops)
    cli.add_command(federation.federation)
    for command in [*admin.COMMANDS, *ledger.COMMANDS]:
        cli.add_command(command)


_register()


def main() -> None:
    cli.main(prog_name="doltplane")


if __name__ == "__main__":
    main()
