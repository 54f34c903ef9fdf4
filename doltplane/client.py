"""DataPlane: the one client in front of the three planes."""

from __future__ import annotations

import functools
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from doltplane.config import Settings
from doltplane.errors import NotFound

if TYPE_CHECKING:
    from doltplane.admin import PlaneStatus
    from doltplane.federation import Federation
    from doltplane.migrations.runner import MigrationStatus, Revision
    from doltplane.packs.service import Packs
    from doltplane.packs.table import PackTable
    from doltplane.planes.ledger import AgentSession, Ledger
    from doltplane.planes.operational import Operational
    from doltplane.store.base import Engine


def connect(
    path_or_url: str | Path | None = None, *, create: bool = True, **settings: Any
) -> DataPlane:
    """Open the data plane: a data directory (embedded doltlite) or a server URL.

    Keyword arguments are settings (see :class:`doltplane.Settings`); they win
    over ``DOLTPLANE_*`` variables and ``doltplane.toml``.

    ``create=True`` (the default) creates the data directory and each plane's
    database on first use, so a script needs no set-up step. ``create=False``
    refuses a data directory that does not exist or holds no doltplane data
    (:class:`~doltplane.errors.NotFound`): the CLI opens every data directory
    this way except in ``doltplane init``, so a mistyped path is an error, not
    a new empty database.
    """
    if path_or_url is not None:
        key = "url" if "://" in str(path_or_url) else "data_dir"
        settings[key] = path_or_url
    loaded = Settings.load(settings)
    if loaded.server_autostart and loaded.url is None:
        from doltplane.server.control import autostart

        loaded = autostart(loaded)
    return DataPlane(loaded, create=create)


def require_data_dir(settings: Settings) -> None:
    """Refuse an embedded data directory that is missing or holds no doltplane data, and a
    server that holds neither plane's database."""
    from doltplane.store import PLANES, plane_exists, plane_location

    if not settings.embedded:
        if not any(plane_exists(settings, plane) for plane in PLANES):
            raise NotFound(
                "doltplane databases",
                ", ".join(plane_location(settings, plane) for plane in PLANES),
                hint="run `doltplane init` against the server, or check url / "
                "ops_database / ledger_database",
            )
        return

    where = settings.data_dir
    hint = "run `doltplane init` to create one, or check --data-dir / DOLTPLANE_DATA_DIR"
    if not where.is_dir():
        raise NotFound("data directory", str(where), hint=hint)
    if any(plane_exists(settings, plane) for plane in PLANES):
        return
    from doltplane.federation.plane import CLONE_DIR

    if not (where / CLONE_DIR).is_dir():
        raise NotFound(
            "doltplane data directory", str(where), hint=f"it holds no doltplane data; {hint}"
        )


class DataPlane:
    """``.ops``, ``.ledger`` and ``.federation``, ``.agent(name)`` and ``.query(sql)``.

    Planes open on first use, so a command that touches one plane never
    pays for the others.
    """

    def __init__(self, settings: Settings, *, create: bool = True) -> None:
        if not create:
            require_data_dir(settings)
        self.settings = settings
        self._create = create
        self._engines: dict[str, Engine] = {}

    def engine(self, plane: str) -> Engine:
        """The engine of one plane's database (``ops`` or ``ledger``), migrated on first use."""
        if plane not in self._engines:
            from doltplane.migrations import ensure_current
            from doltplane.store import open_engine

            engine = open_engine(self.settings, plane, create=self._create)
            try:
                ensure_current(engine, plane)
            except BaseException:
                engine.close()
                raise
            self._engines[plane] = engine
        return self._engines[plane]

    @functools.cached_property
    def ops(self) -> Operational:
        from doltplane.planes.operational import Operational

        return Operational(self.engine("ops"), self.settings)

    @functools.cached_property
    def ledger(self) -> Ledger:
        from doltplane.planes.ledger import Ledger

        return Ledger(self.engine("ledger"), self.settings)

    @functools.cached_property
    def federation(self) -> Federation:
        from doltplane.federation import Federation

        return Federation(self.settings)

    @functools.cached_property
    def packs(self) -> Packs:
        """Schema packs: install, status, seed, views and retention (see docs/packs.md)."""
        from doltplane.packs.service import Packs

        return Packs(self)

    def table(self, name: str) -> PackTable:
        """Generic access to one table of an installed pack."""
        return self.packs.table(name)

    def agent(self, name: str) -> AgentSession:
        """A session whose ledger writes go to the agent's own branch."""
        return self.ledger.agent(name)

    def query(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        """A read-only SQL query that sees every plane at once."""
        from doltplane.planes.crossplane import run_query

        return run_query(self, sql, params)

    def migrate(self) -> list[Revision]:
        """Create the databases if needed and apply pending migrations (idempotent)."""
        from doltplane import admin

        return admin.migrate(self)

    def migration_status(self) -> list[MigrationStatus]:
        """Applied and pending migrations per plane; read-only."""
        from doltplane import admin

        return admin.migration_status(self)

    def status(self) -> list[PlaneStatus]:
        """Size, commits, last commit and schema version of each plane; read-only."""
        from doltplane import admin

        return admin.status(self)

    def release(self) -> None:
        """Let go of what this client holds between bursts of work, and keep it usable:
        pooled connections close (each plane reopens on its next read or write) and the
        read caches drop their entries (their counters stay). A long-lived process calls
        it when idle: an embedded connection's page cache grows with the file it reads,
        and the probe of a moving HEAD leaves a cache entry per commit."""
        for plane in ("ops", "ledger"):
            cache = getattr(self.__dict__.get(plane), "cache", None)
            if cache is not None:
                cache.clear()
        for engine in self._engines.values():
            engine.close()

    def close(self) -> None:
        """Snapshot the operational plane's pending writes (see its ``close``), then release
        every connection, even when that snapshot fails (its error is raised after)."""
        try:
            if "ops" in self.__dict__:
                self.ops.close()
        finally:
            engines = list(self._engines.values())
            self._engines.clear()
            for engine in engines:
                engine.close()

    def __enter__(self) -> DataPlane:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.settings.display()["url"] or str(self.settings.data_dir)
        return f"<DataPlane {where}>"
