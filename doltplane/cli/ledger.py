"""``doltplane ledger ...`` and the top-level ``export``, ``import``, ``verify``, ``query``."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from doltplane.cli.common import (
    conflict_table,
    echo_json,
    echo_table,
    emit,
    get_dp,
    json_option,
    merge_output,
    read_resolution,
    to_jsonable,
)
from doltplane.errors import InvalidDocument, NotFound, VerifyMismatch

ISSUE_COLUMNS = ["id", "status", "owner", "title", "created_at"]
"""What people see in issue tables (``--json`` and ``show`` have every field)."""
BRANCH_COLUMNS = ["name", "ahead", "behind", "idle_seconds", "stale", "dirty", "last_author",
                  "last_message"]  # fmt: skip


def _json_arg(text: str | None, what: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidDocument(f"{what} is not valid JSON: {exc}") from None


@contextlib.contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar on stderr fed by the library's progress callback."""
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)  # off a terminal it would leave a blank line on stderr
    with Progress(console=console, transient=True, disable=quiet or not console.is_terminal) as bar:
        tasks: dict[str, Any] = {}

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total or 1)
            bar.update(tasks[step], completed=done, total=total or 1)

        yield progress


def _writer(agent: str | None) -> Any:
    dp = get_dp()
    return dp.agent(agent) if agent else dp.ledger


_SIDES = {"ours": "ours (agent)", "theirs": "theirs (main)"}


def _merge_output(result: Any, as_json: bool) -> None:
    hint = f"`doltplane ledger resolve {result.target} --strategy ours|theirs` (or --rows FILE)"
    merge_output(result, as_json, hint=hint, **_SIDES)


@click.group()
def ledger() -> None:
    """The permanent work record: issues and CV entries, one commit per change."""


agent_option = click.option(
    "--agent", default=None, help="Write on this agent's branch instead of main."
)


@ledger.command()
@click.argument("title")
@click.option("--type", "type_", default="task", show_default=True)
@click.option("--status", default="open", show_default=True)
@click.option("--owner", default=None)
@click.option("--metadata", default=None, help="A JSON object.")
@click.option("--id", "id_", default=None, help="Default: gt-<random>.")
@agent_option
@json_option
def create(
    title: str,
    type_: str,
    status: str,
    owner: str | None,
    metadata: str | None,
    id_: str | None,
    agent: str | None,
    as_json: bool,
) -> None:
    """Create an issue (one commit)."""
    issue = _writer(agent).create_issue(
        title,
        type=type_,
        status=status,
        owner=owner,
        metadata=_json_arg(metadata, "--metadata"),
        id=id_,
    )
    emit(issue, as_json)


@ledger.command()
@click.argument("id_", metavar="ID")
@click.option("--title", default=None)
@click.option("--type", "type_", default=None)
@click.option("--status", default=None, help="Closing sets completed_at; reopening clears it.")
@click.option("--owner", default=None, help="'' clears the owner.")
@click.option("--metadata", default=None, help="A JSON object (replaces the metadata).")
@agent_option
@json_option
def update(
    id_: str,
    title: str | None,
    type_: str | None,
    status: str | None,
    owner: str | None,
    metadata: str | None,
    agent: str | None,
    as_json: bool,
) -> None:
    """Change some fields of an issue (one commit); the old values stay in history."""
    fields: dict[str, Any] = {"title": title, "type": type_, "status": status}
    fields = {k: v for k, v in fields.items() if v is not None}
    if owner is not None:
        fields["owner"] = owner or None
    if metadata is not None:
        fields["metadata"] = _json_arg(metadata, "--metadata")
    emit(_writer(agent).update_issues([{"id": id_, **fields}])[0], as_json)


def _reader(as_of: str | None, agent: str | None = None) -> Any:
    dp = get_dp()
    if as_of:
        return dp.ledger.as_of(as_of)
    return dp.agent(agent) if agent else dp.ledger


as_of_option = click.option("--as-of", default=None, help="A timestamp, commit, branch or HEAD~n.")


@ledger.command()
@click.argument("id_", metavar="ID")
@as_of_option
@click.option("--agent", default=None, help="Read the agent's branch.")
@json_option
def show(id_: str, as_of: str | None, agent: str | None, as_json: bool) -> None:
    """Show one issue."""
    emit(_reader(as_of, agent).get_issue(id_), as_json)


def _list_filters(func: Any) -> Any:
    for option in reversed(
        [
            click.option("--status"),
            click.option("--owner"),
            click.option("--type", "type_"),
            click.option("--created-by"),
            click.option("--limit", type=click.IntRange(min=0), default=None),
        ]
    ):
        func = option(func)
    return func


