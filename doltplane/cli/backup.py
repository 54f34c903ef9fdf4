"""``doltplane backup ...`` (whole data directories through Dolt remotes) and
``doltplane remote ...`` (sharing one ledger between sites)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import click

from doltplane.cli.common import (
    echo_json,
    emit,
    get_dp,
    json_option,
    merge_output,
    read_resolution,
    to_jsonable,
)
from doltplane.errors import RemoteError, RemoteRejected


@click.group()
def backup() -> None:
    """Back up every plane (all branches, tags and history) to Dolt remotes, and restore."""


@backup.command("add")
@click.argument("name")
@click.argument("url")
@json_option
def add(name: str, url: str, as_json: bool) -> None:
    """Register remote NAME at URL (file:///folder or http://host:port)."""
    from doltplane import backups

    remote = backups.add_remote(get_dp(), name, url)
    if as_json:
        echo_json(remote)
        return
    click.echo(f"remote {remote.name}: {remote.url}")


@backup.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Forget remote NAME here (what it holds is left alone)."""
    from doltplane import backups

    removed = backups.remove_remote(get_dp(), name)
    click.echo(f"removed remote {removed.name} ({removed.url})")


@backup.command("list")
@click.option("--offline", is_flag=True, help="Do not ask the remotes what they hold.")
@json_option
def list_command(offline: bool, as_json: bool) -> None:
    """Each remote, when it was last pushed, and the branches and tags it holds."""
    from doltplane import backups

    found = backups.list_backups(get_dp(), probe=not offline)
    if as_json:
        echo_json(found)
        return
    rows = []
    for info in found:
        row: dict[str, Any] = {"name": info.name, "url": info.url, "last push": info.last_push}
        if info.error:
            row["ledger"] = f"unreachable: {info.error}"
        for plane, heads in info.holds.items():
            row[plane] = (
                "(nothing)" if heads is None
                else f"{len(heads.branches)} branch(es), {len(heads.tags)} tag(s)"
            )  # fmt: skip
        rows.append(row)
    emit(rows, False)


@backup.command("push")
@click.argument("name", required=False)
@click.option("--force", is_flag=True, help="Overwrite branches someone else moved on the remote.")
@json_option
def push(name: str | None, force: bool, as_json: bool) -> None:
    """Push every plane, branch and tag to remote NAME (default: every remote)."""
    from doltplane import backups

    results = backups.push_backup(get_dp(), name, force=force)
    if as_json:
        echo_json([{**to_jsonable(r), "ok": r.ok} for r in results])
    else:
        for result in results:
            changed = [r for r in result.refs if r.outcome != "unchanged"]
            click.echo(
                f"{result.remote}: {len(result.refs)} branch(es), {result.tags} tag(s), "
                f"{len(changed)} changed"
            )
            for ref in changed:
                click.echo(f"  {ref.outcome:<9} {ref.plane}:{ref.branch}")
    rejected = [f"{r.remote}:{ref.plane}:{ref.branch}" for r in results for ref in r.rejected]
    if rejected:
        raise RemoteRejected(
            ", ".join(sorted({r.remote for r in results if r.rejected})),
            rejected,
            hint="another site moved them; pull its work first, or push --force to overwrite",
        )


@backup.command("verify")
@click.argument("name")
@json_option
def verify(name: str, as_json: bool) -> None:
    """Check that remote NAME holds every local branch and tag at the same commit."""
    from doltplane import backups

    check = backups.verify_backup(get_dp(), name)
    if as_json:
        echo_json({**to_jsonable(check), "ok": check.ok})
    else:
        for plane in check.planes:
            state = "ok" if plane.ok else "DIFFERS"
            click.echo(f"{plane.plane}: {state}")
            for label, items in (
                ("missing on the remote", plane.missing),
                ("at another commit", plane.differing),
                ("only on the remote", plane.extra),
            ):
                if items:
                    click.echo(f"  {label}: {', '.join(items)}")
    if not check.ok:
        raise RemoteError(
            f"remote {name!r} does not match the local heads",
            hint=f"run `doltplane backup push {name}`",
        )


@backup.command("restore")
@click.argument("source")
@click.option("--into", "into", type=click.Path(file_okay=False), required=True,
              help="The new data directory (must not exist, or be empty).")  # fmt: skip
@click.option("--name", "remote_name", default=None,
              help="Register the remote under this name there (default: SOURCE's name, "
                   "or 'backup' for a URL).")  # fmt: skip
@json_option
def restore(source: str, into: str, remote_name: str | None, as_json: bool) -> None:
    """Restore a backup (a remote NAME of this data directory, or a URL) into a new
    data directory, with its full history, every branch and tag."""
    from doltplane import backups

    if "://" in source:
        name, url = backups.resolve_source(Path("."), source)
    else:
        name, url = backups.resolve_source(get_dp().settings.data_dir, source)
    result = backups.restore(url, Path(into), remote=remote_name or name)
    if as_json:
        echo_json(result)
        return
    for plane, heads in result.planes.items():
        click.echo(f"{plane}: {len(heads.branches)} branch(es), {len(heads.tags)} tag(s)")
    click.echo(f"restored {result.url} into {result.into} (remote {result.remote!r} registered)")


@backup.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="0 picks a free port.")  # fmt: skip
def serve(port: int) -> None:
    """Serve this data directory as an HTTP remote on 127.0.0.1 until Ctrl-C."""
    from doltplane import backups

    server = backups.serve(get_dp(), port)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        click.echo(f"serving {server.directory} at {server.url} (ledger: {server.url}/ledger.db)")
        click.echo("Ctrl-C to stop", err=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()


@click.group()
def remote() -> None:
    """Share the ledger between sites through a remote: pull (merge), push (fast-forward)."""


@remote.command("pull")
@click.argument("name")
@json_option
def pull(name: str, as_json: bool) -> None:
    """Fetch remote NAME's ledger main and merge it into ours; conflicts change nothing."""
    from doltplane import backups

    _merge_output(backups.pull(get_dp(), name), as_json)


@remote.command("resolve")
@click.argument("name")
@click.option("--strategy", type=click.Choice(["ours", "theirs"]), default=None,
              help="ours: this site's rows win; theirs: the remote's.")  # fmt: skip
@click.option("--rows", "rows_file", type=click.Path(dir_okay=False, exists=True), default=None,
              help="A JSON file {table: [final rows]}.")  # fmt: skip
@json_option
def resolve(name: str, strategy: str | None, rows_file: str | None, as_json: bool) -> None:
    """Finish a conflicting pull from NAME; every non-conflicting row of both sides stays."""
    from doltplane import backups

    resolution = read_resolution(strategy, rows_file)
    _merge_output(backups.resolve_pull(get_dp(), name, resolution), as_json)


@remote.command("push")
@click.argument("name")
@json_option
def push_ledger(name: str, as_json: bool) -> None:
    """Push our ledger main to remote NAME; refused unless it is a fast-forward."""
    from doltplane import backups

    result = backups.push_ledger(get_dp(), name)
    if as_json:
        echo_json(result)
        return
    click.echo(f"{result.status}: ledger {result.branch} -> {result.remote} ({result.commit})")


def _merge_output(result: Any, as_json: bool) -> None:
    name = result.source.split("/")[0]
    hint = f"`doltplane remote resolve {name} --strategy ours|theirs` (or --rows FILE)"
    merge_output(result, as_json, ours="ours (here)", theirs="theirs (remote)", hint=hint)
