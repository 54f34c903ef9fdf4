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
import json
import os
import random
import re
import shutil
import tempfile
import threading
import time
import typing
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

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
    QueryTimeout,
    RemoteError,
    RemoteRejected,
    RemoteUnreachable,
    UnsupportedOperation,
)
from doltplane.processes import process_alive
from doltplane.store import trailers
from doltplane.store.base import (
    MAIN,
    BranchInfo,
    Commit,
    ConflictRow,
    Engine,
    MergeResult,
    MergeStatus,
    RemoteHeads,
    Resolution,
    RowChange,
    RowVersion,
    SquashResult,
)
from doltplane.store.loader import check_database_file, sqlite_module
from doltplane.store.scratch import SQUASH_PREFIX, is_leftover, is_scratch, scratch_branch_name
from doltplane.validation import check_branch_name, check_revision, check_time, utc

try:
    import fcntl
except ImportError:  # not POSIX
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_META_COLUMNS = {"commit_hash", "committer", "commit_date"}
_READ_ENGINE_CACHE = 16
_LINE_CACHE = 8
_LINE_EXTEND_STEPS = 16
_ABBREVIATED = re.compile(r"([0-9a-v]{7,64})((?:[~^][0-9]*)*)")
_AMBIGUOUS_SHOWN = 5


def _ident(name: str) -> str:
    if not _IDENT.fullmatch(name):
        raise InvalidInput(f"not a table or column name: {name!r}")
    return f'"{name}"'


