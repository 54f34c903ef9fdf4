"""Is a Dolt server there, is it Dolt, does it take writes?

One connection per probe, with a short timeout. Liveness is
``SELECT active_branch()``, which Dolt answers without queueing behind running
queries; ``dolt_version()`` tells Dolt from other MySQL-speaking servers. The
write probe writes one row in a scratch database (``doltplane_probe``): a
server can fall into read-only mode and answer reads for ever.

Every failure is one typed error whose message shows the URL with its password
masked; the password itself never reaches a message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from typing import Any
from urllib.parse import unquote, urlsplit

from doltplane.errors import (
    DatabaseMissing,
    EngineUnavailable,
    InvalidServerUrl,
    NotADoltServer,
    ServerAuthFailed,
    ServerReadOnly,
    ServerUnreachable,
)

SCHEMES = ("mysql", "mysql+pymysql")
PROBE_DATABASE = "doltplane_probe"

# MySQL error numbers the server path meets.
_ACCESS_DENIED = (1044, 1045, 1698)
_UNKNOWN_DATABASE = 1049
_UNKNOWN_FUNCTION = (1305, 1105)
_CANT_CONNECT = (2002, 2003, 2005)


@dataclasses.dataclass(frozen=True)
class ServerAddress:
    """A parsed server URL. ``str()`` and ``repr()`` never show the password."""

    host: str
    port: int
    user: str
    password: str = dataclasses.field(default="", repr=False)
    database: str | None = None
    scheme: str = "mysql"

    @property
    def display(self) -> str:
        """The URL with the password masked (``***``), as every message shows it."""
        auth = self.user + (":***" if self.password else "")
        path = f"/{self.database}" if self.database else ""
        return f"{self.scheme}://{auth}@{self.host}:{self.port}{path}"

    def __str__(self) -> str:
        return self.display


def _redacted(url: str) -> str:
    """What an unparseable URL may show: everything before ``@`` hidden."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "<not a URL>" if "@" in url else repr(url)
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return f"{scheme}://{rest}"


def parse_url(url: str) -> ServerAddress:
    """``mysql://user:password@host:port/database`` (``mysql+pymysql://`` too)."""
    shown = _redacted(url)
    hint = "write it as mysql://user:password@host:port/database"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidServerUrl(f"server URL {shown} is not valid: {exc}", hint=hint) from None
    if parts.scheme not in SCHEMES:
        got = f"scheme {parts.scheme!r}" if parts.scheme else "no scheme"
        raise InvalidServerUrl(
            f"server URL {shown} has {got}; doltplane speaks {', '.join(SCHEMES)}", hint=hint
        )
    if not parts.hostname:
        raise InvalidServerUrl(f"server URL {shown} names no host", hint=hint)
    if parts.query or parts.fragment:
        raise InvalidServerUrl(f"server URL {shown} has options doltplane ignores", hint=hint)
    database = unquote(parts.path.lstrip("/")) or None
    return ServerAddress(
        host=parts.hostname,
        port=port or 3306,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        database=database,
        scheme=parts.scheme,
    )


def address(url: str | ServerAddress) -> ServerAddress:
    return url if isinstance(url, ServerAddress) else parse_url(url)


def translate(exc: BaseException, where: ServerAddress) -> EngineUnavailable:
    """A pymysql connection error as one doltplane error that names the masked URL."""
    import pymysql

    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    if isinstance(exc, pymysql.MySQLError) and code in _ACCESS_DENIED:
        return ServerAuthFailed(
            f"{where.display} refused user {where.user!r}: wrong user or password",
            hint="check the user and password in the URL (DOLTPLANE_URL)",
        )
    if isinstance(exc, pymysql.MySQLError) and code == _UNKNOWN_DATABASE:
        return DatabaseMissing(
            where.database or "?",
            f"{where.host}:{where.port}",
            hint="create it (CREATE DATABASE), or fix the database in the URL",
        )
    if code in _CANT_CONNECT or isinstance(exc, OSError):
        return ServerUnreachable(
            f"nothing answers at {where.display}: connection refused or timed out",
            hint="start the server (doltplane server start) or fix the host and port",
        )
    return ServerUnreachable(
        f"{where.display} did not answer as a MySQL server ({type(exc).__name__})",
        hint="check that the URL points at a Dolt sql-server",
    )


def open_connection(
    url: str | ServerAddress, *, timeout: float = 2.0, database: str | None = None
) -> Any:
    """A pymysql connection with autocommit on, or a typed error."""
    import pymysql

    where = address(url)
    try:
        return pymysql.connect(
            host=where.host,
            port=where.port,
            user=where.user,
            password=where.password,
            database=database if database is not None else where.database,
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
            autocommit=True,
        )
    except (pymysql.MySQLError, OSError) as exc:
        raise translate(exc, where) from None


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    """What one probe saw."""

    url: str
    """The URL probed, password masked."""
    version: str
    """``dolt_version()``."""
    latency_ms: float
    """Connect plus the liveness query."""
    writable: bool | None = None
    """True when the write probe passed; None when it was not run."""


def probe(url: str | ServerAddress, *, timeout: float = 2.0, write: bool = False) -> ProbeResult:
    """Connect, check the server is Dolt and answers; with ``write`` also write one row.

    Raises ServerUnreachable, ServerAuthFailed, DatabaseMissing, NotADoltServer
    or ServerReadOnly (all one line, the password masked).
    """
    import pymysql

    where = address(url)
    started = time.perf_counter()
    conn = open_connection(where, timeout=timeout)
    try:
        with conn.cursor() as cursor:
            try:
                cursor.execute("SELECT dolt_version(), active_branch()")
                row = cursor.fetchone()
            except pymysql.MySQLError as exc:
                code = exc.args[0] if exc.args else None
                if code in _UNKNOWN_FUNCTION:
                    raise _not_dolt(where, conn) from None
                raise translate(exc, where) from None
            except OSError as exc:
                raise translate(exc, where) from None
            latency_ms = (time.perf_counter() - started) * 1000
            writable = None
            if write:
                _write_probe(cursor, where)
                writable = True
    finally:
        conn.close()
    assert row is not None
    return ProbeResult(where.display, str(row[0]), latency_ms, writable)


def _not_dolt(where: ServerAddress, conn: Any) -> NotADoltServer:
    what = "a MySQL-speaking server"
    with contextlib.suppress(Exception):  # the name only decorates the message
        what = str(conn.get_server_info())
    return NotADoltServer(
        f"{where.display} is not a Dolt server (it reports {what}; dolt_version() is missing)",
        hint="point the URL at a dolt sql-server; `doltplane server start` runs one",
    )


def _write_probe(cursor: Any, where: ServerAddress) -> None:
    import pymysql

    statements = (
        f"CREATE DATABASE IF NOT EXISTS {PROBE_DATABASE}",
        f"CREATE TABLE IF NOT EXISTS {PROBE_DATABASE}.probe"
        " (id INT PRIMARY KEY, at DATETIME(6) NOT NULL)",
        f"REPLACE INTO {PROBE_DATABASE}.probe VALUES (1, NOW(6))",
    )
    try:
        for statement in statements:
            cursor.execute(statement)
    except pymysql.MySQLError as exc:
        text = str(exc.args[1] if len(exc.args) > 1 else exc)
        if "read only" in text.lower() or "read-only" in text.lower():
            raise ServerReadOnly(
                f"{where.display} refuses writes: {text}",
                hint="restart the server (doltplane server stop && doltplane server start)",
            ) from None
        raise translate(exc, where) from None
    except OSError as exc:
        raise translate(exc, where) from None
