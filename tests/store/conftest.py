"""An engine on a real doltlite file with one table ``t(id, v)``, and helpers to write and
read it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from doltplane.config import Settings
from doltplane.store.doltlite import DoltliteEngine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[DoltliteEngine]:
    eng = DoltliteEngine(tmp_path / "t.db", Settings.load({"data_dir": tmp_path}, env={}))
    eng.write(lambda c: c.exec_driver_sql("CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER)"))
    eng.commit("create t")
    yield eng
    eng.close()


def put(engine: DoltliteEngine, branch: str | None = None, **rows: int) -> None:
    """Upsert ``id=v`` rows on ``branch`` in one write transaction."""

    def run(conn: sa.Connection) -> None:
        for key, value in rows.items():
            conn.exec_driver_sql("INSERT OR REPLACE INTO t VALUES (?, ?)", (key, value))

    engine.write(run, branch=branch)


def rows(engine: DoltliteEngine, revision: str | None = None) -> dict[str, int]:
    with engine.read(revision) as conn:
        return {str(k): int(v) for k, v in conn.exec_driver_sql("SELECT id, v FROM t")}