def _parse_date(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(str(text)).replace(tzinfo=dt.UTC)


def _dolt_date(moment: dt.datetime) -> str:
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S")


def _stamped(message: str, moment: dt.datetime | None = None) -> str:
    """``message`` with this commit's precise time. Call it inside the write transaction:
    writers are serialised there, so recorded times follow the order of commits."""
    return trailers.stamp(message, trailers.Trailers(time=moment or dt.datetime.now(dt.UTC)))


def _with_time(args: list[str]) -> list[str]:
    """dolt_merge/dolt_commit arguments with the ``-m`` message stamped (see _stamped)."""
    at = args.index("-m") + 1
    return [*args[:at], _stamped(args[at]), *args[at + 1 :]]


def _commit_from_row(
    commit_hash: str, author: str, email: str | None, date: str, message: str
) -> Commit:
    shown, facts = trailers.parse(message or "")
    return Commit(
        hash=str(commit_hash),
        author=author,
        email=email or "",
        date=_parse_date(date),
        message=shown,
        time=facts.time,
        replaces=facts.replaces,
        squashed=facts.squashed,
    )


class _LineEntry:
    """One commit of a cached first-parent line, parsed only when first looked at."""

    __slots__ = ("_commit", "row")

    def __init__(self, row: Sequence[Any]) -> None:
        self.row = row
        self._commit: Commit | None = None

    @property
    def commit(self) -> Commit:
        if self._commit is None:
            self._commit = _commit_from_row(*self.row)
        return self._commit


def _known_by(commit: Commit) -> dt.datetime:
    """The earliest moment the commit is known to exist: its recorded time, or (made by
    another tool) the end of the second its one-second date names."""
    return commit.time or commit.date + dt.timedelta(seconds=1)


def _shown_time(moment: dt.datetime) -> str:
    return trailers.format_time(moment)


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


def _is_readonly(exc: BaseException) -> bool:
    """A write refused as read-only: a connection opened before another process's gc
    rewrote the file can be left that way for good (until it is reopened)."""
    orig = _driver_error(exc)
    if orig is None:
        return False
    code = getattr(orig, "sqlite_errorcode", 0) or 0
    return (code & 0xFF) == 8 or "readonly database" in str(orig)


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


# sqlite3 authorizer action codes a read-only query needs: a function call is allowed only
# when the function is known to read (SQLITE_FUNCTION names it in the third argument)
_SQLITE_READ, _SQLITE_SELECT, _SQLITE_FUNCTION, _SQLITE_RECURSIVE = 20, 21, 31, 33

_READ_ONLY_FUNCTION_NAMES = """
    abs changes char coalesce concat concat_ws format glob hex if ifnull iif instr
    last_insert_rowid length like likelihood likely lower ltrim max min nullif octet_length
    printf quote random randomblob replace round rtrim sign sqlite_source_id
    sqlite_version substr substring subtype total_changes trim typeof unhex unicode unistr
    unistr_quote unlikely upper zeroblob
    acos acosh asin asinh atan atan2 atanh ceil ceiling cos cosh degrees exp floor ln log
    log10 log2 mod pi pow power radians sin sinh sqrt tan tanh trunc
    date time datetime julianday strftime unixepoch timediff current_date current_time
    current_timestamp
    avg count group_concat string_agg sum total median percentile percentile_cont
    percentile_disc
    row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value
    nth_value
    json jsonb json_array jsonb_array json_array_length json_error_position json_extract
    jsonb_extract json_insert jsonb_insert json_array_insert jsonb_array_insert json_object
    jsonb_object json_patch jsonb_patch json_pretty json_quote json_remove jsonb_remove
    json_replace jsonb_replace json_set jsonb_set json_type json_valid json_group_array
    jsonb_group_array json_group_object jsonb_group_object -> ->>
    active_branch dolt_hashof dolt_hashof_table dolt_hashof_index dolt_hashof_db
    dolt_hashof_catalog dolt_merge_base dolt_version doltlite_engine
"""
READ_ONLY_FUNCTIONS = frozenset(_READ_ONLY_FUNCTION_NAMES.split())
"""Functions a cross-plane query may call: SQLite's core scalar, math, date, aggregate,
window and JSON functions, and Dolt functions that only read. Everything else is refused,
including functions added by a later doltlite: some have side effects outside the
database (``dolt_creds_new()`` writes a key file under ~/.doltlite), which a read-only
connection does not prevent."""


def _read_only_authorizer(
    action: int, arg1: str | None, arg2: str | None, db: str | None, src: str | None
) -> int:
    # Reading any table is allowed, virtual tables too (dolt_log, dolt_diff_<t>,
    # dolt_history_<t>, dolt_at_<t>(...) show up here as reads); statements a virtual
    # table runs itself (dolt_test_run) pass through this authorizer as well.
    sqlite3 = sqlite_module()
    if action in (_SQLITE_READ, _SQLITE_SELECT, _SQLITE_RECURSIVE):
        return int(sqlite3.SQLITE_OK)
    if action == _SQLITE_FUNCTION and (arg2 or "").lower() in READ_ONLY_FUNCTIONS:
        return int(sqlite3.SQLITE_OK)
    return int(sqlite3.SQLITE_DENY)


_PROGRESS_EVERY = 10_000
"""SQLite VM instructions between two checks of the query deadline (well under 1 ms)."""


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
        self._lines: OrderedDict[str, tuple[_LineEntry, ...]] = OrderedDict()
        self._identity: tuple[int, int] | None = None
        # raw read-only connections kept per thread for the hottest reads (``fetch_rows``);
        # a bump of the generation retires every thread's set at its next use
        self._kept = threading.local()
        self._generation = 0
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
        self._identity = self._file_identity()
        with suppress(DoltplaneError):  # best effort: busy now, the next open or cleanup retries
            self.remove_scratch_leftovers()

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

    def _file_identity(self) -> tuple[int, int] | None:
        try:
            info = self.path.stat()
        except OSError:
            return None
        return info.st_dev, info.st_ino

    def _follow_file(self) -> None:
        """Drop every pooled connection when the file was replaced (``dolt_gc`` in any
        process rewrites it): connections on the old file can read a stale graph and
        refuse writes as read-only."""
        identity = self._file_identity()
        if identity is None or identity == self._identity:
            return
        with self._lock:
            stale = identity != self._identity
            self._identity = identity
        if stale:
            self.reset_connections()

    def _writer(self, branch: str | None) -> sa.Engine:
        key = branch or MAIN
        self._follow_file()
        with self._lock:
            engine = self._writers.get(key)
            if engine is None:
                if key != MAIN:
                    check_branch_name(key)
                engine = self._writers[key] = self._make_engine(key, read_only=False)
            return engine

    def _reader(self, target: str | None) -> sa.Engine:
        self._follow_file()
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
        """Run ``fn`` (in BEGIN IMMEDIATE when ``begin``), retrying the whole of it while busy,
        and on fresh connections after a write was refused as read-only."""
        for attempt in range(self._retries + 1):
            engine = self._writer(branch)
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
                if _is_readonly(exc) and os.access(self.path, os.W_OK):
                    # measured: such a refused transaction wrote nothing, so it is redone whole
                    self.reset_connections()
                    if attempt == self._retries:
                        raise translate(exc, what) from None
                elif not _is_busy(exc):
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
                args = ["-A", "--skip-empty", "-m", _stamped(text), *self._author_args(author)]
                conn.exec_driver_sql(
                    f"SELECT dolt_commit({', '.join('?' * len(args))})", tuple(args)
                )
            return result

        return self._run(run, branch, begin=True, what=f"write on {branch or MAIN}")

    @contextmanager
    def read(self, revision: str | None = None) -> Iterator[sa.Connection]:
        target = None if revision is None else self.resolve_revision(revision)
        try:
            try:
                connection = self._reader(target).connect()
            except InvalidRevision:
                if target is None or revision is None:
                    raise
                # a remembered commit that a squash and gc elsewhere removed: look again
                self._forget_commit(target)
                target = self.resolve_revision(revision)
                connection = self._reader(target).connect()
            with connection as conn:
                yield conn
        except DoltplaneError:
            raise
        except Exception as exc:
            raise translate(exc, f"read at {revision or 'working state'}") from None

    def _kept_reader(self, target: str | None) -> Any:
        """This thread's kept read-only connection on ``target``. It runs each statement in
        its own autocommit read, so it sees every commit made before the statement
        (tests/store/test_kept_readers.py checks this across processes)."""
        self._follow_file()
        kept = self._kept
        conns: OrderedDict[str | None, Any] | None = getattr(kept, "conns", None)
        if conns is None or kept.generation != self._generation:
            for old in (conns or {}).values():
                with suppress(Exception):
                    old.close()
            conns = kept.conns = OrderedDict()
            kept.generation = self._generation
        conn = conns.get(target)
        if conn is None:
            conn = conns[target] = self._open(target, read_only=True)
            while len(conns) > _READ_ENGINE_CACHE:
                with suppress(Exception):
                    conns.popitem(last=False)[1].close()
        else:
            conns.move_to_end(target)
        return conn

    def fetch_rows(
        self, sql: str, params: Sequence[Any] = (), revision: str | None = None
    ) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement (SQL compiled once by the caller from SQLAlchemy
        Core), on a connection kept per thread and revision: no pool, no per-call rollback."""
        target = None if revision is None else self.resolve_revision(revision)
        try:
            try:
                conn = self._kept_reader(target)
            except InvalidRevision:
                if target is None or revision is None:
                    raise
                self._forget_commit(target)  # removed by a squash and gc elsewhere
                target = self.resolve_revision(revision)
                conn = self._kept_reader(target)
            return list(conn.execute(sql, params).fetchall())
        except DoltplaneError:
            raise
        except Exception as exc:
            raise translate(exc, f"read at {revision or 'working state'}") from None

    def query(
        self,
        sql: str,
        params: Any = None,
        *,
        attach: Mapping[str, Engine] | None = None,
        timeout: float | None = None,
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
        started = time.monotonic()
        deadline = None if not timeout else started + timeout
        stopped_by_deadline = False

        def check_deadline() -> int:
            # Any exception here (KeyboardInterrupt from Ctrl-C) aborts the statement too;
            # sqlite3 swallows it and raises "interrupted", so it is re-raised below.
            nonlocal stopped_by_deadline
            if deadline is not None and time.monotonic() >= deadline:
                stopped_by_deadline = True
                return 1
            return 0

        try:
            for alias, other in others.items():
                conn.execute(f"ATTACH DATABASE ? AS {alias}", (other._uri(None, True),))
            conn.set_authorizer(_read_only_authorizer)
            conn.set_progress_handler(check_deadline, _PROGRESS_EVERY)
            cursor = conn.execute(sql, params if params is not None else ())
            columns = [d[0] for d in cursor.description or ()]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        except UnicodeEncodeError:
            raise InvalidInput(
                "query or parameter is not valid Unicode (non-UTF-8 bytes?)"
            ) from None
        except OverflowError as exc:  # an integer parameter wider than 64 bits
            raise InvalidInput(f"query parameter out of range: {exc}") from None
        except self._sqlite.Error as exc:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if "interrupted" in text:
                if not stopped_by_deadline:
                    raise KeyboardInterrupt from None
                raise QueryTimeout(timeout or 0, time.monotonic() - started) from None
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
        def run(conn: sa.Connection) -> Any:
            # stamped inside the transaction: see _stamped
            text = _stamped(message, None if date is None else utc(date))
            args = ["-A", "--allow-empty" if allow_empty else "--skip-empty", "-m", text]
            args += self._author_args(author)
            if date is not None:
                args += ["--date", _dolt_date(date)]
            sql = f"SELECT dolt_commit({', '.join('?' * len(args))})"
            return conn.exec_driver_sql(sql, tuple(args)).scalar()

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
        return [_commit_from_row(*row) for row in self._query(sql, params)]

    def commit_count(self, revision: str | None = None) -> int:
        rev = None if revision is None else self.resolve_revision(revision)
        sql = "SELECT count(*) FROM " + ("dolt_log(?)" if rev else "dolt_log")
        return int(self._query(sql, [rev] if rev else [])[0][0])

    def branches(self) -> list[BranchInfo]:
        rows = self._query(
            "SELECT name, hash, latest_commit_date, latest_commit_message, latest_committer "
            "FROM dolt_branches ORDER BY name"
        )
        return [
            BranchInfo(n, h, _parse_date(d), trailers.parse(m or "")[0], a)
            for n, h, d, m, a in rows
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
        with self._lock:
            engine = self._writers.pop(name, None)
        if engine is not None:
            engine.dispose()
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
            return bool(conn.exec_driver_sql("SELECT count(*) FROM dolt_status").scalar())

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
            engine = self._readers.pop(commit, None)
            self._generation += 1
        if engine is not None:
            engine.dispose()

    def _hash_of(self, revision: str) -> str:
        try:
            with self._reader(None).connect() as conn:
                value = conn.exec_driver_sql("SELECT dolt_hashof(?)", (revision,)).scalar()
        except Exception as exc:
            orig = str(_driver_error(exc) or exc).splitlines()[0]
            raise InvalidRevision(revision, orig.removeprefix("dolt_hashof: ")) from None
        return str(value)

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
                conn.exec_driver_sql(
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
        branches = conn.exec_driver_sql("SELECT name FROM dolt_branches").scalars().all()
        ordered = sorted(branches, key=lambda name: (name != MAIN, name))
        pattern = f"%{trailers.REPLACES}: {prefix}%"
        found: dict[str, str] = {}
        for branch in ordered:
            rows = conn.exec_driver_sql(
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

    def _line(self, head: str) -> tuple[_LineEntry, ...]:
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
            by_hash = {str(row[0]): row for row in rows}
            entries: list[_LineEntry] = []
            current: str | None = head
            while current is not None and current in by_hash:
                row = by_hash.pop(current)  # pop: a malformed cycle cannot loop forever
                entries.append(_LineEntry(row[:5]))
                current = None if row[5] is None else str(row[5])
            line = tuple(entries)
        with self._lock:
            self._lines[head] = line
            while len(self._lines) > _LINE_CACHE:
                self._lines.popitem(last=False)
        return line

    def _extend_cached_line(self, head: str) -> tuple[_LineEntry, ...] | None:
        newer: list[_LineEntry] = []
        current = head
        with self.read() as conn:
            for _ in range(_LINE_EXTEND_STEPS):
                with self._lock:
                    cached = self._lines.get(current)
                    if not self._lines:
                        return None
                if cached is not None:
                    return (*newer, *cached)
                row = conn.exec_driver_sql(
                    "SELECT commit_hash, committer, email, date, message FROM dolt_log(?) LIMIT 1",
                    (current,),
                ).fetchone()
                parent = conn.exec_driver_sql(
                    "SELECT parent_hash FROM dolt_commit_ancestors "
                    "WHERE commit_hash = ? AND parent_index = 0",
                    (current,),
                ).scalar()
                if row is None:
                    return None
                newer.append(_LineEntry(tuple(row)))
                if parent is None:
                    return tuple(newer)
                current = str(parent)
        return None

    def first_parents(self, commits: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(commits))
        with self.read() as conn:
            for start in range(0, len(unique), 500):
                part = unique[start : start + 500]
                rows = conn.exec_driver_sql(
                    "SELECT commit_hash, parent_hash FROM dolt_commit_ancestors "
                    f"WHERE parent_index = 0 AND commit_hash IN ({', '.join('?' * len(part))})",
                    tuple(part),
                ).fetchall()
                found.update((str(c), str(p)) for c, p in rows if p is not None)
        return found

    def resolve_time(self, when: dt.datetime, *, branch: str | None = None) -> str:
        moment = check_time(when)
        line = self._line(self.resolve_revision(branch or MAIN))
        # the root commit is the empty database every Dolt file starts with, not a state
        # anyone wrote; a squash commit stands for the newest state it folded
        answerable = line[:-1]
        for entry in answerable:
            if _known_by(entry.commit) <= moment:
                return entry.commit.hash
        if not answerable:
            raise InvalidRevision(_shown_time(moment), "the branch has no commits yet")
        oldest = answerable[-1].commit
        since = _shown_time(_known_by(oldest))
        if oldest.squashed:
            raise InvalidRevision(
                _shown_time(moment),
                f"older than the kept history (cleanup squashed what came before); "
                f"the oldest time still answerable is {since}",
                hint="use a later time",
            )
        raise InvalidRevision(
            _shown_time(moment),
            f"before the first commit; the oldest time still answerable is {since}",
            hint="use a later time",
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
                lambda conn: self._merge_statement(conn, _with_time(args)),
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
                value = self._merge_statement(conn, _with_time(args))
            except _Conflicted as conflicted:
                self._apply_resolution(conn, conflicted.rows, resolution, source)
                commit_args = ["-A", "-m", _stamped(message_text), *self._author_args(author)]
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
        """Finish the open conflicted merge: one side wins, or the caller's final rows.

        Final rows may name only conflicting keys (a row for any other key would silently
        replace a change the merge brought in), and must name every one of them. Their
        values are bound through the table's own column types, read from the database.
        Everything is checked before the first write, so a refusal rolls back to nothing.
        """
        tables = sorted({r.table for r in rows})
        if isinstance(resolution, str):
            for table in tables:
                conn.exec_driver_sql(
                    "SELECT dolt_conflicts_resolve(?, ?)", (f"--{resolution}", table)
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
                    conn.execute(reflected.insert().prefix_with("OR REPLACE"), dict(final))
            except sa.exc.StatementError as exc:
                if isinstance(exc, sa.exc.DBAPIError) and not isinstance(
                    exc, sa.exc.IntegrityError
                ):
                    raise
                reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
                raise InvalidInput(
                    f"final row for {reflected.name} cannot be stored: {reason}"
                ) from None
            conn.exec_driver_sql(f"DELETE FROM {_ident('dolt_conflicts_' + reflected.name)}")

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
    @property
    def _gc_record(self) -> Path:
        # machine-local bookkeeping beside the file, never in a versioned table
        return self.path.with_name(f".{self.path.name}-gc.json")

    def gc(self) -> None:
        self._call("dolt_gc", [])
        size = self.size_bytes()
        record = {"size_after_gc": size, "at": dt.datetime.now(dt.UTC).isoformat()}
        unique = f"{os.getpid()}-{threading.get_ident()}"
        temporary = self._gc_record.with_name(f"{self._gc_record.name}.{unique}")
        try:
            temporary.write_text(json.dumps(record), encoding="utf-8")
            os.replace(temporary, self._gc_record)
        except OSError:  # a read-only folder: growth is then measured from zero
            temporary.unlink(missing_ok=True)

    def size_after_gc(self) -> int | None:
        try:
            value = json.loads(self._gc_record.read_text(encoding="utf-8"))["size_after_gc"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def size_bytes(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    @contextmanager
    def _squash_lock(self, mode: int) -> Iterator[bool]:
        """A lock file beside the database, held while a squash runs (released if the
        process dies); yields whether ``mode`` (non-blocking) was granted."""
        if fcntl is None:  # no advisory locks here: squashes just retry more
            yield True
            return
        try:
            handle = open(self.path.with_name(f".{self.path.name}-squash.lock"), "a+b")  # noqa: SIM115
        except OSError:  # a read-only folder: nobody can squash here anyway
            yield True
            return
        with handle:
            try:
                fcntl.flock(handle.fileno(), mode | fcntl.LOCK_NB)
            except OSError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def squash_running(self) -> bool:
        if fcntl is None:
            return False
        with self._squash_lock(fcntl.LOCK_SH) as free:
            return not free

    def squash_before(self, cutoff: dt.datetime, *, branch: str | None = None) -> SquashResult:
        """Fold old history; when commits land meanwhile (or another process's gc drops
        what this one read), start over: ``branch`` moves only from the tip that was
        rewritten, so no commit is ever lost, and giving up changes nothing. While it
        runs, ``squash_running()`` is true in every process, so that cadence snapshots
        can wait instead of racing it (replaying a week of snapshots takes minutes)."""
        with self._squash_lock(fcntl.LOCK_EX if fcntl else 0) as granted:
            if not granted:
                raise DatabaseBusy(f"squash of {branch or MAIN} (another squash is running)", 1)
            return self._squash(cutoff, branch or MAIN)

    def _squash(self, cutoff: dt.datetime, branch: str) -> SquashResult:
        failure: DoltplaneError | None = None
        for attempt in range(self._retries + 1):
            if attempt:
                time.sleep(min(0.5, 0.01 * 2**attempt) * (0.5 + random.random()))
            history = self.log(branch)
            cut = next((i for i, c in enumerate(history) if c.date < utc(cutoff)), len(history))
            folded = history[cut:-1]  # the root commit stays as the parent of the squash
            if len(folded) < 2:
                return SquashResult(len(history), len(history), 0)
            # the scratch branch keeps the new commits reachable (from any process's gc)
            # until the branch points at them
            scratch = scratch_branch_name(SQUASH_PREFIX)
            try:
                new_tip = self._rewrite(history[-1], folded, history[:cut], scratch)
                if self._move_branch(branch, history[0].hash, new_tip):
                    return SquashResult(len(history), len(history) - len(folded) + 1, len(folded))
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
                with self._lock:
                    engine = self._writers.pop(name, None)
                if engine is not None:
                    engine.dispose()
                try:
                    self._call("dolt_branch", ["-D", name])
                except DoltplaneError:
                    if self.has_branch(name):
                        raise
                    # another process removed it first
        return sorted(names)

    def _rewrite(self, root: Commit, folded: list[Commit], kept: list[Commit], scratch: str) -> str:
        """Build the new history on the branch ``scratch``: one squash commit, then ``kept``
        replayed with their original content, message, author and date."""
        newest_folded = folded[0]
        self._call("dolt_branch", [scratch, newest_folded.hash])
        try:
            with self._raw(scratch, read_only=False) as conn:

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
                            "SELECT dolt_commit('-A', '--allow-empty', '-m', ?, '--author', ?, "
                            "'--date', ?)",
                            (trailers.stamp(message, facts), author, _dolt_date(who.date)),
                        ).fetchone()[0]
                    )

                conn.execute("SELECT dolt_reset('--soft', ?)", (root.hash,))
                tip = recommit(
                    f"doltplane: squashed {len(folded)} commits up to "
                    f"{newest_folded.date:%Y-%m-%d %H:%M:%S}",
                    newest_folded,
                    squashed=len(folded),
                )
                for commit in reversed(kept):
                    conn.execute("SELECT dolt_reset('--hard', ?)", (commit.hash,))
                    conn.execute("SELECT dolt_reset('--soft', ?)", (tip,))
                    tip = recommit(commit.message, commit)
            self._forget_commits()  # the kept commits are about to answer to new hashes
            return tip
        except DoltplaneError:
            raise
        except Exception as exc:
            raise translate(exc, "squash history") from None

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
            self._generation += 1
            engines = [*self._writers.values(), *self._readers.values()]
            self._writers.clear()
            self._readers.clear()
        for engine in engines:
            engine.dispose()

    # --- remotes -----------------------------------------------------------
    # Appended for backups and multi-host sync (doltplane/backups.py). Remote names
    # and URLs arrive validated by the caller; every remote call is autocommit, since
    # dolt_push/dolt_fetch/dolt_clone move refs, not rows.
    @property
    def supports_remotes(self) -> bool:
        return True

    def _remote_call(self, what: str, remote: str, args: Sequence[Any], ref: str = "") -> Any:
        """One remote function in autocommit; its failures become RemoteError subclasses."""
        sql = f"SELECT {what}({', '.join('?' * len(args))})"

        def run(conn: sa.Connection) -> Any:
            try:
                return conn.exec_driver_sql(sql, tuple(args)).scalar()
            except sa.exc.DBAPIError as exc:
                if _is_busy(exc):
                    raise  # retried whole by _run
                raise _remote_error(exc, remote, ref) from None

        return self._run(run, None, begin=False, what=f"{what} {remote}")

    def _ensure_remote(self, remote: str, url: str) -> None:
        rows = self._query("SELECT url FROM dolt_remotes WHERE name = ?", [remote])
        if rows and rows[0][0] == url:
            return
        if rows:
            self._remote_call("dolt_remote", remote, ["remove", remote])
        self._remote_call("dolt_remote", remote, ["add", remote, url])

    def tags(self) -> dict[str, str]:
        rows = self._query("SELECT tag_name, tag_hash FROM dolt_tags ORDER BY tag_name")
        return {str(name): str(commit) for name, commit in rows}

    def remote_heads(self, url: str) -> RemoteHeads | None:
        local = _file_remote_path(url)
        if local is not None and not local.exists():
            return None
        # a lazy clone into a scratch database copies refs, not chunks: what the remote
        # holds, read without fetching into (and retagging) this database
        scratch = Path(tempfile.mkdtemp(prefix="doltplane-heads-"))
        try:
            conn = self._sqlite.connect(str(scratch / "heads.db"), isolation_level=None)
            try:
                conn.execute("SELECT dolt_clone('--lazy', ?)", (url,))
                branches = conn.execute("SELECT name, hash FROM dolt_remote_branches").fetchall()
                tags = conn.execute("SELECT tag_name, tag_hash FROM dolt_tags").fetchall()
            except self._sqlite.Error as exc:
                text = str(exc).lower()
                if local is None and "not found" in text:
                    return None
                raise _remote_error(exc, url) from None
            finally:
                conn.close()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        prefix = "remotes/origin/"
        return RemoteHeads(
            {str(n).removeprefix(prefix): str(h) for n, h in sorted(branches)},
            {str(n): str(h) for n, h in sorted(tags)},
        )

    def push(self, remote: str, url: str, branch: str, *, force: bool = False) -> None:
        check_branch_name(branch)
        self._ensure_remote(remote, url)
        args = [remote, branch, *(["--force"] if force else [])]
        local = _file_remote_path(url)
        if local is not None and not local.exists():
            self._first_file_push(remote, url, local, args)
            return
        self._remote_call("dolt_push", remote, args, ref=branch)

    def _first_file_push(self, remote: str, url: str, local: Path, args: list[Any]) -> None:
        """Create a file remote under a temporary name and move it into place when complete:
        a push killed half-way through creating a database leaves one no one can open."""
        local.parent.mkdir(parents=True, exist_ok=True)
        for leftover in local.parent.glob(f".{local.name}.pushing-*"):
            pid = leftover.name.split("-")[1] if leftover.name.count("-") >= 2 else ""
            if not (pid.isdigit() and process_alive(int(pid))):
                leftover.unlink(missing_ok=True)
        staging = local.parent / f".{local.name}.pushing-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            self._ensure_remote(remote, "file://" + quote(str(staging)))
            self._remote_call("dolt_push", remote, args, ref=str(args[1]))
            os.link(staging, local)  # never over a database someone else created meanwhile
        except FileExistsError:
            raise RemoteError(
                f"remote {remote!r}: {local} appeared during the push", hint="push again"
            ) from None
        finally:
            self._ensure_remote(remote, url)
            staging.unlink(missing_ok=True)
            (staging.parent / f".{staging.name}-lock").unlink(missing_ok=True)

    def push_tags(self, remote: str, url: str) -> None:
        self._ensure_remote(remote, url)
        self._remote_call("dolt_push", remote, [remote, "--tags"])

    def delete_remote_branch(self, remote: str, url: str, branch: str) -> None:
        check_branch_name(branch)
        self._ensure_remote(remote, url)
        self._remote_call("dolt_push", remote, [remote, ":" + branch])

    def fetch(self, remote: str, url: str, branch: str) -> str:
        check_branch_name(branch)
        self._ensure_remote(remote, url)
        self._remote_call("dolt_fetch", remote, [remote, branch])
        return self.resolve_revision(f"remotes/{remote}/{branch}")

    def clone_from(self, url: str, remote: str) -> RemoteHeads:
        self._remote_call("dolt_clone", url, [url])  # refused unless this database is new
        prefix = "remotes/origin/"
        fetched = self._query("SELECT name, hash FROM dolt_remote_branches")
        for name, commit in fetched:
            branch = str(name).removeprefix(prefix)
            if branch != MAIN and not self.has_branch(branch):
                self._call("dolt_branch", [branch, str(commit)])
        self._remote_call("dolt_remote", "origin", ["remove", "origin"])
        self._ensure_remote(remote, url)
        self.reset_connections()
        heads = {b.name: b.hash for b in self.branches()}
        return RemoteHeads(heads, self.tags())


def _file_remote_path(url: str) -> Path | None:
    """The local file a ``file://`` remote URL names (None for other schemes)."""
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


def _remote_error(exc: BaseException, remote: str, ref: str = "") -> DoltplaneError:
    orig = _driver_error(exc) or exc
    text = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
    lowered = text.lower()
    if "fast-forward" in lowered:
        return RemoteRejected(remote, [ref or "the push"], hint="pull first, then push again")
    if "uncommitted" in lowered:
        return RemoteError(
            f"remote {remote!r}: {text}",
            hint="the remote branch has uncommitted changes; commit them there first",
        )
    if any(
        word in lowered
        for word in ("open remote", "connect", "not found", "clone failed", "http", "timed out")
    ):
        return RemoteUnreachable(f"remote {remote!r} cannot be reached: {text}")
    return RemoteError(f"remote {remote!r}: {text}")
