"""The Dolt SQL both engines share: log, branches, tags, revisions, first-parent time
resolution, merges and conflicts as data, row history, diffs and the history squash.

Both engines speak Dolt's SQL with ``?`` parameters and ``"quoted"`` identifiers (the
server engine runs its connections with ``ANSI_QUOTES`` and turns ``?`` into its
driver's style through ``_sql``). What differs per engine is behind a few hooks: how a
Dolt procedure is called (``SELECT dolt_x(?)`` vs ``CALL DOLT_X(?)``), how a
transaction runs on a branch (``_run``), how a revision is read (``read``), where
history and diff rows come from, and how the squash is locked.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, suppress
from typing import Any, TypeVar

import sqlalchemy as sa

from doltplane.errors import (
    DatabaseBusy,
    DoltplaneError,
    EngineError,
    InvalidInput,
    InvalidRevision,
    MergeConflict,
    NotFound,
)
from doltplane.store import trailers
from doltplane.store.base import (
    MAIN,
    BranchInfo,
    Commit,
    ConflictRow,
    MergeResult,
    MergeStatus,
    Resolution,
    RowChange,
    RowVersion,
    SquashResult,
    Thinning,
)
from doltplane.store.scratch import SQUASH_PREFIX, is_leftover, is_scratch, scratch_branch_name
from doltplane.store.timeline import (
    LineEntry,
    commit_at,
    commit_from_row,
    dolt_date,
    parse_date,
    stamped,
    walk_first_parents,
    with_time,
)
from doltplane.validation import check_branch_name, check_revision, check_time, utc

T = TypeVar("T")

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_META_COLUMNS = {"commit_hash", "committer", "commit_date"}
_LINE_CACHE = 8
_LINE_EXTEND_STEPS = 16
_ABBREVIATED = re.compile(r"([0-9a-v]{7,64})((?:[~^][0-9]*)*)")
_AMBIGUOUS_SHOWN = 5
_ORDER_CACHE = 64
_PARENT_CACHE = 65_536


@functools.lru_cache(maxsize=256)
def _history_sql(source: str, key: tuple[str, ...]) -> str:
    where = " AND ".join(f"{ident(k)} = ?" for k in key) or "1"
    return f"SELECT * FROM {source} WHERE {where}"


def ident(name: str) -> str:
    """A table or column name, checked and double-quoted."""
    if not _IDENT.fullmatch(name):
        raise InvalidInput(f"not a table or column name: {name!r}")
    return f'"{name}"'


class _Conflicted(Exception):
    """Raised inside a merge transaction so that it rolls back, carrying the conflicts."""

    def __init__(self, rows: list[ConflictRow]) -> None:
        super().__init__("conflicts")
        self.rows = rows


class DoltSqlEngine:
    """The version-control half of an engine; see the module docstring.

    A subclass sets ``author``, ``_retries`` and ``_lock`` and implements the hooks below.
    """

    author: str
    _retries: int
    _lock: threading.Lock

    def _init_shared(self) -> None:
        self._known_commits: set[str] = set()
        self._lines: OrderedDict[str, tuple[LineEntry, ...]] = OrderedDict()
        self._orders: OrderedDict[frozenset[str], dict[str, int]] = OrderedDict()
        self._parents: OrderedDict[str, str | None] = OrderedDict()

    # --- writes: one retry loop for both engines ------------------------------
    def _run(
        self, fn: Callable[[sa.Connection], T], branch: str | None, *, begin: bool, what: str
    ) -> T:
        """Run ``fn`` on ``branch`` (in one write transaction when ``begin``), retried whole
        while another writer holds what it needs; then DatabaseBusy."""
        for attempt in range(self._retries + 1):
            try:
                return self._transaction(fn, branch, begin)
            except (DoltplaneError, _Conflicted):
                raise
            except OverflowError as exc:  # the driver binding an int beyond 64 bits
                raise InvalidInput(
                    f"{what}: a value is out of the database's range ({exc})"
                ) from None
            except Exception as exc:
                if not self._from_database(exc):
                    raise  # the caller's own error, not the database's
                if not self._retry_after(exc, last=attempt == self._retries):
                    raise self._translate(exc, what) from None
                if attempt < self._retries:
                    time.sleep(min(0.5, 0.01 * 2**attempt) * (0.5 + random.random()))
        raise DatabaseBusy(what, self._retries + 1)

    def write(
        self,
        fn: Callable[[sa.Connection], T],
        *,
        branch: str | None = None,
        message: Callable[[T], str | None] | None = None,
        author: str | None = None,
    ) -> T:
        def run(conn: sa.Connection) -> T:
            result = fn(conn)
            text = None if message is None else message(result)
            if text is not None:
                args = ["-A", "--skip-empty", "-m", stamped(text), *self._author_args(author)]
                self._exec(conn, self._call_sql("dolt_commit", len(args)), args)
            return result

        return self._run(run, branch, begin=True, what=f"write on {branch or MAIN}")

    # --- hooks each engine implements ---------------------------------------
    def _transaction(self, fn: Callable[[sa.Connection], T], branch: str | None, begin: bool) -> T:
        """One attempt of ``_run``: ``fn`` on a connection to ``branch``, inside a write
        transaction when ``begin`` (committed on return, rolled back on any error)."""
        raise NotImplementedError

    def _from_database(self, exc: BaseException) -> bool:
        """Whether ``exc`` came from the driver or SQLAlchemy (not from the caller's code)."""
        raise NotImplementedError

    def _retry_after(self, exc: BaseException, *, last: bool) -> bool:
        """Whether the failed attempt (``last``: the final one) is worth running again."""
        raise NotImplementedError

    def read(self, revision: str | None = None) -> AbstractContextManager[sa.Connection]:
        raise NotImplementedError

    def _sql(self, sql: str) -> str:
        """Shared SQL (``?`` parameters) in this engine's driver's parameter style."""
        return sql

    def _call_sql(self, function: str, count: int) -> str:
        """The statement calling the Dolt procedure ``function`` with ``count`` arguments."""
        raise NotImplementedError

    def _primary_key(self, conn: sa.Connection, table: str) -> list[str]:
        raise NotImplementedError

    def _hash_of(self, revision: str) -> str:
        """The commit ``revision`` names as Dolt resolves it; InvalidRevision otherwise."""
        raise NotImplementedError

    def _history_source(self, table: str, revision: str | None) -> tuple[str, list[Any]]:
        """``FROM`` text of ``table``'s row history at ``revision`` (None: main) and its
        parameters."""
        raise NotImplementedError

    def _diff_source(self, table: str) -> str:
        """``FROM`` text of ``table``'s changes between two commits given as parameters."""
        raise NotImplementedError

    def _merge_call(self, conn: sa.Connection, args: list[str], source_hash: str) -> MergeStatus:
        """Run Dolt's merge in the open transaction: its outcome, or _Conflicted."""
        raise NotImplementedError

    def _replace_row(self, table: sa.Table) -> sa.Insert:
        """An insert of ``table`` that replaces the row of the same key."""
        raise NotImplementedError

    def _branch_connection(self, branch: str) -> AbstractContextManager[Any]:
        """A driver connection on ``branch`` in autocommit, for the squash's replays
        (``execute(sql, params)`` with shared SQL)."""
        raise NotImplementedError

    def _squash_guard(self) -> AbstractContextManager[bool]:
        """Held while this process squashes; yields False when another squash runs."""
        raise NotImplementedError

    def _drop_branch_engine(self, name: str) -> None:
        """Forget what is cached for the branch ``name`` (about to be deleted)."""

    def _drop_revision(self, commit: str) -> None:
        """Forget what is cached for reading ``commit`` (gone after a squash and gc)."""

    def reset_connections(self) -> None:
        raise NotImplementedError

    def _translate(self, exc: BaseException, what: str) -> DoltplaneError:
        """A driver error as the doltplane error a caller can act on."""
        raise NotImplementedError

    def _exec(self, conn: sa.Connection, sql: str, params: Sequence[Any] = ()) -> Any:
        return conn.exec_driver_sql(self._sql(sql), tuple(params))

    def _call(self, function: str, args: Sequence[Any], *, branch: str | None = None) -> Any:
        """``SELECT dolt_<function>(args...)`` in autocommit on ``branch``; its single value."""
        sql = self._call_sql(function, len(args))

        def run(conn: sa.Connection) -> Any:
            return self._exec(conn, sql, tuple(args)).scalar()

        return self._run(run, branch, begin=False, what=function)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.read() as conn:
            return list(self._exec(conn, sql, tuple(params)).fetchall())

    def _history_read(self, *commits: str) -> AbstractContextManager[sa.Connection]:
        """Where log, row history and diff reads run: a read replica, if the engine has one
        and it holds ``commits``; else the live database."""
        return self.read()

    def _history_query(
        self, sql: str, params: Sequence[Any] = (), commits: Sequence[str] = ()
    ) -> list[Any]:
        with self._history_read(*commits) as conn:
            return list(self._exec(conn, sql, tuple(params)).fetchall())

    # --- commits and branches ------------------------------------------
    def _author_args(self, author: str | None) -> list[str]:
        return ["--author", author or self.author]

    def commit(
        self,
        message: str,
        *,
        author: str | None = None,
        branch: str | None = None,
        allow_empty: bool = False,
        date: dt.datetime | None = None,
    ) -> str | None:
        def run(conn: sa.Connection) -> Any:
            # stamped inside the transaction: see _stamped
            text = stamped(message, None if date is None else utc(date))
            args = ["-A", "--allow-empty" if allow_empty else "--skip-empty", "-m", text]
            args += self._author_args(author)
            if date is not None:
                args += ["--date", dolt_date(date)]
            sql = self._call_sql("dolt_commit", len(args))
            return self._exec(conn, sql, tuple(args)).scalar()

        result = self._run(run, branch, begin=True, what="dolt_commit")
        return str(result) if result not in (None, 0, "0", "") else None

    def log(self, revision: str | None = None, *, limit: int | None = None) -> list[Commit]:
        rev = None if revision is None else self.resolve_revision(revision)
        sql = "SELECT commit_hash, committer, email, date, message FROM " + (
            "dolt_log(?)" if rev else "dolt_log"
        )
        params: list[Any] = [rev] if rev else []
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        commits = [rev] if rev else []
        return [commit_from_row(*row) for row in self._history_query(sql, params, commits)]

    def commit_count(self, revision: str | None = None) -> int:
        rev = None if revision is None else self.resolve_revision(revision)
        sql = "SELECT count(*) FROM " + ("dolt_log(?)" if rev else "dolt_log")
        return int(self._history_query(sql, [rev] if rev else [], [rev] if rev else [])[0][0])

    def branches(self) -> list[BranchInfo]:
        rows = self._query(
            "SELECT name, hash, latest_commit_date, latest_commit_message, latest_committer "
            "FROM dolt_branches ORDER BY name"
        )
        return [
            BranchInfo(n, h, parse_date(d), trailers.parse(m or "")[0], a) for n, h, d, m, a in rows
        ]

    def has_branch(self, name: str) -> bool:
        rows = self._query("SELECT 1 FROM dolt_branches WHERE name = ?", [name])
        return bool(rows)

    def create_branch(self, name: str, start: str | None = None) -> None:
        check_branch_name(name)
        if self.has_branch(name):
            raise InvalidInput(f"branch {name!r} already exists")
        start_hash = self.resolve_revision(start or MAIN)
        self._call("dolt_branch", [name, start_hash])

    def create_tag(self, name: str, revision: str | None = None) -> str:
        check_branch_name(name)  # tags follow the same naming rules
        if self._query("SELECT 1 FROM dolt_tags WHERE tag_name = ?", [name]):
            raise InvalidInput(f"tag {name!r} already exists")
        commit = self.resolve_revision(revision or MAIN)
        self._call("dolt_tag", [name, commit])
        return commit

    def delete_branch(self, name: str, *, force: bool = False) -> None:
        check_branch_name(name)
        if name == MAIN:
            raise InvalidInput("the main branch cannot be deleted")
        if not self.has_branch(name):
            raise NotFound("branch", name)
        self._drop_branch_engine(name)
        self._call("dolt_branch", ["-D" if force else "-d", name])

    def is_dirty(self, branch: str | None = None) -> bool:
        rows = self._query("SELECT dirty FROM dolt_branches WHERE name = ?", [branch or MAIN])
        if not rows:
            raise NotFound("branch", branch or MAIN)
        if not rows[0][0]:
            return False

        # Dolt also calls a branch dirty for changes to dolt_ignore'd tables (the heartbeat
        # log), which no commit records: what a commit would record is what dolt_status lists
        def pending(conn: sa.Connection) -> bool:
            return bool(self._exec(conn, "SELECT count(*) FROM dolt_status").scalar())

        return self._run(pending, branch, begin=False, what="dolt_status")

    def resolve_revision(self, revision: str) -> str:
        if revision in self._known_commits:  # a commit hash names itself while it exists
            return revision
        check_revision(revision)
        try:
            commit = self._hash_of(revision)
        except InvalidRevision as refused:
            # what tables print: a hash prefix, or a hash a history squash replaced
            found = self._resolve_abbreviated(revision)
            if found is None:
                raise refused from None
            commit = found
        with self._lock:
            if len(self._known_commits) > 4096:
                self._known_commits.clear()
            self._known_commits.add(commit)
        return commit

    def _forget_commits(self) -> None:
        with self._lock:
            self._known_commits.clear()

    def _forget_commit(self, commit: str) -> None:
        with self._lock:
            self._known_commits.discard(commit)
        self._drop_revision(commit)

    def _resolve_abbreviated(self, revision: str) -> str | None:
        """The commit a unique hash prefix (7+ characters, optionally with ``~n``) names,
        looked up among every branch's and tag's commits and the hashes squashes replaced;
        None when nothing matches, InvalidRevision when several commits do."""
        match = _ABBREVIATED.fullmatch(revision)
        if match is None:
            return None
        prefix, suffix = match.groups()
        with self.read() as conn:
            stored = set(
                self._exec(
                    conn,
                    "SELECT DISTINCT commit_hash FROM dolt_commit_ancestors "
                    "WHERE commit_hash LIKE ?",
                    (prefix + "%",),
                ).scalars()
            )
            replaced = {
                old: new
                for old, new in self._replaced_hashes(conn, prefix).items()
                if old not in stored
            }
        matches = sorted(stored | set(replaced))
        if not matches:
            return None
        if len(matches) > 1:
            shown = ", ".join(m[:12] for m in matches[:_AMBIGUOUS_SHOWN])
            more = "" if len(matches) <= _AMBIGUOUS_SHOWN else ", ..."
            raise InvalidRevision(
                revision,
                f"ambiguous: {len(matches)} commits begin with {prefix} ({shown}{more})",
                hint="give more characters of the hash",
            )
        commit = replaced.get(matches[0], matches[0])
        return self._hash_of(commit + suffix) if suffix else commit

    def _replaced_hashes(self, conn: sa.Connection, prefix: str) -> dict[str, str]:
        """Old hashes beginning with ``prefix`` that a squash replayed, each with the commit
        now holding its content (main's first when several branches carry one)."""
        branches = self._exec(conn, "SELECT name FROM dolt_branches").scalars().all()
        ordered = sorted(branches, key=lambda name: (name != MAIN, name))
        pattern = f"%{trailers.REPLACES}: {prefix}%"
        found: dict[str, str] = {}
        for branch in ordered:
            rows = self._exec(
                conn,
                "SELECT commit_hash, message FROM dolt_log(?) WHERE message LIKE ?",
                (branch, pattern),
            ).fetchall()
            for commit_hash, message in rows:
                for old in trailers.parse(message)[1].replaces:
                    if old.startswith(prefix):
                        found.setdefault(old, str(commit_hash))
        return found

    def first_parent_line(self, revision: str | None = None) -> list[Commit]:
        return [entry.commit for entry in self._line(self.resolve_revision(revision or MAIN))]

    def _line(self, head: str) -> tuple[LineEntry, ...]:
        """The first-parent line from ``head``, newest first, cached by head hash (a
        commit's ancestry never changes). A head a few commits past a cached one costs a
        few single-commit lookups; anything else reads the whole log once."""
        with self._lock:
            cached = self._lines.get(head)
        if cached is not None:
            return cached
        line = self._extend_cached_line(head)
        if line is None:
            rows = self._query(
                "SELECT l.commit_hash, l.committer, l.email, l.date, l.message, a.parent_hash "
                "FROM dolt_log(?) AS l LEFT JOIN dolt_commit_ancestors AS a "
                "ON a.commit_hash = l.commit_hash AND a.parent_index = 0",
                [head],
            )
            line = walk_first_parents(rows, head)
        with self._lock:
            self._lines[head] = line
            while len(self._lines) > _LINE_CACHE:
                self._lines.popitem(last=False)
        return line

    def _extend_cached_line(self, head: str) -> tuple[LineEntry, ...] | None:
        newer: list[LineEntry] = []
        current = head
        with self.read() as conn:
            for _ in range(_LINE_EXTEND_STEPS):
                with self._lock:
                    cached = self._lines.get(current)
                    if not self._lines:
                        return None
                if cached is not None:
                    return (*newer, *cached)
                row = self._exec(
                    conn,
                    "SELECT commit_hash, committer, email, date, message FROM dolt_log(?) LIMIT 1",
                    (current,),
                ).fetchone()
                parent = self._exec(
                    conn,
                    "SELECT parent_hash FROM dolt_commit_ancestors "
                    "WHERE commit_hash = ? AND parent_index = 0",
                    (current,),
                ).scalar()
                if row is None:
                    return None
                newer.append(LineEntry(tuple(row)))
                if parent is None:
                    return tuple(newer)
                current = str(parent)
        return None

    def first_parents(self, commits: Sequence[str]) -> dict[str, str]:
        # a commit's parents are part of its hash: remembered, they never go stale
        known = self._parents
        missing = [c for c in dict.fromkeys(commits) if c not in known]
        for start in range(0, len(missing), 500):
            part = missing[start : start + 500]
            _, rows = self._live_rows(
                "SELECT commit_hash, parent_hash FROM dolt_commit_ancestors "
                f"WHERE parent_index = 0 AND commit_hash IN ({', '.join('?' * len(part))})",
                part,
            )
            found = {str(c): str(p) for c, p in rows if p is not None}
            with self._lock:
                for commit in part:
                    known[commit] = found.get(commit)
                while len(known) > _PARENT_CACHE:
                    known.popitem(last=False)
        return {c: p for c in commits if (p := known.get(c)) is not None}

    def resolve_time(self, when: dt.datetime, *, branch: str | None = None) -> str:
        moment = check_time(when)
        return commit_at(self._line(self.resolve_revision(branch or MAIN)), moment)

    def merge_base(self, a: str, b: str) -> str:
        rows = self._query(
            "SELECT dolt_merge_base(?, ?)", [self.resolve_revision(a), self.resolve_revision(b)]
        )
        return str(rows[0][0])

    # --- merges ------------------------------------------------------------
    def _merge_args(self, source: str, message: str | None, author: str | None) -> list[str]:
        args = ["--no-ff", "-m", message or f"Merge {source}"]
        return [*args, *self._author_args(author), source]

    def _conflict_rows(self, conn: sa.Connection) -> list[ConflictRow]:
        out: list[ConflictRow] = []
        tables = self._exec(conn, 'SELECT "table" FROM dolt_conflicts').scalars().all()
        for table in tables:
            pk = self._primary_key(conn, table)
            result = self._exec(conn, f"SELECT * FROM {ident('dolt_conflicts_' + table)}")
            columns = list(result.keys())
            for values in result.fetchall():
                row = dict(zip(columns, values, strict=True))
                sides = {
                    side: {
                        c[len(side) + 1 :]: v for c, v in row.items() if c.startswith(side + "_")
                    }
                    for side in ("base", "our", "their")
                }
                for side in ("our", "their"):
                    sides[side].pop("diff_type", None)
                removed = {
                    "our": row.get("our_diff_type") == "removed",
                    "their": row.get("their_diff_type") == "removed",
                }

                def present(
                    side: str,
                    sides: dict[str, dict[str, Any]] = sides,
                    gone: dict[str, bool] = removed,
                ) -> dict[str, Any] | None:
                    values = sides[side]
                    if gone.get(side) or all(v is None for v in values.values()):
                        return None
                    return values

                base, ours, theirs = present("base"), present("our"), present("their")
                some = ours or theirs or base or {}
                out.append(ConflictRow(table, {k: some.get(k) for k in pk}, base, ours, theirs))
        return out

    def merge(
        self,
        source: str,
        *,
        into: str | None = None,
        message: str | None = None,
        author: str | None = None,
        no_ff: bool = True,
    ) -> MergeResult:
        target = into or MAIN
        source_hash = self.resolve_revision(source)
        args = self._merge_args(source, message, author)
        if not no_ff:
            args.remove("--no-ff")
        try:
            status = self._run(
                lambda conn: self._merge_call(conn, with_time(args), source_hash),
                target,
                begin=True,
                what=f"merge {source} into {target}",
            )
        except _Conflicted as conflicted:
            return MergeResult(MergeStatus.CONFLICT, source, target, None, tuple(conflicted.rows))
        commit = None if status is MergeStatus.UP_TO_DATE else self.resolve_revision(target)
        return MergeResult(status, source, target, commit)

    def resolve_merge(
        self,
        source: str,
        resolution: Resolution,
        *,
        into: str | None = None,
        message: str | None = None,
        author: str | None = None,
    ) -> MergeResult:
        target = into or MAIN
        source_hash = self.resolve_revision(source)
        if isinstance(resolution, str) and resolution not in ("ours", "theirs"):
            raise InvalidInput(f"resolution must be 'ours', 'theirs' or rows, got {resolution!r}")
        args = self._merge_args(source, message, author)
        message_text = args[args.index("-m") + 1]

        def finish(conn: sa.Connection) -> tuple[MergeStatus, str | None]:
            try:
                status = self._merge_call(conn, with_time(args), source_hash)
            except _Conflicted as conflicted:
                self._apply_resolution(conn, conflicted.rows, resolution, source)
                commit_args = ["-A", "-m", stamped(message_text), *self._author_args(author)]
                sql = self._call_sql("dolt_commit", len(commit_args))
                return MergeStatus.MERGED, str(self._exec(conn, sql, tuple(commit_args)).scalar())
            return status, None

        status, commit = self._run(
            finish, target, begin=True, what=f"resolve merge of {source} into {target}"
        )
        if commit is None and status is not MergeStatus.UP_TO_DATE:
            commit = self.resolve_revision(target)
        return MergeResult(status, source, target, commit)

    def _apply_resolution(
        self, conn: sa.Connection, rows: list[ConflictRow], resolution: Resolution, source: str
    ) -> None:
        """Finish the open conflicted merge: one side wins, or the caller's final rows.

        Final rows may name only conflicting keys (a row for any other key would silently
        replace a change the merge brought in), and must name every one of them. Their
        values are bound through the table's own column types, read from the database.
        Everything is checked before the first write, so a refusal rolls back to nothing.
        """
        tables = sorted({r.table for r in rows})
        if isinstance(resolution, str):
            for table in tables:
                self._exec(
                    conn, self._call_sql("dolt_conflicts_resolve", 2), (f"--{resolution}", table)
                )
            return
        strays = sorted(set(resolution) - set(tables))
        if strays:
            raise InvalidInput(
                f"final rows for table {strays[0]!r}, which is not in the conflict",
                hint=f"conflicting tables: {', '.join(tables)}",
            )
        writes: list[tuple[sa.Table, list[Mapping[str, Any]]]] = []
        for table in tables:
            pk = self._primary_key(conn, table)
            wanted = {tuple(r.key[k] for k in pk) for r in rows if r.table == table}
            given: dict[tuple[Any, ...], Mapping[str, Any]] = {}
            for final in resolution.get(table, ()):
                key = tuple(final.get(k) for k in pk)
                if key in given:
                    raise InvalidInput(f"two final rows for {table} key {key!r}")
                if key not in wanted:
                    raise InvalidInput(
                        f"final row for {table} key {dict(zip(pk, key, strict=True))!r} "
                        "is not in the conflict",
                        hint="give rows only for conflicting keys; the others merge by themselves",
                    )
                given[key] = final
            missing = [
                r.key for r in rows if r.table == table and tuple(r.key[k] for k in pk) not in given
            ]
            if missing:
                raise MergeConflict(
                    source, [table], missing, hint="give a final row for every conflicting key"
                )
            reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
            unknown = sorted({c for f in given.values() for c in f} - set(reflected.c.keys()))
            if unknown:
                raise InvalidInput(f"final rows for {table} name unknown column(s): {unknown}")
            writes.append((reflected, list(given.values())))
        for reflected, finals in writes:
            try:
                for final in finals:
                    conn.execute(self._replace_row(reflected), _json_as_text(reflected, final))
            except sa.exc.StatementError as exc:
                if isinstance(exc, sa.exc.DBAPIError) and not isinstance(
                    exc, sa.exc.IntegrityError
                ):
                    raise
                reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
                raise InvalidInput(
                    f"final row for {reflected.name} cannot be stored: {reason}"
                ) from None
            self._exec(conn, f"DELETE FROM {ident('dolt_conflicts_' + reflected.name)}")

    # --- history -----------------------------------------------------------
    def row_history(
        self, table: str, key: Mapping[str, Any], *, revision: str | None = None
    ) -> list[RowVersion]:
        rev = None if revision is None else self.resolve_revision(revision)
        source, source_params = self._history_source(table, rev)
        sql = _history_sql(source, tuple(key))
        commits = (rev,) if rev else ()
        columns, rows = self._history_rows(sql, [*source_params, *key.values()], commits)
        commit_at, committer_at, date_at = (
            columns.index("commit_hash"),
            columns.index("committer"),
            columns.index("commit_date"),
        )
        data = [(n, c) for n, c in enumerate(columns) if c not in _META_COLUMNS]
        result = [
            RowVersion(
                commit=values[commit_at],
                date=parse_date(values[date_at]),
                author=values[committer_at],
                row={c: values[n] for n, c in data},
            )
            for values in rows
        ]
        if len({v.date for v in result}) < len(result):
            # commit dates have one-second resolution: break ties by the log's
            # topological order (newest first), not by however the rows came back
            position = self._log_positions(rev, frozenset(v.commit for v in result))
            result.sort(key=lambda v: position.get(v.commit, len(position)))
        return result

    def _log_positions(self, rev: str | None, commits: frozenset[str]) -> dict[str, int]:
        """Where each of ``commits`` stands in the log (newest first). Commits are immutable,
        so their order is remembered per set: a history read again skips the log walk."""
        cached = self._orders.get(commits)
        if cached is not None:
            return cached
        log = "dolt_log(?)" if rev is not None else "dolt_log"
        given = (rev,) if rev is not None else ()
        _, rows = self._history_rows(f"SELECT commit_hash FROM {log}", given, given)
        position = {h: i for i, (h,) in enumerate(rows) if h in commits}
        with self._lock:
            self._orders[commits] = position
            while len(self._orders) > _ORDER_CACHE:
                self._orders.popitem(last=False)
        return position

    def _live_rows(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[Any]]:
        """Column names and rows of a read (shared SQL) of the live database."""
        with self.read() as conn:
            cursor = self._exec(conn, sql, tuple(params))
            return list(cursor.keys()), list(cursor.fetchall())

    def _history_rows(
        self, sql: str, params: Sequence[Any], commits: Sequence[str]
    ) -> tuple[list[str], list[Any]]:
        """Column names and rows of a history read (shared SQL) where ``_history_read``
        runs it."""
        with self._history_read(*commits) as conn:
            cursor = self._exec(conn, sql, tuple(params))
            return list(cursor.keys()), list(cursor.fetchall())

    def diff(self, table: str, from_revision: str, to_revision: str) -> Iterator[RowChange]:
        start = self.resolve_revision(from_revision)
        end = self.resolve_revision(to_revision)
        with self._history_read(start, end) as conn:
            pk = self._primary_key(conn, table)
            cursor = self._exec(conn, f"SELECT * FROM {self._diff_source(table)}", (start, end))
            columns = list(cursor.keys())
            rows = cursor.fetchall()
        for values in rows:
            row = dict(zip(columns, values, strict=True))
            kind = row["diff_type"]
            before = {c[5:]: v for c, v in row.items() if c.startswith("from_")}
            after = {c[3:]: v for c, v in row.items() if c.startswith("to_")}
            for side in (before, after):
                side.pop("commit", None)
                side.pop("commit_date", None)
            source = after if kind != "removed" else before
            yield RowChange(
                table,
                kind,
                {k: source.get(k) for k in pk},
                None if kind == "added" else before,
                None if kind == "removed" else after,
            )

    def squash_before(
        self, cutoff: dt.datetime, *, branch: str | None = None, thin: Thinning | None = None
    ) -> SquashResult:
        """Fold old history (and with ``thin``, drop the commits thinning does not keep);
        when commits land meanwhile (or another process's gc drops what this one read),
        start over: ``branch`` moves only from the tip that was rewritten, so no commit
        made meanwhile is ever lost, and giving up changes nothing. While it runs,
        ``squash_running()`` is true in every process, so that cadence snapshots can wait
        instead of racing it (replaying a week of snapshots takes minutes)."""
        with self._squash_guard() as granted:
            if not granted:
                raise DatabaseBusy(f"squash of {branch or MAIN} (another squash is running)", 1)
            return self._squash(cutoff, branch or MAIN, thin)

    def _squash(self, cutoff: dt.datetime, branch: str, thin: Thinning | None) -> SquashResult:
        failure: DoltplaneError | None = None
        for attempt in range(self._retries + 1):
            if attempt:
                time.sleep(min(0.5, 0.01 * 2**attempt) * (0.5 + random.random()))
            history = self.log(branch)
            cut = next((i for i, c in enumerate(history) if c.date < utc(cutoff)), len(history))
            folded = history[cut:-1]  # the root commit stays as the parent of the squash
            newer = history[:cut]
            if len(folded) < 2:  # nothing to fold: the old commits stay as they are
                newer = history[:-1]
                folded = []
            kept = thin.keep(newer) if thin is not None else newer
            thinned = len(newer) - len(kept)
            if not folded and not thinned:
                return SquashResult(len(history), len(history), 0)
            # the scratch branch keeps the new commits reachable (from any process's gc)
            # until the branch points at them
            scratch = scratch_branch_name(SQUASH_PREFIX)
            try:
                new_tip = self._rewrite(history, folded, kept, scratch)
                if self._move_branch(branch, history[0].hash, new_tip):
                    after = len(kept) + (2 if folded else 1)
                    return SquashResult(len(history), after, len(folded), thinned)
                failure = None
            except (EngineError, InvalidRevision, DatabaseBusy) as exc:
                failure = exc  # raced a gc or a writer: read the history afresh
                self.reset_connections()
            finally:
                self._drop_scratch(scratch)
        if failure is not None:
            raise failure
        raise DatabaseBusy(f"squash of {branch}", self._retries + 1)

    def _drop_scratch(self, name: str) -> None:
        with suppress(DoltplaneError):  # left behind: a leftover once this process is gone
            if self.has_branch(name):
                self._call("dolt_branch", ["-D", name])

    def remove_scratch_leftovers(self, *, dry_run: bool = False) -> list[str]:
        """Delete scratch branches (squash, merge preview) whose owner is gone; their names."""
        names = [
            str(name)
            for (name,) in self._query("SELECT name FROM dolt_branches")
            if is_scratch(str(name)) and is_leftover(str(name))
        ]
        if not dry_run:
            for name in names:
                self._drop_branch_engine(name)
                try:
                    self._call("dolt_branch", ["-D", name])
                except DoltplaneError:
                    if self.has_branch(name):
                        raise
                    # another process removed it first
        return sorted(names)

    def _rewrite(
        self, history: list[Commit], folded: list[Commit], kept: list[Commit], scratch: str
    ) -> str:
        """Build the new history on the branch ``scratch`` (``history`` is the branch's log,
        newest first): the squash commit of ``folded`` if any, then ``kept`` replayed with
        their original content, message, author and date. Without a fold, the commits
        older than the first one thinning dropped stay as they are, hashes and all."""
        if folded:
            base, replay = history[-1], kept
        else:
            dropped = {c.hash for c in history} - {c.hash for c in kept} - {history[-1].hash}
            oldest = max(i for i, c in enumerate(history) if c.hash in dropped)
            newer = {c.hash for c in history[:oldest]}
            base, replay = history[oldest + 1], [c for c in kept if c.hash in newer]
        self._call("dolt_branch", [scratch, folded[0].hash if folded else base.hash])
        try:
            commit_sql = self._call_sql("dolt_commit", 8)
            reset_sql = self._call_sql("dolt_reset", 2)
            with self._branch_connection(scratch) as conn:

                def recommit(message: str, who: Commit, squashed: int = 0) -> str:
                    # the replay keeps the precise time and answers to every earlier hash
                    facts = trailers.Trailers(
                        time=who.time,
                        replaces=trailers.carried(who.replaces, who.hash),
                        squashed=squashed,
                    )
                    author = f"{who.author} <{who.email or 'unknown@localhost'}>"
                    return str(
                        conn.execute(
                            commit_sql,
                            (
                                *("-A", "--allow-empty", "-m", trailers.stamp(message, facts)),
                                *("--author", author, "--date", dolt_date(who.date)),
                            ),
                        ).fetchone()[0]
                    )

                tip = base.hash
                if folded:
                    newest_folded = folded[0]
                    conn.execute(reset_sql, ("--soft", base.hash))
                    tip = recommit(
                        f"doltplane: squashed {len(folded)} commits up to "
                        f"{newest_folded.date:%Y-%m-%d %H:%M:%S}",
                        newest_folded,
                        squashed=len(folded),
                    )
                for commit in reversed(replay):
                    conn.execute(reset_sql, ("--hard", commit.hash))
                    conn.execute(reset_sql, ("--soft", tip))
                    tip = recommit(commit.message, commit, squashed=commit.squashed)
            self._forget_commits()  # the kept commits are about to answer to new hashes
            return tip
        except DoltplaneError:
            raise
        except Exception as exc:
            raise self._translate(exc, "squash history") from None

    def _move_branch(self, branch: str, expected_tip: str, new_tip: str) -> bool:
        """Point ``branch`` at ``new_tip`` keeping its working set, if nobody committed since."""

        def move(conn: sa.Connection) -> bool:
            current = self._exec(conn, "SELECT dolt_hashof('HEAD')").scalar()
            if current != expected_tip:
                return False
            self._exec(conn, self._call_sql("dolt_reset", 2), ("--soft", new_tip))
            return True

        return self._run(move, branch, begin=True, what=f"move {branch}")

    def tags(self) -> dict[str, str]:
        rows = self._query("SELECT tag_name, tag_hash FROM dolt_tags ORDER BY tag_name")
        return {str(name): str(commit) for name, commit in rows}


def _json_as_text(table: sa.Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` with documents encoded for columns that hold JSON as text (a server keeps
    JSON in LONGTEXT, since Dolt's JSON type rounds big integers); the reflected type of
    such a column is text, which would not encode a mapping or list itself."""
    out = dict(row)
    for name, value in row.items():
        if isinstance(value, dict | list) and not isinstance(table.c[name].type, sa.JSON):
            out[name] = json.dumps(value)
    return out
