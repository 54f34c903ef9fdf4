"""The plane's record of installed packs (``_packs``) and of applied idempotency keys
(``_pack_idempotency``): framework tables, created on first install in the same
write transaction that records the pack."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from doltplane.errors import MigrationError
from doltplane.packs import sql
from doltplane.store.base import Engine

framework = sa.MetaData()

packs_table = sa.Table(
    "_packs",
    framework,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("installed_at", sql.TIME, nullable=False),
)

idempotency_table = sa.Table(
    "_pack_idempotency",
    framework,
    sa.Column("scope", sa.String(255), primary_key=True),
    sa.Column("idem_key", sa.String(128), primary_key=True),
    sa.Column("table_name", sa.String(64), nullable=False),
    sa.Column("result", sa.JSON(), nullable=False),
    sa.Column("created_at", sql.TIME, nullable=False),
)


def ensure_framework(conn: sa.Connection) -> None:
    framework.create_all(conn, checkfirst=True)


def installed_names(engine: Engine) -> list[str]:
    """Names of the packs installed in this plane (none when ``_packs`` does not exist)."""
    with engine.read() as conn:
        if not sa.inspect(conn).has_table(packs_table.name):
            return []
        rows = conn.execute(sa.select(packs_table.c.name).order_by(packs_table.c.name))
        return [r[0] for r in rows]


def version_folders(engine: Engine, plane: str) -> list[Path]:
    """The versions folder of every pack installed in ``plane`` (for the migration runner)."""
    from doltplane.packs import registry

    names = installed_names(engine)
    if not names:
        return []
    available = registry.available()
    missing = [n for n in names if n not in available]
    if missing:
        raise MigrationError(
            f"{plane} has pack(s) installed that this environment lacks: {', '.join(missing)}",
            hint="install the Python package that provides them (entry point doltplane.packs)",
        )
    elsewhere = [n for n in names if available[n].plane != plane]
    if elsewhere:
        raise MigrationError(
            f"{plane} has pack(s) installed that now declare another plane: {', '.join(elsewhere)}",
            hint="a pack cannot move between planes; install it under a new name",
        )
    return [Path(available[n].versions) for n in names]
