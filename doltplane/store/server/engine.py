"""The server engine: one plane's database on a ``dolt sql-server``.

Facts this module is built on (docs/architecture.md, "Engine facts"):
- every plane and branch of a process shares one pool per server URL; a checkout
  names its database: ``db`` (main), ``db/branch``, or a read-only ``db/<hash>``;
- a write is ``START TRANSACTION; ...; CALL DOLT_COMMIT(...); COMMIT``: Dolt merges
  concurrent transactions at COMMIT, so one connection's open work is never in
  another's commit; a transaction that lost (1213 serialization failure, 1205 lock
  wait, a dropped connection) is retried whole with bounded backoff;
- merges run with autocommit off, so conflicts stay in the transaction, are read
  as data and rolled back (or resolved and committed);
- reads at a revision open ``db/<hash>`` (optionally on a read replica), which is
  read-only; times resolve along the branch's first-parent line (shared code).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from doltplane.config import DATABASE_NAME, Settings
from doltplane.errors import (
    DatabaseBusy,
    DoltplaneError,
    InvalidInput,
    InvalidRevision,
    InvalidServerUrl,
    NotFound,
    UnsupportedOperation,
)
from doltplane.server.probe import parse_url
from doltplane.server.state import ServerPaths, read_status
from doltplane.store.base import MAIN, Engine, MergeStatus, RemoteHeads
from doltplane.store.capabilities import Capabilities
from doltplane.store.dolt_sql import DoltSqlEngine, _Conflicted, ident
from doltplane.store.server import errors
from doltplane.store.server.pool import ServerPool, pool_for
from doltplane.store.server.sqltext import to_format
from doltplane.validation import check_branch_name

T = TypeVar("T")

_NO_REMOTES = (
    "remote URLs would be resolved on the server's host, not this one; back up with "
    "the server's own DOLT_BACKUP, or run backups against an embedded copy"
)
_NO_SIZE = "the server's storage is not visible through SQL"
_NO_SQLITE = (
    "the server speaks MySQL; Dolt 1.86 has INSERT ... RETURNING but no upsert that "
    "returns (ON DUPLICATE KEY UPDATE ... RETURNING breaks the wire protocol)"
)

CAPABILITIES = Capabilities(
    gc_on_demand=True,
    history_squash=True,
    remotes=False,
    file_size=False,
    missing=(("remotes", _NO_REMOTES), ("file_size", _NO_SIZE), ("sqlite_syntax", _NO_SQLITE)),
)


_GC_LOCK = "doltplane-gc"


class ServerEngine(DoltSqlEngine):
    """One plane's database on a Dolt server; see the module docstring."""

    name = "dolt-server"

    def __init__(
        self,
        url: str,
        database: str,
        settings: Settings,
        *,
        create: bool = True,
        read_url: str | None = None,
        storage: Path | None = None,
    ) -> None:
        """``storage``: the database's folder, when the server keeps it on this machine
        (the supervised server of the data directory): ``size_bytes()`` measures it."""
        if not DATABASE_NAME.fullmatch(database):
            raise InvalidInput(f"not a database name: {database!r}")
        self._pool: ServerPool = pool_for(url, settings)
        self.database = database
        self.location = f"{self._pool.address.display}/{database}"
        self.author = settings.author
        self._retries = settings.write_retries
        self._storage = storage
        self._lock = threading.Lock()
        self._init_shared()
        self._ensure_database(create)
        self._replica: ServerPool | None = None
        if read_url is not None:
            self._replica = pool_for(read_url, settings)
        with suppress(DoltplaneError):  # best effort, as on the embedded engine
            self.remove_scratch_leftovers()

    def _ensure_database(self, create: bool) -> None:
        try:
            with self._pool.engine.connect() as conn:
                found = conn.exec_driver_sql(
                    "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s",
                    (self.database,),
                ).scalar()
                if found:
                    return
                if not create:
                    raise NotFound(
                        "database",
                        f"{self.database} on {self._pool.address.display}",
                        hint="run `doltplane init` against the server, or check the "
                        "ops_database / ledger_database settings",
                    )
                conn.exec_driver_sql(f'CREATE DATABASE IF NOT EXISTS "{self.database}"')
        except DoltplaneError:
            raise
        except Exception as exc:
            raise errors.translate(exc, f"open {self.location}") from None

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    def pool_stats(self) -> dict[str, int]:
        """The process's pool for this server: open, idle, in_use, overflow,
        created_total, discarded_total."""
        return self._pool.stats()

    # --- connections -------------------------------------------------------
    def _target(self, branch: str | None) -> str:
        if branch is None or branch == MAIN:
            return self.database
        check_branch_name(branch)
        return f"{self.database}/{branch}"

    @contextmanager
    def _routed(self, target: str, *commits: str) -> Iterator[sa.Connection]:
        """A connection in ``target`` on the read replica when there is one, it answers and
        holds ``commits`` (it may lag); else on the primary."""
        if self._replica is not None:
            try:
                conn, token = self._replica.checkout(target, *commits)
            except Exception:  # lagging, missing or down: the primary answers
                pass
            else:
                try:
                    yield conn
                except Exception as exc:
                    if errors.driver_error(exc) is None and not isinstance(
                        exc, sa.exc.SQLAlchemyError
                    ):
                        raise
                    # the replica went away mid-read: typed here; the pool drops the
                    # connection and the next read falls back to the primary
                    raise errors.translate(exc, f"read on the replica in {target}") from None
                finally:
                    self._replica.release(conn, token)
                return
        try:
            with self._pool.connection(target) as conn:
                yield conn
        except DoltplaneError:
            raise
        except Exception as exc:
            if errors.driver_error(exc) is None and not isinstance(exc, sa.exc.SQLAlchemyError):
                raise
            raise errors.translate(exc, f"read in {target}") from None

    def _revision_connection(self, commit: str) -> AbstractContextManager[sa.Connection]:
        """A connection on the read-only ``db/<commit>``."""
        return self._routed(f"{self.database}/{commit}")

    def _history_read(self, *commits: str) -> AbstractContextManager[sa.Connection]:
        return self._routed(self.database, *(f"{self.database}/{c}" for c in commits))

    def schema_engine(self) -> sa.Engine:
        engine = self._pool.engine.execution_options(doltplane_database=self.database)
        sa.event.listen(engine, "engine_connect", _use_from_options)
        return engine

    # --- SQL access --------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return to_format(sql)

    def _transaction(self, fn: Callable[[sa.Connection], T], branch: str | None, begin: bool) -> T:
        with self._pool.connection(self._target(branch)) as conn:
            if begin:
                conn.exec_driver_sql("START TRANSACTION")
            try:
                result = fn(conn)
                if begin:
                    conn.exec_driver_sql("COMMIT")
                return result
            except BaseException:
                if begin:
                    with suppress(Exception):
                        conn.exec_driver_sql("ROLLBACK")
                raise

    def _from_database(self, exc: BaseException) -> bool:
        return errors.driver_error(exc) is not None or isinstance(exc, sa.exc.SQLAlchemyError)

    def _retry_after(self, exc: BaseException, *, last: bool) -> bool:
        return errors.is_retryable(exc)

    @contextmanager
    def read(self, revision: str | None = None) -> Iterator[sa.Connection]:
        try:
            if revision is None:
                with self._pool.connection(self.database) as conn:
                    yield conn
                return
            with self._revision_connection(self.resolve_revision(revision)) as conn:
                yield conn
        except DoltplaneError:
            raise
        except Exception as exc:
            if errors.driver_error(exc) is None and not isinstance(exc, sa.exc.SQLAlchemyError):
                raise
            raise errors.translate(exc, f"read at {revision or 'working state'}") from None

    def fetch_rows(
        self, sql: str, params: Sequence[Any] = (), revision: str | None = None
    ) -> list[tuple[Any, ...]]:
        with self.read(revision) as conn:
            raw = conn.connection.dbapi_connection
            try:
                return list(raw.execute(sql, params).fetchall())  # type: ignore[union-attr]
            except Exception as exc:
                raise errors.translate(exc, f"read at {revision or 'working state'}") from None

    def query(
        self,
        sql: str,
        params: Any = None,
        *,
        attach: Mapping[str, Engine] | None = None,
        timeout: float | None = None,
    ) -> list[dict[str, Any]]:
        from doltplane.store.server.crossquery import run_read_only

        databases = {}
        for alias, other in (attach or {}).items():
            if not isinstance(other, ServerEngine) or other._pool is not self._pool:
                raise UnsupportedOperation(
                    f"cannot query a {other.name} database together with {self.location}",
                    hint="every plane of one data plane must live on the same server",
                )
            databases[alias] = other.database
        return run_read_only(self._pool, self.database, databases, sql, params, timeout)

    # --- the hooks of the shared Dolt SQL -----------------------------------
    def _call_sql(self, function: str, count: int) -> str:
        return f"CALL {function.upper()}({', '.join(['%s'] * count)})"

    def _hash_of(self, revision: str) -> str:
        try:
            with self._pool.connection(self.database) as conn:
                value = conn.exec_driver_sql("SELECT dolt_hashof(%s)", (revision,)).scalar()
        except Exception as exc:
            if errors.driver_error(exc) is None:
                raise
            code, text = errors.code_and_text(exc)
            if code in errors.DISCONNECTED:
                raise errors.translate(exc, f"resolve {revision}") from None
            raise InvalidRevision(revision, text.removeprefix("dolt_hashof: ")) from None
        return str(value)

    def _primary_key(self, conn: sa.Connection, table: str) -> list[str]:
        # Dolt 1.86 ignores a WHERE on SHOW KEYS: filter here
        rows = conn.exec_driver_sql(f"SHOW KEYS FROM {ident(table)}").fetchall()
        primary = [r for r in rows if str(r[2]) == "PRIMARY"]
        return [str(r[4]) for r in sorted(primary, key=lambda r: int(r[3]))]

    def _history_source(self, table: str, revision: str | None) -> tuple[str, list[Any]]:
        source = ident("dolt_history_" + table)
        if revision is None:
            return source, []
        return f'"{self.database}/{revision}".{source}', []

    def _diff_source(self, table: str) -> str:
        ident(table)
        return f"dolt_diff(?, ?, '{table}')"

    def _merge_call(self, conn: sa.Connection, args: list[str], source_hash: str) -> MergeStatus:
        row = conn.exec_driver_sql(self._call_sql("dolt_merge", len(args)), tuple(args)).fetchone()
        commit, fast_forward, conflicts, message = (
            (tuple(row) + (None,) * 4)[:4] if row else (None,) * 4
        )
        if conflicts:
            raise _Conflicted(self._conflict_rows(conn))
        if not commit or "up to date" in str(message or "").lower():
            return MergeStatus.UP_TO_DATE
        return MergeStatus.FAST_FORWARD if fast_forward else MergeStatus.MERGED

    def _replace_row(self, table: sa.Table) -> sa.Insert:
        statement = mysql.insert(table)
        return statement.on_duplicate_key_update(
            {c.name: statement.inserted[c.name] for c in table.c}
        )

    @contextmanager
    def _branch_connection(self, branch: str) -> Iterator[Any]:
        with self._pool.connection(self._target(branch)) as conn:
            yield conn.connection.dbapi_connection

    @contextmanager
    def _squash_guard(self) -> Iterator[bool]:
        # a named lock lives as long as the connection holding it: a crashed squash frees it
        with self._pool.engine.connect() as conn:
            got = conn.exec_driver_sql("SELECT GET_LOCK(%s, 0)", (self._squash_lock_name,)).scalar()
            try:
                yield bool(got)
            finally:
                if got:
                    with suppress(Exception):
                        conn.exec_driver_sql("SELECT RELEASE_LOCK(%s)", (self._squash_lock_name,))

    @property
    def _squash_lock_name(self) -> str:
        return f"doltplane-squash-{self.database}"

    def squash_running(self) -> bool:
        with self._pool.engine.connect() as conn:
            free = conn.exec_driver_sql(
                "SELECT IS_FREE_LOCK(%s)", (self._squash_lock_name,)
            ).scalar()
        return not free

    def _translate(self, exc: BaseException, what: str) -> DoltplaneError:
        return errors.translate(exc, what)

    # --- storage -----------------------------------------------------------
    def gc(self) -> None:
        # an online gc drops the server's other connections: run it on a connection of its
        # own, then start this process's pool afresh. One gc at a time per server, under a
        # named lock: eight processes calling DOLT_GC at once hung Dolt 1.86.4 for good
        # (every call still running after 12 minutes); a second caller is told busy.
        try:
            with self._pool.connection(self.database) as conn:
                try:
                    got = conn.exec_driver_sql("SELECT GET_LOCK(%s, 0)", (_GC_LOCK,)).scalar()
                    if not got:
                        raise DatabaseBusy("dolt_gc (another process is collecting)", 1)
                    conn.exec_driver_sql("CALL DOLT_GC()")
                finally:
                    conn.invalidate()  # closing the connection also frees the named lock
        except Exception as exc:
            if errors.driver_error(exc) is None and not isinstance(exc, sa.exc.SQLAlchemyError):
                raise
            raise errors.translate(exc, "dolt_gc") from None
        finally:
            self._pool.engine.pool.dispose()

    def size_bytes(self) -> int:
        """The bytes of the database's folder when the server is this data directory's
        supervised one (metrics and alerts read it); 0 when the storage is not visible
        from here. The gc policy still leaves a server alone (capability ``file_size``
        stays False): the server collects by itself."""
        return 0 if self._storage is None else folder_bytes(self._storage)

    def size_after_gc(self) -> int | None:
        return None

    def reset_connections(self) -> None:
        # Dolt registers system tables per query, not per connection: nothing to drop
        return None

    def close(self) -> None:
        # the pool belongs to the process (every plane shares it); see pool.dispose_all
        return None

    # --- remotes (capability: remotes is False, see CAPABILITIES) -------------
    @property
    def supports_remotes(self) -> bool:
        return False

    def _no_remotes(self) -> UnsupportedOperation:
        return UnsupportedOperation(
            f"remotes on {self.location}: {_NO_REMOTES}", hint="check engine.capabilities first"
        )

    def remote_heads(self, url: str) -> RemoteHeads | None:
        raise self._no_remotes()

    def push(self, remote: str, url: str, branch: str, *, force: bool = False) -> None:
        raise self._no_remotes()

    def push_tags(self, remote: str, url: str) -> None:
        raise self._no_remotes()

    def delete_remote_branch(self, remote: str, url: str, branch: str) -> None:
        raise self._no_remotes()

    def fetch(self, remote: str, url: str, branch: str) -> str:
        raise self._no_remotes()

    def clone_from(self, url: str, remote: str) -> RemoteHeads:
        raise self._no_remotes()


