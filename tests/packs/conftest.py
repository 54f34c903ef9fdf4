"""Pack tests run on the shared ``dp`` fixture, so they run on every engine it offers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from doltplane import DataPlane
from doltplane.packs import registry

EXAMPLES = ("workflow", "planning", "registry", "accounts")


@pytest.fixture
def packs(dp: DataPlane) -> Iterator[DataPlane]:
    """The data plane with the four example packs installed."""
    for name in EXAMPLES:
        dp.packs.install(name)
    yield dp


@pytest.fixture(autouse=True)
def _restore_registry() -> Iterator[None]:
    before = dict(registry._registered)
    yield
    registry._registered.clear()
    registry._registered.update(before)


def commits(dp: DataPlane) -> dict[str, int]:
    return {plane: dp.engine(plane).commit_count() for plane in ("ops", "ledger")}


def schema(dp: DataPlane, plane: str, tables: list[str]) -> dict[str, Any]:
    """Reflected tables, columns, indexes, unique keys and foreign keys (order-free)."""
    out: dict[str, Any] = {}
    with dp.engine(plane).read() as conn:
        inspector = sa.inspect(conn)
        present = set(inspector.get_table_names())
        for name in tables:
            if name not in present:
                out[name] = None
                continue
            out[name] = {
                "columns": sorted(
                    (c["name"], bool(c["nullable"])) for c in inspector.get_columns(name)
                ),
                "indexes": sorted(
                    (tuple(i["column_names"]), bool(i["unique"]))
                    for i in inspector.get_indexes(name)
                ),
                "unique": sorted(
                    tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)
                ),
                "foreign": sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"])
                    for f in inspector.get_foreign_keys(name)
                ),
                "primary": inspector.get_pk_constraint(name)["constrained_columns"],
            }
    return out
