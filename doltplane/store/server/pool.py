"""One connection pool per process per server URL, shared by every plane and branch.

Each checkout names the database (``db``, ``db/branch`` or a read-only ``db/<hash>``)
it works in, and the connection switches to it with ``USE`` only when it is elsewhere.
Limits follow the design: at most ``pool_max_open`` connections, ``pool_max_idle``
kept idle, none older than ``pool_lifetime_seconds``, and an idle one older than
``pool_idle_seconds`` is discarded at checkout (kept below the server's
``wait_timeout``, so the server never closes one under us).
"""

from __future__ import annotations

import contextvars
import dataclasses
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pymysql
import pymysql.connections
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.mysql.pymysql import MySQLDialect_pymysql

from doltplane.config import Settings
from doltplane.server.probe import ServerAddress, parse_url, probe
from doltplane.server.probe import translate as connect_error
from doltplane.store.server.sqltext import to_format

_CONNECT_TIMEOUT = 10
_ANSI = "SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')"


class DoltConnection(pymysql.connections.Connection):  # type: ignore[misc]
    """A pymysql connection that also takes doltlite's shared SQL through ``execute``
    and ``executemany`` (what planes call on a raw connection), in autocommit."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cursor = self.cursor()
        cursor.execute(to_format(sql), tuple(params) if params else None)
        return cursor

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        cursor = self.cursor()
        cursor.executemany(to_format(sql), [tuple(r) for r in rows])
        return cursor


_DATABASE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "doltplane_database", default=None
)


class DoltDialect(MySQLDialect_pymysql):
    """pymysql's dialect whose default schema is the database this thread's checkout
    works in: one pool (one dialect) serves every plane and branch, and reflection
    (Alembic, a merge's final rows) must see the checkout's database."""

    supports_statement_cache = True

    def _detect_ansiquotes(self, connection: Any) -> None:
        # SQLAlchemy quotes with backticks (valid under ANSI_QUOTES too), and Dolt's SHOW
        # CREATE TABLE, which reflection parses, writes backticks whatever the sql_mode
        self._server_ansiquotes = False

    @property
    def default_schema_name(self) -> str | None:
        return _DATABASE.get()

    @default_schema_name.setter
    def default_schema_name(self, value: str | None) -> None:
        return None  # set by each checkout instead


registry.register("mysql.doltplane", __name__, "DoltDialect")


@dataclasses.dataclass
class _Counters:
    created: int = 0
    discarded: int = 0


class ServerPool:
    """The process's connections to one server; see the module docstring."""

    def __init__(self, address: ServerAddress, settings: Settings) -> None:
        self.address = address
        self._counters = _Counters()
        self._idle_limit = settings.pool_idle_seconds
        idle = max(1, settings.pool_max_idle)
        self.engine = sa.create_engine(
            "mysql+doltplane://",
            creator=self._open,
            poolclass=sa.pool.QueuePool,
            pool_size=idle,
            max_overflow=max(0, settings.pool_max_open - idle),
            pool_recycle=settings.pool_lifetime_seconds or -1,
            pool_timeout=30,
            isolation_level="AUTOCOMMIT",  # transactions are ours: START TRANSACTION
        )
        pool = self.engine.pool
        event.listen(pool, "connect", self._on_connect)
        event.listen(pool, "checkin", self._on_checkin)
        event.listen(pool, "checkout", self._on_checkout)
        event.listen(pool, "close", self._on_close)
        event.listen(pool, "close_detached", self._on_close_detached)
        with self.engine.connect() as conn:
            wait = conn.exec_driver_sql("SELECT @@wait_timeout").scalar()
        if wait and (not self._idle_limit or self._idle_limit >= int(wait)):
            # the server would close an idle connection before the pool drops it
            self._idle_limit = max(1, int(wait) - max(1, int(wait) // 10))

    def _open(self) -> DoltConnection:
        a = self.address
        try:
            return DoltConnection(
                host=a.host,
                port=a.port,
                user=a.user,
                password=a.password,
                autocommit=True,
                connect_timeout=_CONNECT_TIMEOUT,
                init_command=_ANSI,
                charset="utf8mb4",
            )
        except (pymysql.MySQLError, OSError) as exc:
            raise connect_error(exc, a) from None

    # --- pool events --------------------------------------------------------
    def _on_connect(self, dbapi: Any, record: Any) -> None:
        self._counters.created += 1

    def _on_checkin(self, dbapi: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    def _on_checkout(self, dbapi: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")
        if self._idle_limit and since is not None and time.monotonic() - since > self._idle_limit:
            record.info.pop("idle_since", None)
            # the pool discards it and checks out a fresh one
            raise sa.exc.DisconnectionError("idle longer than pool_idle_seconds")

    def _on_close(self, dbapi: Any, record: Any) -> None:
        self._counters.discarded += 1

    def _on_close_detached(self, dbapi: Any) -> None:
        self._counters.discarded += 1

    # --- use ----------------------------------------------------------------
    @contextmanager
    def connection(self, database: str) -> Iterator[sa.Connection]:
        """A pooled connection working in ``database`` (``db``, ``db/branch``, ``db/<hash>``)."""
        with self.engine.connect() as conn:
            use(conn, database)
            token = _working_in(database)
            try:
                yield conn
            finally:
                _DATABASE.reset(token)

    @property
    def idle_limit(self) -> float:
        """Seconds an idle connection may wait in the pool (pool_idle_seconds, kept below
        the server's wait_timeout)."""
        return self._idle_limit

    def checkout(
        self, database: str, *must_exist: str
    ) -> tuple[sa.Connection, contextvars.Token[str | None]]:
        """A connection in ``database`` after checking each of ``must_exist`` opens there;
        give it back with ``release``."""
        conn = self.engine.connect()
        try:
            for other in must_exist:
                use(conn, other)
            use(conn, database)
        except BaseException:
            conn.close()
            raise
        return conn, _working_in(database)

    def release(self, conn: sa.Connection, token: contextvars.Token[str | None]) -> None:
        _DATABASE.reset(token)
        conn.close()

    def stats(self) -> dict[str, int]:
        pool = self.engine.pool
        assert isinstance(pool, sa.pool.QueuePool)
        idle = pool.checkedin()
        in_use = pool.checkedout()
        return {
            "open": idle + in_use,
            "idle": idle,
            "in_use": in_use,
            "overflow": max(0, pool.overflow()),
            "created_total": self._counters.created,
            "discarded_total": self._counters.discarded,
        }

    def dispose(self) -> None:
        self.engine.dispose()


def use(conn: sa.Connection, database: str) -> None:
    """Switch the pooled connection to ``database`` unless it is already there."""
    info = conn.connection.info
    if info.get("database") != database:
        info.pop("database", None)
        conn.exec_driver_sql(f'USE "{database}"')
        info["database"] = database


def _working_in(database: str) -> contextvars.Token[str | None]:
    return _DATABASE.set(database.split("/", 1)[0])


_POOLS: dict[tuple[str, str], ServerPool] = {}
_POOLS_LOCK = threading.Lock()


def pool_for(url: str, settings: Settings) -> ServerPool:
    """The process's pool for the server at ``url`` (made on first use)."""
    address = parse_url(url)
    key = (f"{address.user}:{address.password}@{address.host}:{address.port}", "")
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
    if pool is not None:
        return pool
    # once per server: a typed one-line error for a server that is down, refuses the
    # password or is not Dolt, before any pool exists
    probe(address, timeout=_CONNECT_TIMEOUT)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = ServerPool(address, settings)
        return pool


def _forget_after_fork() -> None:
    # a forked child must not share the parent's sockets: it opens its own connections
    for pool in _POOLS.values():
        pool.engine.dispose(close=False)
    _POOLS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def dispose_all() -> None:
    """Close every pooled connection of this process (tests, and after a fork)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.dispose()
