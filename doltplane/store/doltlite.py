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
import shutil
import tempfile
import threading
import time
import typing
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
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
    NotADoltDatabase,
    QueryTimeout,
    RemoteError,
    RemoteRejected,
    RemoteUnreachable,
    UnsupportedOperation,
)
from doltplane.processes import process_alive
from doltplane.store.base import (
    MAIN,
    Engine,
    MergeStatus,
    RemoteHeads,
)
from doltplane.store.capabilities import EMBEDDED, Capabilities
from doltplane.store.dolt_sql import DoltSqlEngine, _Conflicted, ident
from doltplane.store.loader import check_database_file, sqlite_module
from doltplane.validation import check_branch_name

try:
    import fcntl
except ImportError:  # not POSIX
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")

_READ_ENGINE_CACHE = 16
_AMBIGUOUS_SHOWN = 5


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
    if orig is None or _is_branch_gone(exc):
        return False
    code = getattr(orig, "sqlite_errorcode", 0) or 0
    return (code & 0xFF) in (5, 6) or "database is locked" in str(orig)


def _is_branch_gone(exc: BaseException) -> bool:
    """A write on a connection to a branch another process deleted. doltlite refuses it at
    once with a busy code (517, SQLITE_BUSY_SNAPSHOT) that waiting never clears, so it is
    told apart by its message: measured, such a write was retried 11 times as busy."""
    orig = _driver_error(exc)
    return orig is not None and "no longer exists" in str(orig)


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
    if "no longer exists" in lowered:  # a branch another process deleted
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


_FOLLOW_EVERY = 0.05
"""Seconds between two checks, on the read path, that the file was not replaced."""


class _ThreadConnections:
    """One thread's kept connections on one engine: readers by revision, writers by branch."""

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.readers: OrderedDict[str | None, Any] = OrderedDict()
        self.writers: OrderedDict[str, tuple[sa.Connection, Any]] = OrderedDict()

    def drop_writer(self, branch: str) -> None:
        conn, raw = self.writers.pop(branch)
        with suppress(Exception):
            conn.close()
        with suppress(Exception):
            raw.close()

    def close(self) -> None:
        for branch in list(self.writers):
            self.drop_writer(branch)
        for conn in self.readers.values():
            with suppress(Exception):
                conn.close()
        self.readers.clear()

    def __del__(self) -> None:
        # the thread ended: its SQLAlchemy connections go back before they are collected
        self.close()


_PROGRESS_EVERY = 10_000
"""SQLite VM instructions between two checks of the query deadline (well under 1 ms)."""


