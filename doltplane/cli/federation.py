"""``doltplane federation ...``: the shared catalog of roles, formulas and templates."""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from doltplane.cli.common import echo_json, echo_table, emit, get_dp, json_option, to_jsonable
from doltplane.errors import CatalogInvalid, MergeConflict
from doltplane.federation import Federation, Formula, MergeStatus, Template


def _fed() -> Federation:
    return get_dp().federation


def _entry_row(entry: Any) -> dict[str, Any]:
    return {
        "kind": entry.kind,
        "name": entry.name,
        "version": getattr(entry, "version", None),
        "path": entry.path,
    }


@click.group()
def federation() -> None:
    """Shared roles, formulas and templates in a Git repository synced between sites."""


@federation.command()
@click.option(
    "--remote", default=None, help="An empty shared repository to publish the new catalog to."
)
@click.option(
    "--bare",
    "bare",
    type=click.Path(file_okay=False),
    default=None,
    help="Only create an empty shared (bare) repository at this path.",
)
@json_option
def init(remote: str | None, bare: str | None, as_json: bool) -> None:
    """Start a catalog (starter layout, schema and rules) in this site's clone."""
    if bare is not None:
        path = Federation.init_shared(bare)
        emit({"shared_repository": path}, as_json)
        return
    emit(_fed().init(remote), as_json)


@federation.command()
@click.argument("url", required=False)
@json_option
def clone(url: str | None, as_json: bool) -> None:
    """Clone the shared repository (URL, or the federation_remote setting)."""
    emit(_fed().clone(url), as_json)


@federation.command()
@click.option("--fetch", is_flag=True, help="Fetch first, so ahead/behind are current.")
@json_option
def status(fetch: bool, as_json: bool) -> None:
    """Ahead/behind main, local changes, pending conflicts and the last pull."""
    emit(_fed().status(fetch=fetch), as_json)


@federation.command()
@click.option(
    "--if-due", is_flag=True, help="Pull only when the pull interval has passed (for timers)."
)
@json_option
def pull(if_due: bool, as_json: bool) -> None:
    """Fetch and merge main; on conflicts change nothing and list them (exit code 6)."""
    fed = _fed()
    if if_due:
        scheduled = fed.pull_if_due()
        emit(scheduled, as_json)
        if scheduled.result is not None and scheduled.result.status is MergeStatus.CONFLICT:
            click.get_current_context().exit(MergeConflict.exit_code)
        return
    result = fed.pull()
    if as_json:
        echo_json(result)
    else:
        click.echo(f"{result.status.value}: {result.before or '-'} -> {result.after or '-'}")
        for path in result.changed_files:
            click.echo(f"  changed  {path}")
        for path in result.conflicts:
            click.echo(f"  CONFLICT {path}")
        if result.conflicts:
            click.echo(
                "nothing was changed; finish with `doltplane federation resolve PATH "
                "--ours|--theirs`, or `resolve --begin`, edit, then `resolve PATH --mark-resolved`"
            )
    if result.status is MergeStatus.CONFLICT:
        click.get_current_context().exit(MergeConflict.exit_code)


@federation.command()
@click.option(
    "--review/--no-review", default=True, help="Push to review/<site>/<topic> (default) or to main."
)
@click.option("--topic", default=None, help="Review topic (default: change-<commit>).")
@click.option("-m", "--message", default=None, help="Commit message for local changes.")
@json_option
def push(review: bool, topic: str | None, message: str | None, as_json: bool) -> None:
    """Validate, commit local changes and push them for review (or to main with --no-review)."""
    emit(_fed().push(review=review, topic=topic, message=message), as_json)


@federation.command()
@json_option
def conflicts(as_json: bool) -> None:
    """Paths that conflict between this site and the fetched main."""
    paths = _fed().conflicts()
    if as_json:
        echo_json(paths)
    else:
        echo_table([{"path": p} for p in paths], ["path"], empty="no conflicts")


