"""AS OF by timestamp, commit, branch and HEAD~n; history, diff, log, aggregates."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from doltplane import DataPlane, InvalidInput, InvalidRevision
from doltplane.errors import InvalidBranchName
from doltplane.planes.ledger_records import MonthlyCount, OwnerCount


def test_as_of_returns_exactly_the_earlier_state(dp: DataPlane) -> None:
    first = dp.ledger.create_issue("first", owner="a")
    commit_one = dp.ledger.log(limit=1)[0].hash
    time.sleep(1.1)  # Dolt commit dates have one-second resolution
    moment = dt.datetime.now(dt.UTC)
    time.sleep(1.1)
    dp.ledger.update_issue(first.id, status="closed")
    second = dp.ledger.create_issue("second")
    toast = dp.agent("gastown/polecats/toast")
    on_branch = toast.create_issue("branch only")

    assert dp.ledger.tag("v1", commit_one) == commit_one
    for when in (moment, moment.isoformat(), commit_one, "HEAD~2", "main~2", "v1"):
        view = dp.ledger.as_of(when)
        assert view.issues() == [first], when
        assert view.get_issue(first.id).status == "open"
    assert dp.ledger.as_of("HEAD~1").get_issue(first.id).status == "closed"
    assert {i.id for i in dp.ledger.as_of("HEAD").issues()} == {first.id, second.id}
    branch_view = dp.ledger.as_of("gastown/polecats/toast")
    assert {i.id for i in branch_view.issues()} == {first.id, second.id, on_branch.id}
    with pytest.raises(InvalidRevision):
        dp.ledger.as_of(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(InvalidRevision):
        dp.ledger.as_of("no-such-branch")
    with pytest.raises(InvalidInput):
        dp.ledger.tag("v1")  # tags never move
    with pytest.raises(InvalidBranchName):
        dp.ledger.tag("-D")


def test_history_diff_log(dp: DataPlane) -> None:
    issue = dp.ledger.create_issue("tracked", owner="a")
    start = dp.ledger.log(limit=1)[0].hash
    dp.ledger.update_issue(issue.id, owner="b")
    dp.ledger.update_issue(issue.id, status="closed")
    entry = dp.ledger.add_cv_entry("b@x", "closed", bead_id=issue.id)
    versions = dp.ledger.history(issue.id)
    assert [(v.record.status, v.record.owner) for v in versions] == [  # type: ignore[union-attr]
        ("closed", "b"),
        ("open", "b"),
        ("open", "a"),
    ]
    assert dp.ledger.history(entry.id, kind="cv_entry")[0].record == entry
    changes = {(c.kind, c.id, c.change) for c in dp.ledger.diff(start)}
    assert changes == {("issue", issue.id, "modified"), ("cv_entry", entry.id, "added")}
    [change] = [c for c in dp.ledger.diff(start, "HEAD") if c.kind == "issue"]
    assert change.before is not None and change.before.owner == "a"  # type: ignore[union-attr]
    assert len(dp.ledger.log(limit=2)) == 2
    assert "add cv entry" in dp.ledger.log()[0].message


def test_aggregates_per_owner_per_month_and_cv_range(dp: DataPlane) -> None:
    made = dp.ledger.create_issues(
        [{"title": f"t{i}", "owner": "a" if i % 3 else "b"} for i in range(9)]
    )
    dp.ledger.update_issues([{"id": m.id, "status": "closed"} for m in made[:6]])
    month = dt.datetime.now(dt.UTC).strftime("%Y-%m")
    assert dp.ledger.completed_per_owner_per_month() == [
        MonthlyCount("a", month, 4),
        MonthlyCount("b", month, 2),
    ]
    old = dt.datetime(2024, 3, 5, tzinfo=dt.UTC)
    dp.ledger.add_cv_entries(
        [
            {"owner_email": "a@x", "activity_type": "fix", "timestamp": old},
            {"owner_email": "a@x", "activity_type": "fix", "timestamp": old},
            {"owner_email": "b@x", "activity_type": "fix"},
        ]
    )
    assert dp.ledger.cv_entries_per_owner() == [OwnerCount("a@x", 2), OwnerCount("b@x", 1)]
    in_2024 = dp.ledger.cv_entries_per_owner(
        since=dt.datetime(2024, 1, 1), until=dt.datetime(2025, 1, 1)
    )
    assert in_2024 == [OwnerCount("a@x", 2)]
    assert len(dp.ledger.cv_entries(since=old, until=old + dt.timedelta(days=1))) == 2