class DoltliteEngine(DoltSqlEngine):
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
        self._init_shared()
        self._identity: tuple[int, int] | None = None
        # raw read-only connections kept per thread for the hottest reads (``fetch_rows``);
        # a bump of the generation retires every thread's set at its next use
        self._kept = threading.local()
        self._generation = 0
        self._next_follow = 0.0
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

    @property
    def capabilities(self) -> Capabilities:
        return EMBEDDED

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

    def _follow_file(self, *, force: bool = False) -> None:
        """Drop every kept and pooled connection when the file was replaced (``dolt_gc`` in
        any process rewrites it): connections on the old file can read a stale graph and
        refuse writes as read-only. Writes (``force``) look every time; reads at most every
        ``_FOLLOW_EVERY`` seconds, since the ``stat`` was a tenth of a point read."""
        now = time.monotonic()
        if not force and now < self._next_follow:
            return
        self._next_follow = now + _FOLLOW_EVERY
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
        self._follow_file(force=True)
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
    def _kept_writer(self, branch: str | None) -> tuple[sa.Connection, Any]:
        """This thread's writer on ``branch``: a driver connection kept open, with a
        SQLAlchemy connection over it for statements built with Core. Transactions run on
        the driver (BEGIN IMMEDIATE / COMMIT) and nothing is checked out or rolled back per
        write; measured, that was most of what a one-row write cost above raw doltlite."""
        key = branch or MAIN
        self._follow_file(force=True)  # a write on a file another gc replaced is refused
        writers = self._thread_conns().writers
        kept = writers.get(key)
        if kept is None:
            if key != MAIN:
                check_branch_name(key)
            # main as the plain file: the same branch, and measured cheaper per transaction
            # than ``file@main``
            raw = self._open(None if key == MAIN else key, read_only=False)
            engine = sa.create_engine(
                "sqlite://",
                creator=lambda: raw,
                poolclass=sa.pool.StaticPool,
                pool_reset_on_return=None,
                isolation_level="AUTOCOMMIT",
            )
            kept = writers[key] = (engine.connect(), raw)
            if len(writers) > _READ_ENGINE_CACHE:  # agent branches come and go
                idle = [b for b, (_, r) in writers.items() if b != key and not r.in_transaction]
                for old in idle[: len(writers) - _READ_ENGINE_CACHE]:
                    self._thread_conns().drop_writer(old)
        else:
            writers.move_to_end(key)
        return kept

    def _transaction(self, fn: Callable[[sa.Connection], T], branch: str | None, begin: bool) -> T:
        conn, raw = self._kept_writer(branch)
        try:
            if begin:
                raw.execute("BEGIN IMMEDIATE")
            result = fn(conn)
            if begin and raw.in_transaction:
                raw.execute("COMMIT")
            return result
        except BaseException:
            if raw.in_transaction:
                raw.rollback()
            if conn.invalidated:  # SQLAlchemy gave the connection up: open a new one next
                self._thread_conns().drop_writer(branch or MAIN)
            raise

    def _from_database(self, exc: BaseException) -> bool:
        return _driver_error(exc) is not None or isinstance(exc, sa.exc.SQLAlchemyError)

    def _retry_after(self, exc: BaseException, *, last: bool) -> bool:
        if _is_branch_gone(exc):
            self.reset_connections()  # the kept connections to the deleted branch
            return False
        if _is_readonly(exc) and os.access(self.path, os.W_OK):
            # a connection opened before another process's gc rewrote the file; measured:
            # such a refused transaction wrote nothing, so it is redone whole on fresh ones
            self.reset_connections()
            return not last
        return _is_busy(exc)

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

    def _thread_conns(self) -> _ThreadConnections:
        """This thread's kept connections; a bump of the generation (gc, reset, a deleted
        branch or commit) closes them at their thread's next use."""
        kept: _ThreadConnections | None = getattr(self._kept, "conns", None)
        if kept is None or kept.generation != self._generation:
            if kept is not None:
                kept.close()
            kept = self._kept.conns = _ThreadConnections(self._generation)
        return kept

    def _kept_reader(self, target: str | None) -> Any:
        """This thread's kept read-only connection on ``target``. It runs each statement in
        its own autocommit read, so it sees every commit made before the statement
        (tests/store/test_kept_readers.py checks this across processes)."""
        self._follow_file()
        conns = self._thread_conns().readers
        conn = conns.get(target)
        if conn is None:
            conn = conns[target] = self._open(target, read_only=True)
            while len(conns) > _READ_ENGINE_CACHE:
                with suppress(Exception):
                    conns.popitem(last=False)[1].close()
        else:
            conns.move_to_end(target)
        return conn

    def _kept_read(self, target: str | None, run: Callable[[Any], T], what: str) -> T:
        """``run`` on this thread's kept reader; retried while busy (a read can meet another
        process's gc swapping the file in), then DatabaseBusy."""
        for attempt in range(self._retries + 1):
            try:
                return run(self._kept_reader(target))
            except DoltplaneError:
                raise
            except Exception as exc:
                if not _is_busy(exc):
                    raise translate(exc, what) from None
                if attempt < self._retries:
                    self._next_follow = 0.0  # the file may have been replaced meanwhile
                    time.sleep(min(0.5, 0.01 * 2**attempt) * (0.5 + random.random()))
        raise DatabaseBusy(what, self._retries + 1)

    def fetch_rows(
        self, sql: str, params: Sequence[Any] = (), revision: str | None = None
    ) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement (SQL compiled once by the caller from SQLAlchemy
        Core), on a connection kept per thread and revision: no pool, no per-call rollback."""
        target = None if revision is None else self.resolve_revision(revision)
        with suppress(Exception):  # busy, a revision gone, a driver error: redone below
            rows: list[tuple[Any, ...]] = self._kept_reader(target).execute(sql, params).fetchall()
            return rows
        what = f"read at {revision or 'working state'}"

        def run(conn: Any) -> list[tuple[Any, ...]]:
            return list(conn.execute(sql, params).fetchall())

        try:
            return self._kept_read(target, run, what)
        except InvalidRevision:
            if target is None or revision is None:
                raise
            self._forget_commit(target)  # removed by a squash and gc elsewhere
            return self._kept_read(self.resolve_revision(revision), run, what)

    def _history_rows(
        self, sql: str, params: Sequence[Any], commits: Sequence[str]
    ) -> tuple[list[str], list[Any]]:
        # history reads name their revision in the SQL: the live kept reader answers them
        return self._live_rows(sql, params)

    def _live_rows(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[Any]]:
        def run(conn: Any) -> tuple[list[str], list[Any]]:
            cursor = conn.execute(sql, tuple(params))
            return [d[0] for d in cursor.description or ()], cursor.fetchall()

        return self._kept_read(None, run, "history read")

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
            ident(alias)
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

    def _hash_of(self, revision: str) -> str:
        try:
            with self._reader(None).connect() as conn:
                value = self._exec(conn, "SELECT dolt_hashof(?)", (revision,)).scalar()
        except Exception as exc:
            orig = str(_driver_error(exc) or exc).splitlines()[0]
            raise InvalidRevision(revision, orig.removeprefix("dolt_hashof: ")) from None
        return str(value)

    def _call_sql(self, function: str, count: int) -> str:
        return f"SELECT {function}({', '.join('?' * count)})"

    def _primary_key(self, conn: sa.Connection, table: str) -> list[str]:
        rows = conn.exec_driver_sql(f"PRAGMA table_info({ident(table)})").fetchall()
        return [r[1] for r in sorted(rows, key=lambda r: r[5]) if r[5]]

    def _history_source(self, table: str, revision: str | None) -> tuple[str, list[Any]]:
        source = ident("dolt_history_" + table)
        return (source, []) if revision is None else (source + "(?)", [revision])

    def _diff_source(self, table: str) -> str:
        return ident("dolt_diff_" + table) + "(?, ?)"

    def _merge_call(self, conn: sa.Connection, args: list[str], source_hash: str) -> MergeStatus:
        sql = self._call_sql("dolt_merge", len(args))
        try:
            value = conn.exec_driver_sql(sql, tuple(args)).scalar()
        except sa.exc.OperationalError as exc:
            if "conflict" in str(exc.orig).lower() and not _is_busy(exc):
                raise _Conflicted(self._conflict_rows(conn)) from None
            raise
        if value is None or "up to date" in str(value).lower():
            return MergeStatus.UP_TO_DATE
        return MergeStatus.FAST_FORWARD if value == source_hash else MergeStatus.MERGED

    def _replace_row(self, table: sa.Table) -> sa.Insert:
        return table.insert().prefix_with("OR REPLACE")

    def _branch_connection(self, branch: str) -> AbstractContextManager[Any]:
        return self._raw(branch, read_only=False)

    def _drop_branch_engine(self, name: str) -> None:
        with self._lock:
            engine = self._writers.pop(name, None)
            self._generation += 1  # threads' kept writers on it close at their next use
        if engine is not None:
            engine.dispose()

    def _drop_revision(self, commit: str) -> None:
        with self._lock:
            engine = self._readers.pop(commit, None)
            self._generation += 1
        if engine is not None:
            engine.dispose()

    def _translate(self, exc: BaseException, what: str) -> DoltplaneError:
        return translate(exc, what)

    # --- storage -----------------------------------------------------------
    @property
    def _gc_record(self) -> Path:
        # machine-local bookkeeping beside the file, never in a versioned table
        return self.path.with_name(f".{self.path.name}-gc.json")

    def gc(self) -> None:
        self._call("dolt_gc", [])
        self._next_follow = 0.0  # the file was replaced: the next read looks
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

    def _squash_guard(self) -> AbstractContextManager[bool]:
        return self._squash_lock(fcntl.LOCK_EX if fcntl else 0)

    def squash_running(self) -> bool:
        if fcntl is None:
            return False
        with self._squash_lock(fcntl.LOCK_SH) as free:
            return not free

    def reset_connections(self) -> None:
        # doltlite registers dolt_history_<t> and friends when a connection opens
        self.close()

    def close(self) -> None:
        with self._lock:
            self._generation += 1
            self._next_follow = 0.0
            engines = [*self._writers.values(), *self._readers.values()]
            self._writers.clear()
            self._readers.clear()
        for engine in engines:
            engine.dispose()
        # this thread's kept connections now; other threads' at their next use, or when
        # the thread ends (the driver closes a connection it frees)
        kept: _ThreadConnections | None = getattr(self._kept, "conns", None)
        if kept is not None:
            kept.close()
            self._kept.conns = None

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
