"""The embedded engine: one doltlite file per plane, no server.

Facts this module is built on (see shared/DOLTLITE_NOTES.md):
- uncommitted changes belong to a branch, and ``dolt_checkout`` sticks to a
  pooled connection, so every branch gets its own engine whose connections
  open ``file.db@branch``;
- one durable writer per file: writes run in ``BEGIN IMMEDIATE`` with a busy
  timeout, and the whole transaction is retried a bounded number of times;
- revisions are read by opening ``file.db@<hash>`` read-only, which uses
  secondary indexes (``dolt_at_<t>`` does not) and never blocks a writer.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import threading
import time
import typing
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import sqlalchemy as sa

from doltplane.config import Settings
from doltplane.errors import (
    DatabaseBusy,
    DoltplaneError,
    EngineError,
    InvalidInput,
    InvalidRevision,
    MergeConflict,
    NotADoltDatabase,
    NotFound,
    UnsupportedOperation,
)
from doltplane.store.base import (
    MAIN,
    BranchInfo,
    Commit,
    ConflictRow,
    Engine,
    MergeResult,
    MergeStatus,
    Resolution,
    RowChange,
    RowVersion,
    SquashResult,
)
from doltplane.store.loader import check_database_file, sqlite_module
from doltplane.validation import check_branch_name, check_revision, utc

T = TypeVar("T")

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_META_COLUMNS = {"commit_hash", "committer", "commit_date"}
_READ_ENGINE_CACHE = 16


def _ident(name: str) -> str:
    if not _IDENT.fullmatch(name):
        raise InvalidInput(f"not a table or column name: {name!r}")
    return f'"{name}"'


def _parse_date(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(str(text)).replace(tzinfo=dt.UTC)


def _dolt_date(moment: dt.datetime) -> str:
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S")


def _driver_error(exc: BaseException) -> BaseException | None:
    """The DBAPI error inside ``exc`` (SQLAlchemy wraps it), or None for a non-driver error."""
    sqlite3 = sqlite_module()
    if isinstance(exc, sa.exc.DBAPIError):
        return exc.orig if isinstance(exc.orig, BaseException) else None
    if isinstance(exc, sqlite3.Error):
        return typing.cast(BaseException, exc)  # the module is typed as a plain ModuleType
    return None


def _is_busy(exc: BaseException) -> bool:
    orig = _driver_error(exc)
    if orig is None:
        return False
    code = getattr(orig, "sqlite_errorcode", 0) or 0
    return (code & 0xFF) in (5, 6) or "database is locked" in str(orig)


def translate(exc: BaseException, what: str) -> DoltplaneError:
    """A driver or SQLAlchemy error as the doltplane error a caller can act on."""
    orig = _driver_error(exc) or exc
    text = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
    lowered = text.lower()
    if "not found" in lowered and ("revision" in lowered or "branch" in lowered):
        return InvalidRevision(what, text)
    if "invalid ref spec" in lowered or "invalid ancestor spec" in lowered:
        return InvalidRevision(what, text)
    if "file is not a database" in lowered or "stock sqlite" in lowered:
        return NotADoltDatabase(what, text)
    return EngineError(f"{what}: {text}")


# sqlite3 authorizer action codes that only read (and functions, but not loading extensions)
_SQLITE_READ, _SQLITE_SELECT, _SQLITE_FUNCTION, _SQLITE_RECURSIVE = 20, 21, 31, 33


def _read_only_authorizer(
    action: int, arg1: str | None, arg2: str | None, db: str | None, src: str | None
) -> int:
    sqlite3 = sqlite_module()
    if action in (_SQLITE_READ, _SQLITE_SELECT, _SQLITE_RECURSIVE):
        return int(sqlite3.SQLITE_OK)
    if action == _SQLITE_FUNCTION and (arg2 or "").lower() != "load_extension":
        return int(sqlite3.SQLITE_OK)
    return int(sqlite3.SQLITE_DENY)


class _Conflicted(Exception):
    """Raised inside a merge transaction so that it rolls back, carrying the conflicts."""

    def __init__(self, rows: list[ConflictRow]) -> None:
        super().__init__("conflicts")
        self.rows = rows


class DoltliteEngine:
    """One plane's doltlite file; see the module docstring for how it uses the engine."""

    name = "doltlite"

    def __init__(self, path: Path, settings: Settings) -> None:
        self._sqlite = sqlite_module()
        self.path = Path(path).resolve()
        self.location = str(self.path)
        self.author = settings.author
        self._timeout = settings.busy_timeout_ms / 1000
        self._retries = settings.write_retries
        self._lock = threading.Lock()
        self._writers: dict[str, sa.Engine] = {}
        self._readers: OrderedDict[str | None, sa.Engine] = OrderedDict()
        self._known_commits: set[str] = set()
        check_database_file(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._raw(None, read_only=False) as conn:
                kind = conn.execute("SELECT doltlite_engine()").fetchone()
        except DoltplaneError:
            raise
        except Exception as exc:
            raise translate(exc, str(self.path)) from None
        if not kind or kind[0] != "prolly":
            raise NotADoltDatabase(str(self.path), "it is a stock SQLite database")

    # --- connections -------------------------------------------------------
    def _uri(self, target: str | None, read_only: bool) -> str:
        uri = "file:" + quote(str(self.path))
        if target:
            uri += "@" + quote(target, safe="/~")
        return uri + ("?mode=ro" if read_only else "")

    def _open(self, target: str | None, read_only: bool) -> Any:
        try:
            conn = self._sqlite.connect(
                self._uri(target, read_only),
                uri=True,
                timeout=self._timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except Exception as exc:
            raise translate(exc, target or str(self.path)) from None
        return conn

    @contextmanager
    def _raw(self, target: str | None, read_only: bool) -> Iterator[Any]:
        conn = self._open(target, read_only)
        try:
            yield conn
        finally:
            conn.close()

    def _make_engine(self, target: str | None, read_only: bool) -> sa.Engine:
        # the URL is a placeholder: every connection comes from the creator
        engine = sa.create_engine(
            "sqlite://",
            creator=lambda: self._open(target, read_only),
            poolclass=sa.pool.QueuePool,
            pool_size=2,
            max_overflow=8,
            isolation_level="AUTOCOMMIT",  # transactions are ours: BEGIN IMMEDIATE in _run
        )
        return engine

    def _writer(self, branch: str | None) -> sa.Engine:
        key = branch or MAIN
        with self._lock:
            engine = self._writers.get(key)
            if engine is None:
                if key != MAIN:
                    check_branch_name(key)
                engine = self._writers[key] = self._make_engine(key, read_only=False)
            return engine

    def _reader(self, target: str | None) -> sa.Engine:
        with self._lock:
            engine = self._readers.get(target)
            if engine is None:
                engine = self._readers[target] = self._make_engine(target, read_only=True)
                while len(self._readers) > _READ_ENGINE_CACHE:
                    _, old = self._readers.popitem(last=False)
                    old.dispose()
            self._readers.move_to_end(target)
            return engine

    def schema_engine(self) -> sa.Engine:
        return self._writer(MAIN)

    # --- SQL access -------------------------------------------------------
    def _run(
        self, fn: Callable[[sa.Connection], T], branch: str | None, *, begin: bool, what: str
    ) -> T:
        """Run ``fn`` (in BEGIN IMMEDIATE when ``begin``), retrying the whole of it while busy."""
        engine = self._writer(branch)
        for attempt in range(self._retries + 1):
            try:
                with engine.connect() as conn:
                    raw = conn.connection.dbapi_connection
                    try:
                        if begin:
                            conn.exec_driver_sql("BEGIN IMMEDIATE")
                        result = fn(conn)
                        if begin and raw is not None and raw.in_transaction:
                            conn.exec_driver_sql("COMMIT")
                        return result
                    except BaseException:
                        if raw is not None and raw.in_transaction:
                            raw.rollback()
                        raise
            except DoltplaneError:
                raise
            except _Conflicted:
                raise
            except OverflowError as exc:  # the driver binding an int beyond 64 bits
                raise InvalidInput(
                    f"{what}: a value is out of the database's range ({exc})"
                ) from None
            except Exception as exc:
                if _driver_error(exc) is None and not isinstance(exc, sa.exc.SQLAlchemyError):
                    raise  # the caller's own error, not the database's
                if not _is_busy(exc):
                    raise translate(exc, what) from None
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
                args = ["-A", "--skip-empty", "-m", text, *self._author_args(author)]
                conn.exec_driver_sql(
                    f"SELECT dolt_commit({', '.join('?' * len(args))})", tuple(args)
                )
            return result

        return self._run(run, branch, begin=True, what=f"write on {branch or MAIN}")

    @contextmanager
    def read(self, revision: str | None = None) -> Iterator[sa.Connection]:
        target = None if revision is None else self.resolve_revision(revision)
        try:
            with self._reader(target).connect() as conn:
                yield conn
        except DoltplaneError:
            raise
        except Exception as exc:
            raise translate(exc, f"read at {revision or 'working state'}") from None

    def query(
        self, sql: str, params: Any = None, *, attach: Mapping[str, Engine] | None = None
    ) -> list[dict[str, Any]]:
        others: dict[str, DoltliteEngine] = {}
        for alias, other in (attach or {}).items():
            if not isinstance(other, DoltliteEngine):
                raise UnsupportedOperation(
                    f"cannot attach a {other.name} database to an embedded query",
                    hint="on a Dolt server, query with database-qualified table names",
                )
            _ident(alias)
            others[alias] = other
        conn = self._open(None, read_only=True)
        try:
            for alias, other in others.items():
                conn.execute(f"ATTACH DATABASE ? AS {alias}", (other._uri(None, True),))
            conn.set_authorizer(_read_only_authorizer)
            cursor = conn.execute(sql, params if params is not None else ())
            columns = [d[0] for d in cursor.description or ()]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        except self._sqlite.Error as exc:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if "not authorized" in text or "readonly" in text or "one statement" in text:
                raise InvalidInput(f"query refused: {text}", hint="queries are read-only") from None
            if isinstance(exc, self._sqlite.OperationalError | self._sqlite.ProgrammingError):
                raise InvalidInput(f"query failed: {text}") from None
            raise translate(exc, "query") from None
        finally:
            conn.close()

    def _call(self, function: str, args: Sequence[Any], *, branch: str | None = None) -> Any:
        """``SELECT dolt_<function>(args...)`` in autocommit on ``branch``; its single value."""
        sql = f"SELECT {function}({', '.join('?' * len(args))})"

        def run(conn: sa.Connection) -> Any:
            return conn.exec_driver_sql(sql, tuple(args)).scalar()

        return self._run(run, branch, begin=False, what=function)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.read() as conn:
            return list(conn.exec_driver_sql(sql, tuple(params)).fetchall())

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
        args = ["-A", "--allow-empty" if allow_empty else "--skip-empty", "-m", message]
        args += self._author_args(author)
        if date is not None:
            args += ["--date", _dolt_date(date)]
        result = self._call("dolt_commit", args, branch=branch)
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
        return [
            Commit(hash=h, author=a, email=e or "", date=_parse_date(d), message=m)
            for h, a, e, d, m in self._query(sql, params)
        ]

    def commit_count(self, revision: str | None = None) -> int:
        rev = None if revision is None else self.resolve_revision(revision)
        sql = "SELECT count(*) FROM " + ("dolt_log(?)" if rev else "dolt_log")
        return int(self._query(sql, [rev] if rev else [])[0][0])

    def branches(self) -> list[BranchInfo]:
        rows = self._query(
            "SELECT name, hash, latest_commit_date, latest_commit_message, latest_committer "
            "FROM dolt_branches ORDER BY name"
        )
        return [BranchInfo(n, h, _parse_date(d), m, a) for n, h, d, m, a in rows]

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
        with self._lock:
            engine = self._writers.pop(name, None)
        if engine is not None:
            engine.dispose()
        self._call("dolt_branch", ["-D" if force else "-d", name])

    def is_dirty(self, branch: str | None = None) -> bool:
        rows = self._query("SELECT dirty FROM dolt_branches WHERE name = ?", [branch or MAIN])
        if not rows:
            raise NotFound("branch", branch or MAIN)
        return bool(rows[0][0])

    def resolve_revision(self, revision: str) -> str:
        if revision in self._known_commits:  # a commit hash names itself forever
            return revision
        check_revision(revision)
        try:
            with self._reader(None).connect() as conn:
                value = conn.exec_driver_sql("SELECT dolt_hashof(?)", (revision,)).scalar()
        except Exception as exc:
            orig = str(_driver_error(exc) or exc).splitlines()[0]
            raise InvalidRevision(revision, orig.removeprefix("dolt_hashof: ")) from None
        commit = str(value)
        with self._lock:
            if len(self._known_commits) > 4096:
                self._known_commits.clear()
            self._known_commits.add(commit)
        return commit

    def resolve_time(self, when: dt.datetime, *, branch: str | None = None) -> str:
        # dolt_log is in commit order with one-second dates: the first at or before wins
        stamp = utc(when).strftime("%Y-%m-%d %H:%M:%S")
        rev = self.resolve_revision(branch or MAIN)
        for commit_hash, date in self._query("SELECT commit_hash, date FROM dolt_log(?)", [rev]):
            if str(date) <= stamp:
                return str(commit_hash)
        raise InvalidRevision(
            utc(when).isoformat(), "before the first commit", hint="use a later time"
        )

    def merge_base(self, a: str, b: str) -> str:
        rows = self._query(
            "SELECT dolt_merge_base(?, ?)", [self.resolve_revision(a), self.resolve_revision(b)]
        )
        return str(rows[0][0])

    # --- merges ------------------------------------------------------------
    def _merge_args(self, source: str, message: str | None, author: str | None) -> list[str]:
        args = ["--no-ff", "-m", message or f"Merge {source}"]
        return [*args, *self._author_args(author), source]

    def _merge_statement(self, conn: sa.Connection, args: list[str]) -> str | None:
        """Run dolt_merge in the open transaction; raise _Conflicted with the rows on conflict."""
        sql = f"SELECT dolt_merge({', '.join('?' * len(args))})"
        try:
            value = conn.exec_driver_sql(sql, tuple(args)).scalar()
        except sa.exc.OperationalError as exc:
            if "conflict" in str(exc.orig).lower() and not _is_busy(exc):
                raise _Conflicted(self._conflict_rows(conn)) from None
            raise
        return None if value is None else str(value)

    def _primary_key(self, conn: sa.Connection, table: str) -> list[str]:
        rows = conn.exec_driver_sql(f"PRAGMA table_info({_ident(table)})").fetchall()
        return [r[1] for r in sorted(rows, key=lambda r: r[5]) if r[5]]

    def _conflict_rows(self, conn: sa.Connection) -> list[ConflictRow]:
        out: list[ConflictRow] = []
        tables = conn.exec_driver_sql('SELECT "table" FROM dolt_conflicts').scalars().all()
        for table in tables:
            pk = self._primary_key(conn, table)
            result = conn.exec_driver_sql(f"SELECT * FROM {_ident('dolt_conflicts_' + table)}")
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

    def _merge_outcome(self, value: str | None, source: str, source_hash: str) -> MergeStatus:
        if value is None or "up to date" in value.lower():
            return MergeStatus.UP_TO_DATE
        return MergeStatus.FAST_FORWARD if value == source_hash else MergeStatus.MERGED

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
            value = self._run(
                lambda conn: self._merge_statement(conn, args),
                target,
                begin=True,
                what=f"merge {source} into {target}",
            )
        except _Conflicted as conflicted:
            return MergeResult(MergeStatus.CONFLICT, source, target, None, tuple(conflicted.rows))
        status = self._merge_outcome(value, source, source_hash)
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
                value = self._merge_statement(conn, args)
            except _Conflicted as conflicted:
                self._apply_resolution(conn, conflicted.rows, resolution, source)
                commit_args = ["-A", "-m", message_text, *self._author_args(author)]
                sql = f"SELECT dolt_commit({', '.join('?' * len(commit_args))})"
                return MergeStatus.MERGED, str(
                    conn.exec_driver_sql(sql, tuple(commit_args)).scalar()
                )
            return self._merge_outcome(value, source, source_hash), None

        status, commit = self._run(
            finish, target, begin=True, what=f"resolve merge of {source} into {target}"
        )
        if commit is None and status is not MergeStatus.UP_TO_DATE:
            commit = self.resolve_revision(target)
        return MergeResult(status, source, target, commit)

    def _apply_resolution(
        self, conn: sa.Connection, rows: list[ConflictRow], resolution: Resolution, source: str
    ) -> None:
        tables = sorted({r.table for r in rows})
        if isinstance(resolution, str):
            for table in tables:
                conn.exec_driver_sql(
                    "SELECT dolt_conflicts_resolve(?, ?)", (f"--{resolution}", table)
                )
            return
        for table in tables:
            pk = self._primary_key(conn, table)
            given = {tuple(r.get(k) for k in pk): r for r in resolution.get(table, ())}
            missing = [
                r.key for r in rows if r.table == table and tuple(r.key.values()) not in given
            ]
            if missing:
                raise MergeConflict(
                    source, [table], missing, hint="give a final row for every conflicting key"
                )
            for final in given.values():
                columns = list(final)
                conn.exec_driver_sql(
                    f"INSERT OR REPLACE INTO {_ident(table)} "
                    f"({', '.join(_ident(c) for c in columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})",
                    tuple(final[c] for c in columns),
                )
            conn.exec_driver_sql(f"DELETE FROM {_ident('dolt_conflicts_' + table)}")

    # --- history -----------------------------------------------------------
    def row_history(
        self, table: str, key: Mapping[str, Any], *, revision: str | None = None
    ) -> list[RowVersion]:
        where = " AND ".join(f"{_ident(k)} = ?" for k in key) or "1"
        params: list[Any] = list(key.values())
        source = _ident("dolt_history_" + table)
        if revision is not None:
            source += "(?)"
            params.insert(0, self.resolve_revision(revision))
        result = []
        with self.read() as conn:
            cursor = conn.exec_driver_sql(f"SELECT * FROM {source} WHERE {where}", tuple(params))
            columns = list(cursor.keys())
            for values in cursor.fetchall():
                row = dict(zip(columns, values, strict=True))
                result.append(
                    RowVersion(
                        commit=row["commit_hash"],
                        date=_parse_date(row["commit_date"]),
                        author=row["committer"],
                        row={k: v for k, v in row.items() if k not in _META_COLUMNS},
                    )
                )
            if len({v.date for v in result}) < len(result):
                # commit dates have one-second resolution: break ties by the log's
                # topological order (newest first), not by however the rows came back
                log = "dolt_log(?)" if revision is not None else "dolt_log"
                hashes = conn.exec_driver_sql(
                    f"SELECT commit_hash FROM {log}", tuple(params[:1] if revision else ())
                ).scalars()
                position = {h: i for i, h in enumerate(hashes)}
                result.sort(key=lambda v: position.get(v.commit, len(position)))
        return result

    def diff(self, table: str, from_revision: str, to_revision: str) -> Iterator[RowChange]:
        start = self.resolve_revision(from_revision)
        end = self.resolve_revision(to_revision)
        with self.read() as conn:
            pk = self._primary_key(conn, table)
            cursor = conn.exec_driver_sql(
                f"SELECT * FROM {_ident('dolt_diff_' + table)}(?, ?)", (start, end)
            )
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

    # --- storage -----------------------------------------------------------
    def gc(self) -> None:
        self._call("dolt_gc", [])

    def size_bytes(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def squash_before(self, cutoff: dt.datetime, *, branch: str | None = None) -> SquashResult:
        branch = branch or MAIN
        for _ in range(self._retries + 1):
            history = self.log(branch)
            cut = next((i for i, c in enumerate(history) if c.date < utc(cutoff)), len(history))
            folded = history[cut:-1]  # the root commit stays as the parent of the squash
            if len(folded) < 2:
                return SquashResult(len(history), len(history), 0)
            new_tip = self._rewrite(history[-1], folded, history[:cut])
            if self._move_branch(branch, history[0].hash, new_tip):
                return SquashResult(len(history), len(history) - len(folded) + 1, len(folded))
        raise DatabaseBusy(f"squash of {branch}", self._retries + 1)

    def _rewrite(self, root: Commit, folded: list[Commit], kept: list[Commit]) -> str:
        """Build the new history on a scratch branch: one squash commit, then ``kept`` replayed
        with their original content, message, author and date."""
        scratch = f"doltplane-squash-{uuid.uuid4().hex[:12]}"
        newest_folded = folded[0]
        self._call("dolt_branch", [scratch, newest_folded.hash])
        try:
            with self._raw(scratch, read_only=False) as conn:

                def recommit(message: str, who: Commit) -> str:
                    author = f"{who.author} <{who.email or 'unknown@localhost'}>"
                    return str(
                        conn.execute(
                            "SELECT dolt_commit('-A', '--allow-empty', '-m', ?, '--author', ?, "
                            "'--date', ?)",
                            (message, author, _dolt_date(who.date)),
                        ).fetchone()[0]
                    )

                conn.execute("SELECT dolt_reset('--soft', ?)", (root.hash,))
                tip = recommit(
                    f"doltplane: squashed {len(folded)} commits up to "
                    f"{newest_folded.date:%Y-%m-%d %H:%M:%S}",
                    newest_folded,
                )
                for commit in reversed(kept):
                    conn.execute("SELECT dolt_reset('--hard', ?)", (commit.hash,))
                    conn.execute("SELECT dolt_reset('--soft', ?)", (tip,))
                    tip = recommit(commit.message, commit)
            return tip
        except DoltplaneError:
            raise
        except Exception as exc:
            raise translate(exc, "squash history") from None
        finally:
            self._call("dolt_branch", ["-D", scratch])

    def _move_branch(self, branch: str, expected_tip: str, new_tip: str) -> bool:
        """Point ``branch`` at ``new_tip`` keeping its working set, if nobody committed since."""

        def move(conn: sa.Connection) -> bool:
            current = conn.exec_driver_sql("SELECT dolt_hashof('HEAD')").scalar()
            if current != expected_tip:
                return False
            conn.exec_driver_sql("SELECT dolt_reset('--soft', ?)", (new_tip,))
            return True

        return self._run(move, branch, begin=True, what=f"move {branch}")

    def reset_connections(self) -> None:
        # doltlite registers dolt_history_<t> and friends when a connection opens
        self.close()

    def close(self) -> None:
        with self._lock:
            engines = [*self._writers.values(), *self._readers.values()]
            self._writers.clear()
            self._readers.clear()
        for engine in engines:
            engine.dispose()