@ledger.command("list")
@_list_filters
@click.option(
    "--include-unmerged", is_flag=True, help="Also issues on agent branches not yet merged."
)
@as_of_option
@json_option
def list_issues(
    status: str | None,
    owner: str | None,
    type_: str | None,
    created_by: str | None,
    limit: int | None,
    include_unmerged: bool,
    as_of: str | None,
    as_json: bool,
) -> None:
    """List issues, newest first."""
    filters: dict[str, Any] = dict(
        status=status, owner=owner, type=type_, created_by=created_by, limit=limit
    )
    if as_of:
        found = get_dp().ledger.as_of(as_of).issues(**filters)
    else:
        found = get_dp().ledger.issues(**filters, include_unmerged=include_unmerged)
    columns = ISSUE_COLUMNS + (["branch"] if include_unmerged else [])
    emit(found, as_json, columns=columns)


@ledger.command("as-of")
@click.argument("when")
@_list_filters
@json_option
def as_of_command(
    when: str,
    status: str | None,
    owner: str | None,
    type_: str | None,
    created_by: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List issues as they were at WHEN (timestamp, commit, branch, tag, HEAD~n)."""
    view = get_dp().ledger.as_of(when)
    found = view.issues(status=status, owner=owner, type=type_, created_by=created_by, limit=limit)
    emit(found, as_json, columns=ISSUE_COLUMNS, title=f"issues at {view.revision}")


@ledger.command()
@click.argument("id_", metavar="ID")
@click.option("--kind", type=click.Choice(["issue", "cv_entry"]), default="issue")
@json_option
def history(id_: str, kind: str, as_json: bool) -> None:
    """Every committed version of one record on main, newest first."""
    versions = get_dp().ledger.history(id_, kind=kind)
    if as_json:
        echo_json(versions)
        return
    rows = [
        {"commit": v.commit, "committed_at": v.committed_at, "author": v.author,
         **{k: to_jsonable(getattr(v.record, k)) for k in ("status", "owner", "title")}}
        for v in versions
    ]  # fmt: skip
    emit(rows, False)


@ledger.command()
@click.argument("from_revision")
@click.argument("to_revision", default="main")
@json_option
def diff(from_revision: str, to_revision: str, as_json: bool) -> None:
    """Records added, modified or removed between two revisions."""
    changes = get_dp().ledger.diff(from_revision, to_revision)
    if as_json:
        echo_json(changes)
        return
    emit([{"kind": c.kind, "id": c.id, "change": c.change} for c in changes], False)


@ledger.command()
@click.option("--branch", default=None, help="Default: main.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@json_option
def log(branch: str | None, limit: int, as_json: bool) -> None:
    """Commits, newest first."""
    emit(get_dp().ledger.log(branch=branch, limit=limit), as_json,
         columns=["hash", "date", "author", "message"])  # fmt: skip


@ledger.command()
@click.argument("name")
@click.argument("revision", default="main")
@json_option
def tag(name: str, revision: str, as_json: bool) -> None:
    """Name a point of the ledger's history (a tag never moves)."""
    commit = get_dp().ledger.tag(name, revision)
    if as_json:
        echo_json({"tag": name, "commit": commit})
    else:
        click.echo(f"tagged {commit} as {name}")


@ledger.command()
@click.option("--stale-days", type=float, default=None, help="Default: branch_stale_days.")
@click.option("--stale-only", is_flag=True)
@json_option
def branches(stale_days: float | None, stale_only: bool, as_json: bool) -> None:
    """Agent branches: ahead/behind main, idle time, stale flag."""
    stale = None if stale_days is None else stale_days * 86400
    found = get_dp().ledger.branches(stale_after=stale, stale_only=stale_only)
    emit(found, as_json, columns=BRANCH_COLUMNS)


@ledger.command()
@click.argument("agent")
@json_option
def merge(agent: str, as_json: bool) -> None:
    """Sync AGENT's branch with main, merge it into main, delete it (exit 6 on conflict)."""
    _merge_output(get_dp().ledger.merge(agent), as_json)


@ledger.command()
@click.argument("agent")
@json_option
def sync(agent: str, as_json: bool) -> None:
    """Merge main into AGENT's branch (exit 6 on conflict)."""
    _merge_output(get_dp().ledger.sync(agent), as_json)


@ledger.command()
@click.argument("agent")
@json_option
def conflicts(agent: str, as_json: bool) -> None:
    """The conflicts merging AGENT would meet (found on a scratch copy)."""
    found = get_dp().ledger.conflicts(agent)
    if as_json:
        echo_json(found)
    elif found:
        conflict_table(found, **_SIDES)
    else:
        click.echo("no conflicts")


@ledger.command()
@click.argument("agent")
@click.option("--strategy", type=click.Choice(["ours", "theirs"]), default=None,
              help="ours: the agent's rows win; theirs: main's.")  # fmt: skip
@click.option("--rows", "rows_file", type=click.Path(dir_okay=False, exists=True), default=None,
              help="A JSON file {table: [final rows]}.")  # fmt: skip
@json_option
def resolve(agent: str, strategy: str | None, rows_file: str | None, as_json: bool) -> None:
    """Finish AGENT's conflicting merge; every non-conflicting row of both sides stays."""
    resolution = read_resolution(strategy, rows_file)
    _merge_output(get_dp().ledger.resolve(agent, resolution), as_json)


@ledger.command()
@click.option("--dry-run", is_flag=True, help="List what would be deleted.")
@json_option
def prune(dry_run: bool, as_json: bool) -> None:
    """Delete merged or empty agent branches (never one with unmerged work)."""
    result = get_dp().ledger.prune(dry_run=dry_run)
    if as_json:
        echo_json(result)
        return
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb}: {', '.join(result.deleted) or '(none)'}")
    click.echo(f"kept (unmerged work): {', '.join(result.kept) or '(none)'}")


