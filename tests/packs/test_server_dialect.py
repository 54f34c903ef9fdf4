"""The packs' SQL on a real ``dolt sql-server`` (MySQL dialect): migrations, constraint
errors and views, independent of the engine under test (skipped when dolt is absent).

Everything else in tests/packs runs through the ``dp`` fixture, on every engine it offers.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext

from doltplane.errors import (
    CheckViolation,
    ConstraintViolation,
    ForeignKeyViolation,
    UniqueViolation,
)
from doltplane.migrations import VERSION_TABLE
from doltplane.migrations.runner import script_directory
from doltplane.packs import registry, rows

from .conftest import EXAMPLES

DOLT = shutil.which("dolt") or str(Path.home() / "go" / "bin" / "dolt")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    if not os.access(DOLT, os.X_OK):
        pytest.skip("no dolt binary")
    home = tmp_path_factory.mktemp("dolt_home")
    data = tmp_path_factory.mktemp("dolt_data")
    env = {**os.environ, "HOME": str(home)}
    for key, value in (("user.name", "packs"), ("user.email", "packs@example.com")):
        subprocess.run(
            [DOLT, "config", "--global", "--add", key, value],
            env=env,
            check=True,
            capture_output=True,
        )
    port = _free_port()
    process = subprocess.Popen(
        [DOLT, "sql-server", "--host", "127.0.0.1", "--port", str(port)],
        cwd=data,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    root = sa.create_engine(f"mysql+pymysql://root@127.0.0.1:{port}/", isolation_level="AUTOCOMMIT")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with root.connect() as conn:
                    conn.exec_driver_sql("CREATE DATABASE packs")
                break
            except sa.exc.OperationalError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        engine = sa.create_engine(f"mysql+pymysql://root@127.0.0.1:{port}/packs")
        yield engine
        engine.dispose()
    finally:
        root.dispose()
        process.terminate()
        process.wait(timeout=30)


def _migrate(engine: sa.Engine) -> list[str]:
    """Every example pack's branch to its head; the revisions applied."""
    script = script_directory("ops", [registry.get(n).versions for n in EXAMPLES])
    applied: list[str] = []
    for name in EXAMPLES:
        with engine.begin() as conn:

            def steps(rev: Any, context: Any, name: str = name) -> Any:
                found = script._upgrade_revs(f"{name}@head", rev)
                applied.extend(str(step.revision.revision) for step in found)
                return found

            with EnvironmentContext(
                Config(), script, fn=steps, destination_rev=f"{name}@head"
            ) as env:
                env.configure(connection=conn, version_table=VERSION_TABLE)
                env.run_migrations()
    return applied


def _insert(engine: sa.Engine, table: sa.Table, **values: Any) -> None:
    with engine.begin() as conn, rows.constraint_errors(table.name):
        conn.execute(table.insert().values(**values))


def test_pack_sql_on_a_dolt_server(server: sa.Engine) -> None:
    applied = _migrate(server)
    assert sum(r.startswith("planning_") for r in applied) == 5
    assert _migrate(server) == []  # at every head: nothing to do
    with server.connect() as conn:
        inspector = sa.inspect(conn)
        for name in EXAMPLES:
            for table in registry.get(name).metadata.sorted_tables:
                columns = {
                    c["name"]: bool(c["nullable"]) for c in inspector.get_columns(table.name)
                }
                assert columns == {c.name: bool(c.nullable) for c in table.columns}, table.name
        assert "card_label" not in inspector.get_table_names()

    workflow = registry.get("workflow").metadata.tables
    now = rows.utc_now()
    stamps = {"created_at": now, "updated_at": now}
    definitions, instances = workflow["workflow_definitions"], workflow["workflow_instances"]
    _insert(server, definitions, id="d1", name="n", version=1, definition_json={"a": [1]}, **stamps)
    with pytest.raises(UniqueViolation):
        _insert(server, definitions, id="d2", name="n", version=1, definition_json={}, **stamps)
    with pytest.raises(CheckViolation):
        _insert(server, definitions, id="d3", name="m", version=0, definition_json={}, **stamps)
    with pytest.raises(ForeignKeyViolation):
        _insert(server, instances, id="i0", definition_id="zz", status="pending", **stamps)
    with pytest.raises(ConstraintViolation):
        _insert(server, instances, id="i0", definition_id="d1", status="pending")
    planning = registry.get("planning").metadata.tables
    _insert(server, planning["project"], id="p1", name="P", **stamps)
    with pytest.raises(CheckViolation):
        _insert(
            server,
            planning["context_artifact"],
            id="a1",
            project_id="p1",
            kind="note",
            created_at=now,
        )
    with pytest.raises(CheckViolation):
        _insert(
            server,
            planning["orchestration_run"],
            id="r1",
            project_id="p1",
            scope="card",
            status="queued",
            **stamps,
        )

    hour = dt.timedelta(hours=1)
    _insert(
        server,
        instances,
        id="slow",
        definition_id="d1",
        status="running",
        started_at=now - 3 * hour,
        **stamps,
    )
    for n, status in enumerate(("failed", "failed", "completed")):
        _insert(
            server,
            instances,
            id=f"f{n}",
            definition_id="d1",
            status=status,
            started_at=now - 2 * hour,
            completed_at=now - 2 * hour + (n + 1) * dt.timedelta(minutes=10),
            **stamps,
        )
    with server.connect() as conn:
        (slow,) = conn.exec_driver_sql("SELECT * FROM long_running_workflows").mappings()
        (failing,) = conn.exec_driver_sql("SELECT * FROM failing_workflow_definitions").mappings()
        stored = conn.execute(sa.select(definitions)).mappings().one()
    assert slow["id"] == "slow" and abs(float(slow["running_seconds"]) - 3 * 3600) < 120
    assert (int(failing["total"]), int(failing["successes"]), int(failing["failures"])) == (3, 1, 2)
    assert float(failing["avg_duration_seconds"]) == pytest.approx(1200, abs=1)
    decoded = rows.decode(definitions, stored)
    assert decoded["definition_json"] == {"a": [1]} and decoded["is_active"] is True
