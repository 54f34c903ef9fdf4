"""pull, and finishing a pull that met conflicts: nothing changes until a person decides.

A pull fetches, then asks ``git merge-tree --write-tree`` whether HEAD and the
fetched main merge cleanly. Only a clean result touches the work tree (a
fast-forward, or the merge commit built from that very tree). Otherwise it
returns CONFLICT and the work tree, index and HEAD are exactly as before.
``begin_resolve`` (or the first ``resolve``) starts the real ``git merge`` so
conflict markers appear for editing; ``abort_resolve`` undoes it. Both sides'
commits stay in history: resolving creates a merge commit, never a reset.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from collections.abc import Sequence
from typing import Any, Literal

from doltplane.errors import (
    FederationError,
    InvalidDocument,
    InvalidInput,
    LocalChanges,
    MergeConflict,
    NotFound,
)
from doltplane.federation.locate import toml_error_line
from doltplane.federation.repo import MAIN, UPSTREAM, Repo, safe_relpath
from doltplane.federation.results import MergeStatus, PullResult, ResolveResult

LAST_PULL_FILE = "last-pull.json"
CONFLICT_MARKERS = ("<<<<<<< ", ">>>>>>> ", "<<<<<<<\n", ">>>>>>>\n")


def merge_tree(repo: Repo, ours: str, theirs: str) -> tuple[str, list[str]]:
    """The merged tree of two commits and the conflicting paths, computed in git's object store."""
    out = repo.git.run(
        "merge-tree",
        "--write-tree",
        "--name-only",
        "--no-messages",
        "-z",
        ours,
        theirs,
        ok_codes=(0, 1),
    ).stdout
    tree, *names = out.split("\0")
    return tree.strip(), sorted({n for n in names if n})


def pending_conflicts(repo: Repo) -> list[str]:
    """Paths that conflict now: unmerged paths of a started merge, or HEAD vs the fetched main."""
    if repo.merge_in_progress():
        return repo.unmerged_paths()
    head, upstream = repo.rev("HEAD"), repo.rev(UPSTREAM)
    if head is None or upstream is None or repo.is_ancestor(upstream, head):
        return []
    if repo.is_ancestor(head, upstream):
        return []
    return merge_tree(repo, head, upstream)[1]


def refuse_if_merging(repo: Repo) -> None:
    if repo.merge_in_progress():
        raise MergeConflict(
            MAIN,
            repo.unmerged_paths(),
            hint="finish with `federation resolve PATH --ours|--theirs|--mark-resolved` "
            "or `federation resolve --abort`",
        )


def _refuse_local_changes(repo: Repo, head: str | None, target: str) -> None:
    """Uncommitted edits to tracked files, or untracked files the pull would write over."""
    changed = repo.changed_paths()
    if head is not None:
        incoming = set(repo.git.run("diff", "--name-only", "-z", head, target).stdout.split("\0"))
    else:
        incoming = set(
            repo.git.run("ls-tree", "-r", "--name-only", "-z", target).stdout.split("\0")
        )
    clobbered = [p for p in repo.untracked_paths() if p in incoming]
    if changed or clobbered:
        raise LocalChanges(sorted({*changed, *clobbered}))


def pull(repo: Repo, author: str) -> PullResult:
    """Fetch, then fast-forward, merge, or report conflicts without changing anything."""
    refuse_if_merging(repo)
    branch = repo.current_branch()
    if branch not in (MAIN, None):
        raise FederationError(
            f"the clone is on branch {branch!r}, not {MAIN!r}", hint=f"git checkout {MAIN}"
        )
    repo.fetch()
    before = repo.rev("HEAD")
    upstream = repo.rev(UPSTREAM)

    def result(status: MergeStatus, after: str | None, conflicts: Sequence[str] = ()) -> PullResult:
        changed: list[str] = []
        if before and after and before != after:
            changed = sorted(
                p
                for p in repo.git.run("diff", "--name-only", "-z", before, after).stdout.split("\0")
                if p
            )
        outcome = PullResult(status, before, after, upstream, list(conflicts), changed)
        record_pull(repo, outcome)
        return outcome

    if upstream is None or (before is not None and repo.is_ancestor(upstream, before)):
        return result(MergeStatus.UP_TO_DATE, before)
    if before is None or repo.is_ancestor(before, upstream):
        _refuse_local_changes(repo, before, upstream)
        repo.git.run("merge", "--ff-only", "--quiet", upstream)
        return result(MergeStatus.FAST_FORWARD, upstream)
    tree, conflicts = merge_tree(repo, before, upstream)
    if conflicts:
        return result(MergeStatus.CONFLICT, before, conflicts)
    _refuse_local_changes(repo, before, upstream)
    merged = repo.commit_tree(tree, [before, upstream], f"Merge {UPSTREAM} into {MAIN}", author)
    repo.git.run("merge", "--ff-only", "--quiet", merged)
    return result(MergeStatus.MERGED, merged)