@click.command("export")
@click.option("--format", "format_", type=click.Choice(["doltplane", "beads", "jsonl"]),
              default="doltplane", show_default=True,
              help="beads: Beads' own JSONL, every imported record as it came; "
                   "jsonl is another name for doltplane.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Default: standard output.")  # fmt: skip
def export_command(format_: str, output: str | None) -> None:
    """Export the ledger as JSONL (one record per line)."""
    dp = get_dp()
    format_ = "doltplane" if format_ == "jsonl" else format_
    if output is None:
        dp.ledger.export_jsonl(sys.stdout, format=format_)
        return
    folder = Path(output).parent
    if not folder.is_dir():  # refused rather than created: a typo should not make folders
        raise NotFound("folder", str(folder), hint="create it first, or give another -o path")
    # written beside the target and renamed into place, so a failed export leaves no
    # half-written file behind (and never truncates a good earlier export)
    fd, partial = tempfile.mkstemp(dir=folder, prefix=f".{Path(output).name}.")
    try:
        with _progress(False) as progress, open(fd, "w", encoding="utf-8") as handle:
            result = dp.ledger.export_jsonl(handle, format=format_, progress=progress)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)  # mkstemp makes 0600; an export is an ordinary file
        os.replace(partial, output)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    counts = result.records or {"issue": result.issues, "cv_entry": result.cv_entries}
    shown = ", ".join(f"{n} {kind}" for kind, n in counts.items()) or "nothing"
    click.echo(f"exported {shown} to {output}", err=True)


@click.command("import")
@click.argument("path", type=click.Path())
@click.option("--format", "format_", type=click.Choice(["beads", "doltplane"]), default=None,
              help="Default: detected (a folder or a line without 'kind' is Beads).")  # fmt: skip
@click.option("--force", is_flag=True,
              help="Also take records older (updated_at) than the ledger's copy.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@json_option
def import_command(
    path: str, format_: str | None, force: bool, dry_run: bool, as_json: bool
) -> None:
    """Upsert a JSONL file or a Beads backup folder into the ledger in one commit
    (idempotent; records older than the ledger's copy are skipped and listed)."""
    with _progress(as_json) as progress:
        result = get_dp().ledger.import_jsonl(
            path, format=format_, force=force, dry_run=dry_run, progress=progress
        )
    if as_json:
        echo_json(result)
        return
    verb = "would import" if dry_run else "imported"
    click.echo(
        f"{verb} {result.records} {result.format} records from {result.path}: "
        f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged, "
        f"{result.stale_skipped} stale skipped"
        + (f" (commit {result.commit[:12]})" if result.commit else "")
    )
    if result.kinds:
        echo_table([{"kind": k, **to_jsonable(c)} for k, c in result.kinds.items()])
    if result.stale:
        echo_table(result.stale, title="skipped: older than the ledger's copy (--force takes them)")


@click.command("verify")
@click.option("--compare", "file", required=True, type=click.Path(),
              help="The JSONL file (or Beads backup folder) to compare with.")  # fmt: skip
@click.option("--format", "format_", type=click.Choice(["beads", "doltplane"]), default=None,
              help="Default: detected, as for import.")  # fmt: skip
@json_option
def verify_command(file: str, format_: str | None, as_json: bool) -> None:
    """Compare the ledger with a file record by record and key by key; exit 12 on any
    difference (missing, extra or different records, renamed or dropped keys)."""
    with _progress(as_json) as progress:
        report = get_dp().ledger.verify_jsonl(file, format=format_, progress=progress)
    if as_json:
        echo_json({**to_jsonable(report), "ok": report.ok})
    else:
        rows = [
            {"kind": d.kind, "id": d.id, "status": d.status,
             "fields": {f.field: _field_change(f) for f in d.fields}}
            for d in report.differences
        ]  # fmt: skip
        echo_table(rows, empty="no differences")
    if not report.ok:
        raise VerifyMismatch(
            f"{len(report.differences)} difference(s): {report.count('missing')} missing, "
            f"{report.count('extra')} extra, {report.count('different')} different"
        )


def _field_change(field: Any) -> Any:
    if field.change == "renamed":
        return f"renamed to {field.renamed_to}"
    if field.change == "changed":
        return {"file": field.in_file, "ledger": field.in_ledger}
    return field.change


@click.command("query")
@click.argument("sql")
@click.option("-p", "--param", "params", multiple=True, help="A value for each ? in order.")
@json_option
def query_command(sql: str, params: tuple[str, ...], as_json: bool) -> None:
    """Run a read-only SQL query across the ledger and operational planes."""
    rows = get_dp().query(sql, list(params))
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, empty="(no rows)")
