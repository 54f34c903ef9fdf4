"""Live operational reads straight over the doltlite driver, for short-lived processes.

``doltplane ops get`` runs once per agent call: opening the full client costs
SQLAlchemy (and, on an old schema, Alembic) before the first row. This reader
opens the plane's file read-only with the driver alone, checks that the schema
is current with one SELECT, and runs the statements compiled from SQLAlchemy
Core into ``ops_sql.py``. When it cannot answer exactly as the full client
would (a server URL, no database yet, a schema to migrate) ``open`` returns
None and the caller takes the full path.
"""

from __future__ import annotations

import builtins
import datetime as dt
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from doltplane.config import Settings
from doltplane.errors import NotFound
from doltplane.planes.ops_queries import compiled_read, list_query
from doltplane.planes.ops_types import AgentHealth, AgentState, Heartbeat, health
from doltplane.validation import check_id, check_number, check_optional_datetime

PLANE = "ops"


class FastOpsReader:
    """The live operational state through one read-only driver connection."""

    def __init__(self, conn: Any, settings: Settings) -> None:
        self._conn = conn
        self.settings = settings

    @classmethod
    def open(cls, settings: Settings) -> FastOpsReader | None:
        """A reader on the plane's file, or None when the full client must answer."""
        if not settings.embedded:
            return None
        path = Path(settings.data_dir) / f"{PLANE}.db"
        if not path.is_file():
            return None
        from doltplane.remote_registry import Registry
        from doltplane.store.loader import check_database_file, sqlite_module

        Registry(settings.data_dir).check_usable()
        check_database_file(path)
        sqlite3 = sqlite_module()
        try:
            conn = sqlite3.connect(
                f"file:{quote(str(path.resolve()))}?mode=ro",
                uri=True,
                timeout=settings.busy_timeout_ms / 1000,
                isolation_level=None,
            )
        except sqlite3.Error:
            return None
        reader = cls(conn, settings)
        if not reader._current():
            reader.close()
            return None
        return reader

    def _current(self) -> bool:
        """A Dolt file whose schema is at the plane's head (the full client's own check)."""
        from doltplane.migrations import HEADS, VERSION_TABLE

        try:
            kind = self._conn.execute("SELECT doltlite_engine()").fetchone()
            rows = self._conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall()
        except Exception:  # not a Dolt file, no version table, locked: the full path reports
            return False
        return bool(kind) and kind[0] == "prolly" and [r[0] for r in rows] == [HEADS[PLANE]]

    def _rows(self, key: str, values: dict[str, Any]) -> list[dict[str, Any]]:
        statement = compiled_read(key)
        try:
            rows = self._conn.execute(statement.sql, statement.params(values)).fetchall()
        except Exception as exc:
            from doltplane.store.doltlite import translate

            raise translate(exc, "read at working state") from None
        return statement.mappings(rows)

    def get(self, id: str) -> AgentState:
        """One record; NotFound when there is none (as ``dp.ops.get``)."""
        check_id(id)
        rows = self._rows("get", {"id": id})
        if not rows:
            raise NotFound("operational state", id, hint="no such id")
        return AgentState.from_row(rows[0])

    def list(
        self,
        *,
        rig: str | None = None,
        agent: str | None = None,
        status: str | None = None,
        updated_since: dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[AgentState]:
        """As ``dp.ops.list``."""
        key, params = list_query(
            rig=rig, agent=agent, status=status, updated_since=updated_since, limit=limit
        )
        return [AgentState.from_row(row) for row in self._rows(key, params)]

    def agents(
        self, *, stale_after: float | None = None, now: dt.datetime | None = None
    ) -> builtins.list[AgentHealth]:
        """As ``dp.ops.agents``."""
        default = self.settings.stale_after_seconds
        threshold = check_number(default if stale_after is None else stale_after, "stale_after")
        now = check_optional_datetime(now, "now") or dt.datetime.now(dt.UTC)
        beats = [Heartbeat.from_row(row) for row in self._rows("agents", {})]
        return health(beats, threshold, now)

    def close(self) -> None:
        with suppress(Exception):
            self._conn.close()

    def __enter__(self) -> FastOpsReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
