"""Installing packs: migrations as a branch of the plane's, each a commit; reruns are no-ops."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from doltplane import DataPlane, connect
from doltplane.errors import InvalidInput, MigrationError, NotFound
from doltplane.migrations import is_current
from doltplane.migrations.runner import script_directory, status
from doltplane.packs import Pack, registry

from .conftest import EXAMPLES, commits, schema


def test_the_examples_are_found_through_the_entry_point_group() -> None:
    assert set(EXAMPLES) <= set(registry.available())
    assert registry.get("workflow").plane == "ops"
    with pytest.raises(NotFound, match="nope"):
        registry.get("nope")


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_pack_installs_and_reinstalls_as_a_no_op(dp: DataPlane, name: str) -> None:
    pack = registry.get(name)
    first = dp.packs.install(name)
    assert first.newly_installed and first.migrations
    revisions = {s.revision for s in script_directory(pack.plane, [pack.versions]).walk_revisions()}
    assert set(first.migrations) == {r for r in revisions if r.startswith(f"{name}_")}
    messages = [c.message for c in dp.engine(pack.plane).log()]
    for revision in first.migrations:  # each migration is its own Dolt commit
        assert sum(revision in m for m in messages) == 1
    before = commits(dp)
    again = dp.packs.install(name)
    assert not again.newly_installed and again.migrations == () and again.seeded_rows == 0
    assert dp.migrate() == []
    assert dp.packs.seed(name) == 0
    assert commits(dp) == before
    (state,) = dp.packs.status(name)
    assert state.installed and state.pending == () and set(state.applied) == set(first.migrations)


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_migrated_schema_is_the_pack_metadata(dp: DataPlane, name: str) -> None:
    pack = registry.get(name)
    dp.packs.install(name)
    reflected = schema(dp, pack.plane, pack.tables)
    for table in pack.metadata.sorted_tables:
        got = reflected[table.name]
        assert got is not None, table.name
        assert [c for c, _ in got["columns"]] == sorted(c.name for c in table.columns)
        assert dict(got["columns"]) == {c.name: bool(c.nullable) for c in table.columns}
        declared = {tuple(c.name for c in i.columns) for i in table.indexes}
        assert declared <= {cols for cols, _ in got["indexes"]}, table.name


def test_each_pack_branch_has_one_head_and_prefixed_revisions() -> None:
    for name in EXAMPLES:
        pack = registry.get(name)
        script = script_directory(pack.plane, [pack.versions])
        heads = script.get_heads()
        assert len(heads) == 2  # the plane's own and the pack's
        own = [s for s in script.walk_revisions() if Path(s.path).parent == pack.versions]
        assert own and all(s.revision.startswith(f"{name}_") for s in own)


def test_a_plane_with_packs_opens_without_reapplying_anything(
    dp: DataPlane, data_dir: Path
) -> None:
    dp.packs.install("workflow")
    engine = dp.engine("ops")
    assert is_current(engine, "ops")
    report = status(engine, "ops")
    assert report.current == report.head == "ops_0003"
    assert not report.pending
    before = commits(dp)
    dp.close()
    with connect(data_dir) as again:
        assert again.table("workflow_definitions").list() == []
        assert commits(again) == before


def _old_release(tmp_path: Path, keep: int) -> Pack:
    """The planning pack as an earlier release shipped it: its first ``keep`` migrations."""
    real = registry.get("planning")
    folder = tmp_path / "planning_old_versions"
    folder.mkdir()
    for path in sorted(Path(real.versions).glob("planning_000*.py"))[:keep]:
        shutil.copy(path, folder / path.name)
    metadata = sa.MetaData()
    return dataclasses.replace(
        real, versions=folder, metadata=metadata, state_machines=(), idempotency={}
    )


def test_planning_fresh_and_upgraded_databases_reach_the_same_schema(
    dp: DataPlane, tmp_path: Path
) -> None:
    real = registry.get("planning")
    tables = [*real.tables, "card_label"]
    registry.register(_old_release(tmp_path, 3))
    dp.packs.install("planning")
    old = schema(dp, "ledger", tables)
    assert old["card_label"] is not None and "build_state" not in dict(old["card"]["columns"])
    # rows written by the old release: a label that 0005 folds into the event log
    engine = dp.engine("ledger")

    def old_rows(conn: sa.Connection) -> None:
        now = "2026-01-01 00:00:00"
        conn.exec_driver_sql(
            "INSERT INTO project (id, name, status, created_at, updated_at) "
            f"VALUES ('p1', 'P', 'active', '{now}', '{now}')"
        )
        conn.exec_driver_sql(
            "INSERT INTO card (id, project_id, title, status, priority, version, created_at,"
            f" updated_at) VALUES ('c1', 'p1', 'T', 'backlog', 2, 1, '{now}', '{now}')"
        )
        conn.exec_driver_sql("INSERT INTO card_label (card_id, label) VALUES ('c1', 'urgent')")

    engine.write(old_rows, message=lambda _: "rows of the old release")
    registry.unregister("planning")  # the new release, from the entry point, is back
    applied = [r.revision for r in dp.migrate() if r.plane == "ledger"]
    assert applied == ["planning_0004", "planning_0005"]
    upgraded = schema(dp, "ledger", tables)

    assert upgraded["card_label"] is None
    card = dp.table("card").get("c1")
    assert card["build_state"] == "not_started" and card["title"] == "T"
    (label,) = dp.table("event_log").list({"kind": "label"})
    assert label["subject"] == "c1" and label["payload"] == {"label": "urgent"}

    # a fresh database on the same engine: the other plane, installed in one go
    registry.register(dataclasses.replace(real, plane="ops"))
    dp.packs.install("planning")
    assert schema(dp, "ops", tables) == upgraded


def test_a_pack_installed_but_missing_from_the_environment_is_a_clear_error(
    dp: DataPlane, tmp_path: Path
) -> None:
    pack = dataclasses.replace(registry.get("registry"), name="registry_copy")
    folder = tmp_path / "copy_versions"
    folder.mkdir()
    text = (Path(registry.get("registry").versions) / "registry_0001_tables.py").read_text()
    text = text.replace('"registry_0001"', '"registry_copy_0001"').replace(
        '("registry",)', '("registry_copy",)'
    )
    text = text.replace("metadata.create_all(op.get_bind())", "pass")
    (folder / "registry_copy_0001_tables.py").write_text(text)
    registry.register(dataclasses.replace(pack, versions=folder))
    dp.packs.install("registry_copy")
    registry.unregister("registry_copy")
    with pytest.raises(MigrationError, match="registry_copy"):
        dp.migrate()


def test_a_bad_pack_declaration_is_refused(tmp_path: Path) -> None:
    real = registry.get("workflow")
    with pytest.raises(InvalidInput, match="pack name"):
        dataclasses.replace(real, name="Bad Name")
    with pytest.raises(InvalidInput, match="plane"):
        dataclasses.replace(real, plane="federation")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="versions"):
        dataclasses.replace(real, versions=tmp_path / "none")
    with pytest.raises(InvalidInput, match="idempotency scope"):
        dataclasses.replace(real, idempotency={"workflow_instances": ("nope",)})
    with pytest.raises(InvalidInput, match="no table"):
        dataclasses.replace(real, seed={"nope": []})
    with pytest.raises(InvalidInput, match="unknown column"):
        dataclasses.replace(
            real, retention=(real.retention[0].__class__("execution_history", "nope", 1),)
        )


def test_a_database_ahead_of_the_code_is_a_migration_error(dp: DataPlane) -> None:
    dp.packs.install("accounts")
    engine = dp.engine("ledger")

    def ahead(conn: sa.Connection) -> None:
        conn.exec_driver_sql(
            "UPDATE _migrations SET version_num = 'accounts_0099'"
            " WHERE version_num = 'accounts_0001'"
        )

    engine.write(ahead)
    with pytest.raises(MigrationError, match="accounts_0099"):
        dp.migrate()


def test_the_pack_library_never_imports_click() -> None:
    import subprocess
    import sys

    code = (
        "import sys, doltplane.packs.service, doltplane.packs.retention, doltplane.packs.table;"
        "from doltplane.packs import registry; registry.available();"
        "print('click' in sys.modules or 'rich' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