def _use_from_options(conn: sa.Connection) -> None:
    from doltplane.store.server.pool import _working_in, use

    database = conn.get_execution_options().get("doltplane_database")
    if database:
        use(conn, str(database))
        _working_in(str(database))  # for reflection; the next checkout of this thread resets it


def open_server_engine(settings: Settings, plane: str, *, create: bool = True) -> ServerEngine:
    """The engine of ``plane``'s database on the server ``settings.url`` names."""
    assert settings.url is not None
    database = settings.ops_database if plane == "ops" else settings.ledger_database
    return ServerEngine(
        settings.url,
        database,
        settings,
        create=create,
        read_url=settings.read_url,
        storage=supervised_storage(settings, database),
    )


def supervised_storage(settings: Settings, database: str) -> Path | None:
    """Where ``database`` lives on disk when ``settings.url`` is the address of the data
    directory's supervised server (its status file says so); None otherwise."""
    assert settings.url is not None
    paths = ServerPaths.of(settings.data_dir)
    recorded = read_status(paths).get("url")
    if not isinstance(recorded, str):
        return None
    try:
        theirs, ours = parse_url(recorded), parse_url(settings.url)
    except InvalidServerUrl:
        return None
    loopback = {"127.0.0.1", "localhost", "::1"}
    same_host = theirs.host == ours.host or {theirs.host, ours.host} <= loopback
    if not same_host or theirs.port != ours.port:
        return None
    return paths.databases / database


def folder_bytes(folder: Path) -> int:
    """The size of every file under ``folder`` (0 if it does not exist); files removed
    while it walks (a server's gc) are skipped."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with suppress(OSError):
                total += os.stat(os.path.join(root, name), follow_symlinks=False).st_size
    return total
