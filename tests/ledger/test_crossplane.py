"""dp.query: both planes at once, read-only."""

from __future__ import annotations

import pytest

from doltplane import DataPlane, InvalidInput

from .conftest import ledger_state


def test_open_issues_joined_with_live_state(dp: DataPlane) -> None:
    busy = dp.ledger.create_issue("busy one")
    closed = dp.ledger.create_issue("closed one", status="closed")
    dp.ops.set_state(busy.id, rig="r", agent="toast", status="busy", state={"n": 1})
    dp.ops.set_state(closed.id, rig="r", agent="nux", status="idle", state={})
    rows = dp.query(
        "SELECT i.id, i.title, s.agent, s.status AS live FROM issues i "
        "JOIN operational_state s ON s.id = i.id WHERE i.status = ? ORDER BY i.id",
        ["open"],
    )
    assert rows == [{"id": busy.id, "title": "busy one", "agent": "toast", "live": "busy"}]
    qualified = dp.query("SELECT count(*) AS n FROM ops.operational_state")
    assert qualified == [{"n": 2}]
    both = dp.query(
        "SELECT count(*) AS n FROM ledger.issues i JOIN ops.operational_state s ON s.id = i.id "
        "WHERE i.status = :status",
        {"status": "open"},
    )
    assert both == [{"n": 1}]
    named = dp.query("WITH o AS (SELECT id FROM issues WHERE id = :id) SELECT * FROM o",
                     {"id": busy.id})  # fmt: skip
    assert named == [{"id": busy.id}]


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM issues",
        "  -- sneaky\n UPDATE issues SET title = 'x'",
        "WITH x AS (SELECT 1) DELETE FROM issues",
        "SELECT 1; DELETE FROM issues",
        "ATTACH 'file:/tmp/evil.db' AS evil",
        "SELECT dolt_commit('--allow-empty', '-m', 'sneaky')",
        "SELECT dolt_branch('sneaky')",
        "PRAGMA writable_schema = 1",
        "SELECT * FROM no_such_table",
        "",
    ],
)
def test_writes_and_bad_queries_are_refused(dp: DataPlane, sql: str) -> None:
    dp.ledger.create_issue("keep me")
    before = ledger_state(dp)
    with pytest.raises(InvalidInput):
        dp.query(sql)
    assert ledger_state(dp) == before
