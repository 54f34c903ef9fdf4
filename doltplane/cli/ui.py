"""``doltplane ui``: serve the read-only operator page on 127.0.0.1."""

from __future__ import annotations

import click

from doltplane.cli.common import get_dp


@click.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port to listen on [setting ui_port, env DOLTPLANE_UI_PORT; default 8470; 0: any].",
)
@click.option(
    "--host",
    default=None,
    help="Interface to listen on (default 127.0.0.1). Anything but loopback exposes the "
    "page to the network: give it only on purpose.",
)
@click.option("--quiet", is_flag=True, help="Do not log requests.")
def ui(port: int | None, host: str | None, quiet: bool) -> None:
    """A read-only web page: planes, agents and their staleness, agent branches ahead and
    behind main, recent commits, service jobs and alerts, the federation catalog, and the
    timeline of any id typed into its search box. GET only; Ctrl-C stops it."""
    from doltplane.ui import UiServer

    server = UiServer(
        get_dp(),
        host=host or "127.0.0.1",
        port=port,
        log=None if quiet else lambda line: click.echo(line, err=True),
    )
    click.echo(f"serving {server.url} (read-only; Ctrl-C stops)", err=True)
    if not server.check_host:
        click.echo(
            f"warning: {server.host} is not a loopback interface: anyone who can reach it "
            "can read this page",
            err=True,
        )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
