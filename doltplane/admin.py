"""Data-plane administration: schema migrations and status, for every database plane."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from doltplane.migrations import runner
from doltplane.store import PLANES, open_engine, plane_exists, plane_location

if TYPE_CHECKING:
    from doltplane.client import DataPlane
    from doltplane.store.base import Engine


@dataclasses.dataclass(frozen=True)
class PlaneStatus:
    plane: str
    location: str
    exists: bool
    size_bytes: int
    commits: int
    last_commit: str | None
    last_commit_date: dt.datetime | None
    last_commit_message: str | None
    schema_version: str | None
    pending_migrations: int


def _exists(dp: DataPlane, plane: str) -> bool:
    return plane in dp._engines or plane_exists(dp.settings, plane)


@contextmanager
def _engine(dp: DataPlane, plane: str) -> Iterator[Engine]:
    """The plane's engine without migrating it: the client's if open, else a short-lived one."""
    engine = dp._engines.get(plane)
    if engine is not None:
        yield engine
        return
    engine = open_engine(dp.settings, plane)
    try:
        yield engine
    finally:
        engine.close()


def migration_status(dp: DataPlane) -> list[runner.MigrationStatus]:
    """Applied and pending migrations of every plane; creates and changes nothing."""
    return [_plane_report(dp, plane)[0] for plane in PLANES]


def migrate(dp: DataPlane) -> list[runner.Revision]:
    """Create the plane databases if needed and apply pending migrations (idempotent)."""
    applied: list[runner.Revision] = []
    for plane in PLANES:
        with _engine(dp, plane) as engine:
            applied += runner.upgrade(engine, plane)
    return applied


def status(dp: DataPlane) -> list[PlaneStatus]:
    """Each plane's size, commits, last commit and schema version; changes nothing."""
    return [_plane_report(dp, plane)[1] for plane in PLANES]


def _plane_report(dp: DataPlane, plane: str) -> tuple[runner.MigrationStatus, PlaneStatus]:
    """Migrations and status of one plane from one engine open (none if not created yet)."""
    if not _exists(dp, plane):
        location = plane_location(dp.settings, plane)
        empty = PlaneStatus(plane, location, False, 0, 0, None, None, None, None, 0)
        return runner.status(None, plane), empty
    with _engine(dp, plane) as engine:
        migrations = runner.status(engine, plane)
        last = engine.log(limit=1)
        return migrations, PlaneStatus(
            plane,
            engine.location,
            True,
            engine.size_bytes(),
            engine.commit_count(),
            last[0].hash if last else None,
            last[0].date if last else None,
            last[0].message if last else None,
            migrations.current,
            len(migrations.pending),
        )