@federation.command()
@click.argument("path", required=False)
@click.option("--ours", "side", flag_value="ours", help="Keep this site's version.")
@click.option("--theirs", "side", flag_value="theirs", help="Take main's version.")
@click.option("--mark-resolved", "side", flag_value="edited", help="Accept your edit of PATH.")
@click.option("--begin", is_flag=True, help="Write the conflicts into the files for editing.")
@click.option("--abort", is_flag=True, help="Undo --begin: back to before the merge.")
@json_option
def resolve(path: str | None, side: str | None, begin: bool, abort: bool, as_json: bool) -> None:
    """Finish a pull that stopped on conflicts, one PATH at a time."""
    fed = _fed()
    if begin or abort:
        if path or side or (begin and abort):
            raise click.UsageError("--begin and --abort take no PATH and no side")
        if abort:
            fed.abort_resolve()
            emit({"aborted": True}, as_json)
        else:
            emit({"conflicts": fed.begin_resolve()}, as_json)
        return
    if path is None or side is None:
        raise click.UsageError("give PATH and one of --ours, --theirs, --mark-resolved")
    if side == "edited":
        emit(fed.mark_resolved(path), as_json)
    else:
        emit(fed.resolve(path, "ours" if side == "ours" else "theirs"), as_json)


@federation.group()
def review() -> None:
    """Reviews: changes pushed to review/<site>/<topic>, merged into main once approved."""


@review.command("list")
@json_option
def review_list(as_json: bool) -> None:
    """Open reviews on the shared repository."""
    reviews = _fed().reviews()
    if as_json:
        echo_json(reviews)
    else:
        columns = ["name", "author", "subject", "approved", "approved_by", "merges_cleanly"]
        echo_table([dataclasses.asdict(r) for r in reviews], columns, empty="no open reviews")


@review.command("show")
@click.argument("name")
@json_option
def review_show(name: str, as_json: bool) -> None:
    """One review: its files and its diff against main."""
    detail = _fed().review(name)
    if as_json:
        echo_json(detail)
        return
    emit(detail.review, False, title=f"review {detail.review.name}")
    echo_table(detail.files, ["status", "path"], empty="no changed files")
    if detail.diff:
        click.echo(detail.diff)


@review.command("approve")
@click.argument("name")
@click.option("--by", default=None, help="Who approves (default: this site and author).")
@json_option
def review_approve(name: str, by: str | None, as_json: bool) -> None:
    """Approve a review as it is now (a newer push needs a new approval)."""
    emit(_fed().approve(name, by), as_json)


@review.command("merge")
@click.argument("name")
@json_option
def review_merge(name: str, as_json: bool) -> None:
    """Merge an approved, cleanly merging review into main and delete its branch."""
    emit(_fed().merge_review(name), as_json)


@federation.command("list")
@click.argument("kind", required=False, type=click.Choice(["role", "formula", "template"]))
@json_option
def list_entries(kind: str | None, as_json: bool) -> None:
    """Roles, formulas (every version) and templates at HEAD."""
    entries = _fed().list(kind)
    if as_json:
        echo_json([_entry_row(e) for e in entries])
    else:
        echo_table([_entry_row(e) for e in entries], ["kind", "name", "version", "path"])


@federation.command()
@click.argument("kind", type=click.Choice(["role", "formula", "template"]))
@click.argument("name")
@click.option("--version", "version", default=None, help="A formula version (default: latest).")
@json_option
def show(kind: str, name: str, version: str | None, as_json: bool) -> None:
    """One role, formula or template, with every key of its file."""
    entry = _fed().get(kind, name, version)
    if as_json:
        echo_json(entry)
        return
    if isinstance(entry, Template):
        click.echo(f"# {entry.path}")
        click.echo(entry.text, nl=False)
        return
    label = f"{entry.name} v{entry.version}" if isinstance(entry, Formula) else entry.name
    echo_table(
        [{"key": k, "value": v} for k, v in to_jsonable(entry.data).items()],
        ["key", "value"],
        title=f"{entry.kind} {label} ({entry.path})",
    )


@federation.command()
@json_option
def validate(as_json: bool) -> None:
    """Check every file against config/rig-schema.json and config/validation-rules.yaml."""
    report = _fed().validate()
    if as_json:
        echo_json({**to_jsonable(report), "ok": report.ok})
    elif report.ok:
        click.echo(f"ok: {report.files} files, {report.entries} catalog entries")
    else:
        for problem in report.problems:
            click.echo(problem)
        click.echo(f"{len(report.problems)} problem(s) in {report.files} files", err=True)
    if not report.ok:
        click.get_current_context().exit(CatalogInvalid.exit_code)