def record_pull(repo: Repo, outcome: PullResult | None, error: str | None = None) -> dict[str, Any]:
    """Record the last pull in ``.git/doltplane/last-pull.json`` (for status and the scheduler)."""
    record: dict[str, Any] = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "status": outcome.status.value if outcome else "error",
        "conflicts": outcome.conflicts if outcome else [],
        "upstream": outcome.upstream if outcome else None,
        "error": error,
    }
    repo.state_dir.mkdir(parents=True, exist_ok=True)
    target = repo.state_dir / LAST_PULL_FILE
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    temporary.replace(target)
    return record


def last_pull(repo: Repo) -> dict[str, Any] | None:
    try:
        value = json.loads((repo.state_dir / LAST_PULL_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def begin_resolve(repo: Repo, author: str) -> list[str]:
    """Start the real merge with the fetched main, so conflict markers appear in the files."""
    if repo.merge_in_progress():
        return repo.unmerged_paths()
    conflicts = pending_conflicts(repo)
    if not conflicts:
        raise NotFound(
            "pending conflict",
            UPSTREAM,
            hint="nothing to resolve; `federation pull` merges cleanly",
        )
    head = repo.rev("HEAD")
    _refuse_local_changes(repo, head, UPSTREAM)
    repo.git.run(
        *repo.identity_args(author),
        "merge",
        "--no-ff",
        "--no-commit",
        "--quiet",
        UPSTREAM,
        ok_codes=(0, 1),
    )
    return repo.unmerged_paths()


def abort_resolve(repo: Repo) -> None:
    """Back to exactly the state before ``begin_resolve``; nothing committed is touched."""
    if not repo.merge_in_progress():
        raise NotFound("merge in progress", str(repo.path))
    repo.git.run("merge", "--abort")


def resolve(repo: Repo, path: str, side: Literal["ours", "theirs"], author: str) -> ResolveResult:
    """Take one side's version of a conflicting file; commit the merge after the last one."""
    if side not in ("ours", "theirs"):
        raise InvalidInput(f"resolve takes 'ours' or 'theirs', got {side!r}")
    rel = safe_relpath(path, repo.path)
    if not repo.merge_in_progress() and rel not in pending_conflicts(repo):
        raise NotFound("conflict", rel, hint="`federation conflicts` lists them")
    begin_resolve(repo, author)
    _require_unmerged(repo, rel)
    stage = "2" if side == "ours" else "3"
    stages = {
        line.split()[2]
        for line in repo.git.run("ls-files", "-u", "-z", "--", rel).stdout.split("\0")
        if line
    }
    if stage in stages:
        repo.git.run("checkout", f"--{side}", "--", rel)
        repo.git.run("add", "--", rel)
    else:  # that side deleted the file
        repo.git.run("rm", "--quiet", "--", rel)
    return _finish(repo, rel, side, author)


def mark_resolved(repo: Repo, path: str, author: str) -> ResolveResult:
    """Accept a person's edit of a conflicting file (markers gone, TOML still parses)."""
    rel = safe_relpath(path, repo.path)
    if not repo.merge_in_progress():
        raise NotFound(
            "merge in progress",
            str(repo.path),
            hint="run `federation resolve --begin` to write the conflicts into the files first",
        )
    _require_unmerged(repo, rel)
    full = repo.path / rel
    if full.exists():
        text = full.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(keepends=True), start=1):
            if line.startswith(CONFLICT_MARKERS):
                raise InvalidDocument(
                    f"{rel}:{number}: still has a conflict marker; edit it out first"
                )
        if rel.endswith(".toml"):
            try:
                tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise InvalidDocument(
                    f"{rel}:{toml_error_line(str(exc), text)}: malformed TOML: {exc}"
                ) from None
        repo.git.run("add", "--", rel)
    else:
        repo.git.run("rm", "--quiet", "--cached", "--", rel)
    return _finish(repo, rel, "edited", author)


def _require_unmerged(repo: Repo, rel: str) -> None:
    if rel not in repo.unmerged_paths():
        raise NotFound("conflict", rel, hint="`federation conflicts` lists them")


def _finish(repo: Repo, rel: str, how: str, author: str) -> ResolveResult:
    remaining = repo.unmerged_paths()
    commit = None
    if not remaining:
        repo.git.run(*repo.identity_args(author), "commit", "--quiet", "--no-edit", "--no-verify")
        commit = repo.rev("HEAD")
    return ResolveResult(path=rel, resolution=how, remaining=remaining, merge_commit=commit)
