"""Commits as doltplane reads them, and the first-parent rule for "what a branch held at t".

Shared by both engines: Dolt's log rows become :class:`Commit` (trailers parsed),
and a time resolves to the newest commit of a branch's first-parent line known to
be made at or before it. Commits that merges brought in never answer for a time:
the branch did not hold them then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from doltplane.errors import InvalidRevision
from doltplane.store import trailers
from doltplane.store.base import Commit
from doltplane.validation import utc


def parse_date(value: Any) -> dt.datetime:
    """A Dolt date as UTC: doltlite gives text, the server's driver a naive datetime."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC)


def dolt_date(moment: dt.datetime) -> str:
    """The ``--date`` argument Dolt's commit and merge take."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S")


def stamped(message: str, moment: dt.datetime | None = None) -> str:
    """``message`` with this commit's precise time. Call it inside the write transaction:
    writers are serialised there, so recorded times follow the order of commits."""
    return trailers.stamp(message, trailers.Trailers(time=moment or dt.datetime.now(dt.UTC)))


def with_time(args: list[str]) -> list[str]:
    """dolt_merge/dolt_commit arguments with the ``-m`` message stamped (see stamped)."""
    at = args.index("-m") + 1
    return [*args[:at], stamped(args[at]), *args[at + 1 :]]


def commit_from_row(
    commit_hash: str, author: str, email: str | None, date: Any, message: str
) -> Commit:
    shown, facts = trailers.parse(message or "")
    return Commit(
        hash=str(commit_hash),
        author=author,
        email=email or "",
        date=parse_date(date),
        message=shown,
        time=facts.time,
        replaces=facts.replaces,
        squashed=facts.squashed,
    )


class LineEntry:
    """One commit of a cached first-parent line, parsed only when first looked at."""

    __slots__ = ("_commit", "row")

    def __init__(self, row: Sequence[Any]) -> None:
        self.row = row
        self._commit: Commit | None = None

    @property
    def commit(self) -> Commit:
        if self._commit is None:
            self._commit = commit_from_row(*self.row)
        return self._commit


def walk_first_parents(rows: Sequence[Sequence[Any]], head: str) -> tuple[LineEntry, ...]:
    """The first-parent line from ``head`` out of log rows that end in their first parent's
    hash (``commit_hash, committer, email, date, message, parent_hash``)."""
    by_hash = {str(row[0]): row for row in rows}
    entries: list[LineEntry] = []
    current: str | None = head
    while current is not None and current in by_hash:
        row = by_hash.pop(current)  # pop: a malformed cycle cannot loop forever
        entries.append(LineEntry(row[:5]))
        current = None if row[5] is None else str(row[5])
    return tuple(entries)


def known_by(commit: Commit) -> dt.datetime:
    """The earliest moment the commit is known to exist: its recorded time, or (made by
    another tool) the end of the second its one-second date names."""
    return commit.time or commit.date + dt.timedelta(seconds=1)


def shown_time(moment: dt.datetime) -> str:
    return trailers.format_time(moment)


def commit_at(line: Sequence[LineEntry], moment: dt.datetime) -> str:
    """The commit of ``line`` (newest first) the branch stood at at ``moment``."""
    # the root commit is the empty database every Dolt database starts with, not a state
    # anyone wrote; a squash commit stands for the newest state it folded
    answerable = line[:-1]
    for entry in answerable:
        if known_by(entry.commit) <= moment:
            return entry.commit.hash
    if not answerable:
        raise InvalidRevision(shown_time(moment), "the branch has no commits yet")
    oldest = answerable[-1].commit
    since = shown_time(known_by(oldest))
    if oldest.squashed:
        raise InvalidRevision(
            shown_time(moment),
            f"older than the kept history (cleanup squashed what came before); "
            f"the oldest time still answerable is {since}",
            hint="use a later time",
        )
    raise InvalidRevision(
        shown_time(moment),
        f"before the first commit; the oldest time still answerable is {since}",
        hint="use a later time",
    )
