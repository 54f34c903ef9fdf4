"""Alembic, configured in code: no alembic.ini, no env.py, version table ``_migrations``.

Each plane has its own script directory (``migrations/<plane>/versions``).
Every revision is applied in its own write transaction, re-checking the
current version under the write lock (so concurrent ``migrate`` runs apply
each revision once), and then recorded as a Dolt commit naming it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from doltplane.errors import DoltplaneError, MigrationError
from doltplane.migrations import VERSION_TABLE
from doltplane.store.base import Engine

_HERE = Path(__file__).parent


@dataclasses.dataclass(frozen=True)
class Revision:
    plane: str
    revision: str
    description: str
    applied: bool


@dataclasses.dataclass(frozen=True)
class MigrationStatus:
    plane: str
    current: str | None
    head: str | None
    revisions: tuple[Revision, ...]

    @property
    def pending(self) -> list[Revision]:
        return [r for r in self.revisions if not r.applied]


def script_directory(plane: str) -> ScriptDirectory:
    folder = _HERE / plane
    if not (folder / "versions").is_dir():
        raise MigrationError(f"no migrations for plane {plane!r}")
    config = Config()
    config.set_main_option("script_location", str(folder))
    return ScriptDirectory.from_config(config)


def _current(connection: sa.Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def status(engine: Engine | None, plane: str) -> MigrationStatus:
    """Applied and pending revisions, oldest first; reads only (no engine: a database
    not created yet, where everything is pending)."""
    script = script_directory(plane)
    current = None
    if engine is not None:
        with engine.read() as conn:
            current = _current(conn)
    applied = set()
    if current is not None:
        applied = {s.revision for s in script.iterate_revisions(current, "base")}
    revisions = [
        Revision(plane, s.revision, (s.doc or "").strip(), s.revision in applied)
        for s in reversed(list(script.walk_revisions()))
    ]
    return MigrationStatus(plane, current, script.get_current_head(), tuple(revisions))


def upgrade(engine: Engine, plane: str) -> list[Revision]:
    """Apply pending revisions one by one, each as its own Dolt commit; returns those applied."""
    script = script_directory(plane)
    applied: list[Revision] = []
    for pending in status(engine, plane).pending:
        if _apply(engine, script, pending.revision):
            engine.commit(f"migration {plane} {pending.revision}: {pending.description}")
            applied.append(dataclasses.replace(pending, applied=True))
    if applied:
        engine.reset_connections()
    return applied


def _apply(engine: Engine, script: ScriptDirectory, target: str) -> bool:
    """Upgrade to ``target`` in one write transaction; False if someone else already did."""

    def run(connection: sa.Connection) -> bool:
        current = _current(connection)
        if current is not None and target in {
            s.revision for s in script.iterate_revisions(current, "base")
        }:
            return False

        def steps(rev: Any, context: Any) -> Any:
            return script._upgrade_revs(target, rev)

        with EnvironmentContext(Config(), script, fn=steps, destination_rev=target) as env:
            env.configure(connection=connection, version_table=VERSION_TABLE)
            env.run_migrations()
        return True

    try:
        return engine.write(run)
    except DoltplaneError:
        raise
    except Exception as exc:  # an error inside a migration script
        raise MigrationError(f"migration {target} failed: {exc}") from exc
