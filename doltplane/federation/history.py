"""Which commits changed which catalog files (``git log`` of paths), read-only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from doltplane.federation.repo import Repo
from doltplane.federation.results import CatalogChange

_FIELDS = "%H%x1f%aI%x1f%an%x1f%s"


def changes(repo: Repo, paths: Sequence[str], *, limit: int) -> list[CatalogChange]:
    """Commits reachable from HEAD that changed any of ``paths``, newest first."""
    if not paths or repo.head() is None:
        return []
    out = repo.git.run(
        "log",
        f"--max-count={limit}",
        f"--format=%x1e{_FIELDS}",
        "--name-only",
        "-z",
        "HEAD",
        "--",
        *paths,
    ).stdout
    found: list[CatalogChange] = []
    wanted = set(paths)
    for record in out.split("\x1e"):
        parts = [part.strip("\n") for part in record.split("\0")]
        if not parts[0]:
            continue
        commit, when, author, subject = parts[0].split("\x1f", 3)
        found.append(
            CatalogChange(
                commit=commit,
                time=dt.datetime.fromisoformat(when).astimezone(dt.UTC),
                author=author,
                subject=subject,
                paths=tuple(n for n in parts[1:] if n in wanted),
            )
        )
    return found
