"""push (to a review branch, or to main on request) and the review flow.

A review is the branch ``review/<site>/<topic>`` on the shared remote. An
approval is an empty commit on top of the reviewed commit whose message
carries a ``Doltplane-Approved-by:`` trailer: it travels with the branch, so
every site sees it, it is kept in main's history after the merge, and it
stops counting as soon as the author pushes anything newer.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from doltplane.errors import (
    CatalogInvalid,
    InvalidInput,
    NotFound,
    PushRejected,
    ReviewError,
)
from doltplane.federation.git import command_error
from doltplane.federation.repo import MAIN, REMOTE, UPSTREAM, Repo, validate_branch_part
from doltplane.federation.results import (
    MergeStatus,
    PushResult,
    PushStatus,
    Review,
    ReviewDetail,
    ReviewMerge,
)
from doltplane.federation.sync import merge_tree, refuse_if_merging
from doltplane.federation.validate import ValidationReport

REVIEW_PREFIX = "review"
APPROVAL_TRAILER = "Doltplane-Approved-by"


def review_branch(site: str, topic: str) -> str:
    site, topic = validate_branch_part(site, "site"), validate_branch_part(topic, "topic")
    return f"{REVIEW_PREFIX}/{site}/{topic}"


def parse_review_name(name: str) -> tuple[str, str]:
    """``site/topic`` or ``review/site/topic`` -> (site, topic)."""
    parts = name.strip("/").split("/")
    if len(parts) == 3 and parts[0] == REVIEW_PREFIX:
        parts = parts[1:]
    if len(parts) != 2:
        raise NotFound("review", name, hint="name a review as <site>/<topic>")
    return validate_branch_part(parts[0], "site"), validate_branch_part(parts[1], "topic")


def _check_message(message: object) -> None:
    if not isinstance(message, str) or not message.strip() or "\0" in message:
        raise InvalidInput(f"a commit message must be non-empty text without NUL, got {message!r}")


def _push(repo: Repo, source: str, branch: str, *, delete: bool = False) -> None:
    """Push one ref; a refused update becomes PushRejected saying what to do."""
    refspec = f":refs/heads/{branch}" if delete else f"{source}:refs/heads/{branch}"
    proc = repo.git.run("push", "--porcelain", REMOTE, refspec, check=False)
    if proc.returncode == 0:
        return
    rejected = [line for line in proc.stdout.splitlines() if line.startswith("!")]
    if not rejected:
        raise command_error(["push", REMOTE, refspec], proc.returncode, proc.stderr)
    reason = rejected[0].split("\t")[-1]
    if "non-fast-forward" in reason or "fetch first" in reason:
        raise PushRejected(
            f"push to {branch!r} rejected (non-fast-forward): the remote has commits this "
            "site does not have; pull first",
            hint="run `doltplane federation pull`, then push again",
        )
    raise PushRejected(f"push to {branch!r} rejected by the remote: {reason}")


def push(
    repo: Repo,
    *,
    review: bool,
    site: str,
    topic: str | None,
    message: str | None,
    author: str,
    validate: Callable[[], ValidationReport],
) -> PushResult:
    """Validate the work tree, commit it, and push to ``review/<site>/<topic>`` (or main).

    Every argument is checked before the first git command: a bad one changes nothing.
    """
    if review:
        validate_branch_part(site, "site")
        if topic is not None:
            validate_branch_part(topic, "topic")
    if message is not None:
        _check_message(message)
    refuse_if_merging(repo)
    report = validate()
    if report.problems:
        raise CatalogInvalid(report.problems)
    changed = repo.all_local_changes()
    subject = message or ("Update " + ", ".join(changed[:3]) + (" ..." if len(changed) > 3 else ""))
    commit = repo.commit_all(subject, author)
    head = repo.rev("HEAD")
    if head is None:
        raise NotFound("commit", "HEAD", hint="the clone has no commits to push")
    upstream = repo.rev(UPSTREAM)
    if not review:
        if upstream is not None and repo.is_ancestor(head, upstream):
            return PushResult(PushStatus.UP_TO_DATE, MAIN, head, commit is not None, None)
        _push(repo, head, MAIN)
        repo.fetch()
        return PushResult(PushStatus.PUSHED, MAIN, head, commit is not None, None)
    if upstream is not None and repo.is_ancestor(head, upstream):
        raise ReviewError(
            "nothing to review: every local commit is already on main",
            hint="change some files first",
        )
    topic = topic or f"change-{head[:10]}"
    branch = review_branch(site, topic)
    _push(repo, head, branch)
    return PushResult(PushStatus.PUSHED, branch, head, commit is not None, f"{site}/{topic}")


def _trailer_approver(message: str) -> str | None:
    match = re.search(rf"^{APPROVAL_TRAILER}:\s*(.+)$", message, re.MULTILINE)
    return match.group(1).strip() if match else None


def _describe(repo: Repo, site: str, topic: str) -> Review:
    branch = f"{REVIEW_PREFIX}/{site}/{topic}"
    head = repo.rev(f"refs/remotes/{REMOTE}/{branch}")
    if head is None:
        raise NotFound(
            "review", f"{site}/{topic}", hint="`federation review list` shows open reviews"
        )
    tip_message = repo.git.out("log", "-1", "--format=%B", head)
    approver = _trailer_approver(tip_message)
    # An approval only counts on top of the commit it approved: the tip itself, with nothing
    # in its tree changed relative to its parent.
    if approver is not None:
        parent_tree = repo.git.out("rev-parse", f"{head}^^{{tree}}")
        if parent_tree != repo.git.out("rev-parse", f"{head}^{{tree}}"):
            approver = None
    reviewed = f"{head}^" if approver else head
    author, subject = repo.git.out("log", "-1", "--format=%an <%ae>%x00%s", reviewed).split("\0", 1)
    upstream = repo.rev(UPSTREAM)
    conflicts: list[str] = []
    if upstream is not None and not repo.is_ancestor(upstream, head):
        conflicts = merge_tree(repo, upstream, head)[1]
    return Review(
        name=f"{site}/{topic}",
        branch=branch,
        site=site,
        topic=topic,
        head=head,
        author=author,
        subject=subject,
        approved=approver is not None,
        approved_by=approver,
        merges_cleanly=not conflicts,
        conflicts=conflicts,
    )


def list_reviews(repo: Repo) -> list[Review]:
    repo.fetch()
    refs = repo.git.run(
        "for-each-ref", "--format=%(refname)", f"refs/remotes/{REMOTE}/{REVIEW_PREFIX}/"
    ).stdout.split()
    reviews = []
    for ref in sorted(refs):
        parts = ref.split("/")[4:]
        if len(parts) == 2:
            reviews.append(_describe(repo, parts[0], parts[1]))
    return reviews


def show_review(repo: Repo, name: str) -> ReviewDetail:
    site, topic = parse_review_name(name)
    repo.fetch()
    review = _describe(repo, site, topic)
    base = repo.git.out("merge-base", UPSTREAM, review.head) if repo.rev(UPSTREAM) else None
    span = [base, review.head] if base else ["--root", review.head]
    files = []
    for line in repo.git.run(
        "diff-tree", "-r", "--name-status", "--no-commit-id", *span
    ).stdout.splitlines():
        status, _, path = line.partition("\t")
        files.append({"status": status[:1], "path": path.split("\t")[-1]})
    diff = repo.git.run("diff", base, review.head).stdout if base else ""
    return ReviewDetail(review=review, files=files, diff=diff)


def approve(repo: Repo, name: str, approver: str, author: str) -> Review:
    """Record approval of the review's current tip, on the shared review branch."""
    site, topic = parse_review_name(name)
    repo.fetch()
    review = _describe(repo, site, topic)
    if review.approved:
        return review
    tree = repo.git.out("rev-parse", f"{review.head}^{{tree}}")
    message = f"Approve review {review.name}\n\n{APPROVAL_TRAILER}: {approver}\n"
    commit = repo.commit_tree(tree, [review.head], message, author)
    try:
        _push(repo, commit, review.branch)
    except PushRejected:
        raise ReviewError(
            f"review {review.name} changed while approving it",
            hint="show it again, then approve what is there now",
        ) from None
    repo.fetch()
    return _describe(repo, site, topic)


