"""Data-plane administration: schema migrations and status, for every database plane."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

from doltplane.migrations import runner
from doltplane.store import PLANES, open_engine

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
    return not dp.settings.embedded or (dp.settings.data_dir / f"{plane}.db").exists()


def _with_engine(dp: DataPlane, plane: str) -> Engine:
    """The plane's engine without migrating it (for read-only reports)."""
    return dp._engines.get(plane) or open_engine(dp.settings, plane)


def migration_status(dp: DataPlane) -> list[runner.MigrationStatus]:
    """Applied and pending migrations of every plane; creates and changes nothing."""
    result = []
    for plane in PLANES:
        if not _exists(dp, plane):
            script = runner.script_directory(plane)
            revisions = tuple(
                runner.Revision(plane, s.revision, (s.doc or "").strip(), False)
                for s in reversed(list(script.walk_revisions()))
            )
            result.append(runner.MigrationStatus(plane, None, script.get_current_head(), revisions))
            continue
        engine = _with_engine(dp, plane)
        try:
            result.append(runner.status(engine, plane))
        finally:
            if engine is not dp._engines.get(plane):
                engine.close()
    return result


def migrate(dp: DataPlane) -> list[runner.Revision]:
    """Create the plane databases if needed and apply pending migrations (idempotent)."""
    if dp.settings.embedded:
        dp.settings.data_dir.mkdir(parents=True, exist_ok=True)
    applied: list[runner.Revision] = []
    for plane in PLANES:
        engine = _with_engine(dp, plane)
        try:
            applied += runner.upgrade(engine, plane)
        finally:
            if engine is not dp._engines.get(plane):
                engine.close()
    return applied


def status(dp: DataPlane) -> list[PlaneStatus]:
    """Each plane's size, commits, last commit and schema version; changes nothing."""
    out = []
    for migrations in migration_status(dp):
        plane = migrations.plane
        if not _exists(dp, plane):
            location = str(dp.settings.data_dir / f"{plane}.db")
            out.append(PlaneStatus(plane, location, False, 0, 0, None, None, None, None, 0))
            continue
        engine = _with_engine(dp, plane)
        try:
            last = engine.log(limit=1)
            out.append(
                PlaneStatus(
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
            )
        finally:
            if engine is not dp._engines.get(plane):
                engine.close()
    return out
