"""Alembic, configured in code: no alembic.ini, no env.py, version table ``_migrations``.

Each plane has its own script directory (``migrations/<plane>/versions``);
each pack installed in a plane adds its versions folder as a branch of the
plane's migrations (one ``_migrations`` table, one row per branch head).
Every revision is applied in its own write transaction, re-checking the
current version under the write lock (so concurrent ``migrate`` runs apply
each revision once), and then recorded as a Dolt commit naming it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError

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


def script_directory(plane: str, packs: Sequence[Path] = ()) -> ScriptDirectory:
    """The plane's migrations, with each given pack versions folder as a further branch."""
    folder = _HERE / plane
    if not (folder / "versions").is_dir():
        raise MigrationError(f"no migrations for plane {plane!r}")
    if packs:
        locations = [str(folder / "versions"), *(str(p) for p in packs)]
        return ScriptDirectory(str(folder), version_locations=locations)
    config = Config()
    config.set_main_option("script_location", str(folder))
    return ScriptDirectory.from_config(config)


def _heads(connection: sa.Connection) -> tuple[str, ...]:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return tuple(context.get_current_heads())


def _applied(script: ScriptDirectory, heads: Sequence[str]) -> set[str]:
    if not heads:
        return set()
    try:
        found = script.iterate_revisions(tuple(heads), "base")
        return {s.revision for s in found if s is not None}
    except (CommandError, RevisionError) as exc:
        raise MigrationError(
            f"the database is at revision(s) {', '.join(heads)}, which no migration folder "
            f"here knows: {exc}",
            hint="install the doltplane version or pack that made this database",
        ) from None


def _plane_script(engine: Engine | None, plane: str) -> ScriptDirectory:
    if engine is None:
        return script_directory(plane)
    from doltplane.packs.installed import version_folders

    return script_directory(plane, version_folders(engine, plane))


def _own(script: ScriptDirectory, plane: str, revisions: Sequence[str]) -> str | None:
    """The one revision of ``revisions`` in the plane's own folder (not a pack's)."""
    own = (_HERE / plane / "versions").resolve()
    for rev in revisions:
        found = script.get_revision(rev)
        if found is not None and Path(found.path).resolve().parent == own:
            return rev
    return None


def status(engine: Engine | None, plane: str) -> MigrationStatus:
    """Applied and pending revisions, oldest first; reads only (no engine: a database
    not created yet, where everything is pending). ``current`` and ``head`` are the
    plane's own; installed packs' revisions are listed with the plane's."""
    script = _plane_script(engine, plane)
    heads: tuple[str, ...] = ()
    if engine is not None:
        with engine.read() as conn:
            heads = _heads(conn)
    applied = _applied(script, heads)
    ordered = list(reversed(list(script.walk_revisions())))
    own = {s.revision for s in ordered if _own(script, plane, [s.revision])}
    # the plane's own revisions first, then each pack's branch, each oldest first
    ordered.sort(key=lambda s: s.revision not in own)
    revisions = [
        Revision(plane, s.revision, (s.doc or "").strip(), s.revision in applied) for s in ordered
    ]
    head = _own(script, plane, script.get_heads())
    return MigrationStatus(plane, _own(script, plane, heads), head, tuple(revisions))


def upgrade(engine: Engine, plane: str) -> list[Revision]:
    """Apply pending revisions one by one, each as its own Dolt commit; returns those applied
    (the plane's own and those of the packs installed in it)."""
    script = _plane_script(engine, plane)
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
        if target in _applied(script, _heads(connection)):
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
