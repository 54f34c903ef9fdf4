"""Schema migrations: one Alembic script directory per plane, driven from code.

``HEADS`` names each plane's newest revision so that opening a current
database costs one SELECT and no Alembic import (agents call the CLI often);
a test fails when it disagrees with the script directories.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from doltplane.errors import DoltplaneError

if TYPE_CHECKING:
    from doltplane.store.base import Engine

VERSION_TABLE = "_migrations"
HEADS: dict[str, str | None] = {"ops": "ops_0003", "ledger": "ledger_0002"}


def is_current(engine: Engine, plane: str) -> bool:
    """Whether the plane's database is at its head revision (one read, no Alembic)."""
    try:
        with engine.read() as conn:
            rows = conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").fetchall()
    except DoltplaneError:  # no version table yet: a new database
        return False
    # installed packs add their own branch heads; `migrate` applies those
    return HEADS[plane] in {r[0] for r in rows}


def ensure_current(engine: Engine, plane: str) -> None:
    """Apply pending migrations unless the schema is already current."""
    if not is_current(engine, plane):
        from doltplane.migrations import runner

        runner.upgrade(engine, plane)
