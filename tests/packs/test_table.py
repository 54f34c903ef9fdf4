"""dp.table(...): reads, guarded upserts, typed constraint errors, idempotency, history."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from doltplane import DataPlane
from doltplane.errors import (
    CheckViolation,
    ConstraintViolation,
    ForeignKeyViolation,
    IllegalTransition,
    InvalidInput,
    NotFound,
    UniqueViolation,
    VersionConflict,
)

from .conftest import commits


def _definition(dp: DataPlane, id: str = "d1", name: str = "build", version: int = 1) -> None:
    dp.table("workflow_definitions").put(
        {"id": id, "name": name, "version": version, "definition_json": {"steps": ["a"]}}
    )


def test_put_fills_system_columns_and_reads_back(packs: DataPlane) -> None:
    _definition(packs)
    table = packs.table("workflow_definitions")
    row = table.get("d1")
    assert row["definition_json"] == {"steps": ["a"]} and row["is_active"] is True
    assert isinstance(row["created_at"], dt.datetime) and row["updated_at"] == row["created_at"]
    updated = table.put({"id": "d1", "category": "ci"})
    assert updated["created_at"] == row["created_at"] and updated["updated_at"] > row["updated_at"]
    assert updated["name"] == "build" and updated["category"] == "ci"
    generated = packs.table("workflow_instances").put({"definition_id": "d1", "status": "pending"})
    assert len(generated["id"]) == 24
    assert table.get_many(["nope", "d1"]) == [updated]
    assert table.list({"category": "ci"}) == [updated] and table.list({"category": "x"}) == []
    with pytest.raises(NotFound):
        table.get("nope")
    with pytest.raises(InvalidInput, match="no column"):
        table.put({"id": "d1", "colour": "red"})
    with pytest.raises(InvalidInput, match="no column"):
        table.list({"colour": "red"})
    with pytest.raises(NotFound, match="no_such_table"):
        packs.table("no_such_table")


def test_a_table_of_a_pack_not_installed_says_how_to_install_it(dp: DataPlane) -> None:
    with pytest.raises(NotFound) as caught:
        dp.table("workflow_instances")
    assert "doltplane pack install workflow" in caught.value.one_line()


def test_composite_keys(packs: DataPlane) -> None:
    configs = packs.table("lao_configs")
    configs.put({"scope": "global", "key": "limit", "value": 5})
    configs.put({"scope": "team", "key": "limit", "value": 7})
    assert configs.get({"scope": "team", "key": "limit"})["value"] == 7
    with pytest.raises(InvalidInput, match="pass a dict"):
        configs.get("limit")
    with pytest.raises(InvalidInput, match="missing scope"):
        configs.get({"key": "limit"})


@pytest.mark.parametrize(
    ("table", "row", "error"),
    [
        (
            "workflow_definitions",
            {"id": "d2", "name": "build", "version": 1, "definition_json": {}},
            UniqueViolation,
        ),
        (
            "workflow_definitions",
            {"id": "d2", "name": "b", "version": 0, "definition_json": {}},
            CheckViolation,
        ),
        (
            "task_instances",
            {
                "id": "t",
                "workflow_instance_id": "i",
                "name": "n",
                "task_type": "nope",
                "status": "pending",
            },
            CheckViolation,
        ),
        (
            "workflow_instances",
            {"id": "i9", "definition_id": "missing", "status": "pending"},
            ForeignKeyViolation,
        ),
        (
            "workflow_instances",
            {"id": "i9", "definition_id": "d1", "status": "running"},
            IllegalTransition,
        ),
        ("context_artifact", {"id": "a1", "project_id": "p1", "kind": "note"}, CheckViolation),
        (
            "orchestration_run",
            {"id": "r1", "project_id": "p1", "scope": "card", "status": "queued"},
            CheckViolation,
        ),
        (
            "orchestration_run",
            {"id": "r1", "project_id": "p1", "scope": "workflow", "status": "queued"},
            CheckViolation,
        ),
        (
            "planning_action",
            {"id": "pa2", "project_id": "p1", "idempotency_key": "k", "action": "a"},
            UniqueViolation,
        ),
        ("lao_plugins", {"id": "pl2", "name": "search"}, UniqueViolation),
        ("tai_models", {"id": "m2", "name": "m", "provider": "x"}, UniqueViolation),
        ("tai_vector_collections", {"id": "v1", "name": "v", "dims": 0}, CheckViolation),
        (
            "credit_transactions",
            {
                "id": "ct1",
                "wallet_id": "wallet-demo",
                "account_id": "acct-demo",
                "kind": "spend",
                "amount": -5,
            },
            CheckViolation,
        ),
        ("projects", {"id": "proj-x", "account_id": "nobody", "name": "x"}, ForeignKeyViolation),
    ],
)
def test_constraint_violations_are_typed_and_write_nothing(
    packs: DataPlane, table: str, row: dict[str, object], error: type[ConstraintViolation]
) -> None:
    _definition(packs)
    packs.table("project").put({"id": "p1", "name": "P"})
    packs.table("planning_action").put(
        {"id": "pa1", "project_id": "p1", "idempotency_key": "k", "action": "a"}
    )
    packs.table("lao_plugins").put({"id": "pl1", "name": "search"})
    packs.table("tai_models").put({"id": "m1", "name": "m", "provider": "x"})
    target = packs.table(table)
    before_rows, before_commits = target.list(), commits(packs)
    with pytest.raises(error) as caught:
        target.put(row)
    assert caught.value.table == table and "\n" not in caught.value.one_line()
    assert caught.value.exit_code == 3
    assert target.list() == before_rows and commits(packs) == before_commits


def test_transitions_follow_the_state_machine(packs: DataPlane) -> None:
    _definition(packs)
    instances = packs.table("workflow_instances")
    instances.put({"id": "i1", "definition_id": "d1", "status": "pending"})
    for status in ("running", "paused", "running", "running", "completed"):
        assert instances.put({"id": "i1", "status": status})["status"] == status
    with pytest.raises(IllegalTransition, match="'completed' to 'running'"):
        instances.put({"id": "i1", "status": "running"})
    assert instances.get("i1")["status"] == "completed"


def test_versioned_rows_are_compare_and_set(packs: DataPlane) -> None:
    tasks = packs.table("tai_tasks")
    first = tasks.put({"id": "t1", "type": "embed", "status": "queued"})
    assert first["version"] == 1
    second = tasks.put({"id": "t1", "status": "running", "version": 1})
    assert second["version"] == 2
    with pytest.raises(VersionConflict) as stale:
        tasks.put({"id": "t1", "status": "succeeded", "version": 1})
    assert (stale.value.expected, stale.value.actual) == (1, 2)
    with pytest.raises(InvalidInput, match="version it read"):
        tasks.put({"id": "t1", "status": "succeeded"})
    with pytest.raises(VersionConflict):
        tasks.put({"id": "t2", "type": "embed", "status": "queued", "version": 3})
    assert tasks.get("t1") == second
    with pytest.raises(IllegalTransition):
        tasks.put({"id": "t1", "status": "queued", "version": 2})


def test_idempotency_keys_apply_once_per_scope(packs: DataPlane) -> None:
    ledger = packs.engine("ledger")
    txns = packs.table("credit_transactions")
    row = {"wallet_id": "wallet-demo", "account_id": "acct-demo", "kind": "grant", "amount": 10}
    first = txns.put({**row, "id": "t1"}, idempotency_key="grant-1")
    count = ledger.commit_count()
    replay = txns.put({**row, "id": "t2", "amount": 99}, idempotency_key="grant-1")
    assert replay == first and ledger.commit_count() == count
    assert [r["id"] for r in txns.list()] == ["t1"]
    # the same key in another scope (another account) is a different write
    packs.table("accounts").put({"id": "acct-2", "name": "other"})
    packs.table("credit_wallets").put({"id": "w2", "account_id": "acct-2"})
    other = txns.put(
        {**row, "id": "t3", "wallet_id": "w2", "account_id": "acct-2"}, idempotency_key="grant-1"
    )
    assert other["id"] == "t3"
    with pytest.raises(InvalidInput, match="idempotency_key"):
        txns.put({**row, "id": "t4"}, idempotency_key="")


def test_a_failed_write_records_no_idempotency_key(packs: DataPlane) -> None:
    txns = packs.table("credit_transactions")
    bad = {
        "id": "t1",
        "wallet_id": "wallet-demo",
        "account_id": "acct-demo",
        "kind": "grant",
        "amount": 0,
    }
    with pytest.raises(CheckViolation):
        txns.put(bad, idempotency_key="k")
    assert txns.put({**bad, "amount": 1}, idempotency_key="k")["amount"] == 1


def test_config_changes_are_last_write_wins_and_audited(packs: DataPlane) -> None:
    configs = packs.table("lao_configs")
    configs.put({"scope": "global", "key": "mode", "value": "a"}, author="alice")
    configs.put({"scope": "global", "key": "mode", "value": "b"}, author="bob")
    assert configs.get({"scope": "global", "key": "mode"})["value"] == "b"
    audit = packs.table("lao_audit_logs").list()
    assert [(a["actor"], a["payload"]) for a in audit] == [
        ("alice", {"before": None, "after": "a"}),
        ("bob", {"before": "a", "after": "b"}),
    ]
    assert packs.engine("ledger").log(limit=1)[0].author == "bob"


def test_ledger_history_as_of_and_diff(packs: DataPlane) -> None:
    cards = packs.table("card")
    packs.table("project").put({"id": "p1", "name": "P"})
    cards.put({"id": "c1", "project_id": "p1", "title": "one", "status": "backlog"})
    before = packs.engine("ledger").resolve_revision("main")
    cards.put({"id": "c1", "title": "one!", "status": "ready", "version": 1})
    cards.put({"id": "c2", "project_id": "p1", "title": "two", "status": "backlog"})
    history = cards.history("c1")
    assert [v.row["status"] for v in history] == ["ready", "backlog"]
    assert [r["title"] for r in cards.as_of(before).list()] == ["one"]
    assert cards.as_of(before).get("c1")["version"] == 1
    changes = {c.key["id"]: c for c in cards.diff(before, "main")}
    assert changes["c1"].diff_type == "modified" and changes["c1"].before["title"] == "one"
    assert changes["c2"].diff_type == "added" and changes["c2"].after["title"] == "two"
    moment = history[-1].date + dt.timedelta(microseconds=1)
    assert cards.as_of(dt.datetime.now(dt.UTC)).get("c2")["title"] == "two"
    del moment


def test_ops_tables_are_snapshotted_at_the_planes_cadence(packs: DataPlane) -> None:
    _definition(packs)
    instances = packs.table("workflow_instances")
    instances.put({"id": "i1", "definition_id": "d1", "status": "pending"})
    with pytest.raises(NotFound) as caught:
        instances.history("i1")  # no snapshot yet: snapshots are manual in this fixture
    assert "snapshot" in caught.value.one_line()
    first = packs.ops.checkpoint()
    instances.put({"id": "i1", "status": "running"})
    packs.ops.checkpoint()
    assert [v.row["status"] for v in instances.history("i1")] == ["running", "pending"]
    assert first is not None and instances.as_of(first).get("i1")["status"] == "pending"
    (change,) = instances.diff(first, "main")
    assert change.before["status"] == "pending" and change.after["status"] == "running"


def test_ops_pack_writes_count_towards_the_snapshot_cadence(packs: DataPlane) -> None:
    settings = dataclasses.replace(packs.settings, checkpoint_every_writes=2)
    with DataPlane(settings) as other:
        _definition(other)
        engine = other.engine("ops")
        before = engine.commit_count()
        other.table("workflow_instances").put(
            {"id": "i1", "definition_id": "d1", "status": "pending"}
        )
        assert engine.commit_count() == before + 1  # the second write took a snapshot
        assert [v.row["status"] for v in other.table("workflow_instances").history("i1")] == [
            "pending"
        ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"id": "i1", "definition_id": {"a": 1}, "status": "pending"}, "expected text"),
        ({"id": "i1", "definition_id": "d1", "status": "pending", "priority": "3"}, "integer"),
        ({"id": "i1", "definition_id": "d1", "status": "pending", "priority": True}, "integer"),
        ({"id": "i1", "definition_id": "d1", "status": "pending", "priority": 2**70}, "range"),
        ({"id": "i1", "definition_id": "d1", "status": "pending", "input_data": {1j}}, "JSON"),
        ({"id": "i1", "definition_id": "d1", "status": "pending", "started_at": "soon"}, "ISO"),
        ({"id": "x" * 65, "definition_id": "d1", "status": "pending"}, "longer than 64"),
        ({"id": "i\x00", "definition_id": "d1", "status": "pending"}, "NUL"),
    ],
)
def test_values_of_the_wrong_type_are_refused_before_the_database(
    packs: DataPlane, row: dict[str, object], message: str
) -> None:
    _definition(packs)
    instances = packs.table("workflow_instances")
    before = commits(packs)
    with pytest.raises(InvalidInput, match=message):
        instances.put(row)
    assert instances.list() == [] and commits(packs) == before
    with pytest.raises(InvalidInput, match="expected text"):
        instances.get(5)
    with pytest.raises(InvalidInput, match="integer"):
        instances.list({"priority": "high"})