def merge_review(
    repo: Repo, name: str, author: str, validate_tree: Callable[[str], ValidationReport]
) -> ReviewMerge:
    """Merge an approved review into the remote main, then delete its branch."""
    site, topic = parse_review_name(name)
    repo.fetch()
    review = _describe(repo, site, topic)
    if not review.approved:
        raise ReviewError(
            f"review {review.name} is not approved",
            hint=f"`doltplane federation review approve {review.name}` first",
        )
    if not review.merges_cleanly:
        raise ReviewError(
            f"review {review.name} no longer merges cleanly into main: "
            + ", ".join(review.conflicts),
            hint="the author pulls, resolves and pushes the review again",
        )
    upstream = repo.rev(UPSTREAM)
    if upstream is None or repo.is_ancestor(upstream, review.head):
        status, commit = MergeStatus.FAST_FORWARD, review.head
        tree = repo.git.out("rev-parse", f"{commit}^{{tree}}")
    else:
        status = MergeStatus.MERGED
        tree = merge_tree(repo, upstream, review.head)[0]
        commit = repo.commit_tree(
            tree, [upstream, review.head], f"Merge review {review.name}", author
        )
    report = validate_tree(tree)
    if report.problems:
        raise CatalogInvalid(report.problems)
    _push(repo, commit, MAIN)
    _push(repo, "", review.branch, delete=True)
    repo.fetch()
    return ReviewMerge(review=review.name, status=status, commit=commit)
