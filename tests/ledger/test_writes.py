"""Writes on main: one commit per logical operation, partial updates, no delete."""

from __future__ import annotations

import re

import pytest

from doltplane import DataPlane, InvalidInput, NotFound
from doltplane.planes.ledger import Ledger

from .conftest import ledger_state


def test_create_issue_is_one_commit_authored_and_named(dp: DataPlane) -> None:
    before = dp.ledger.commit_count()
    issue = dp.ledger.create_issue("Fix the router", type="bug", owner="toast", metadata={"p": 1})
    assert re.fullmatch(r"gt-[0-9a-z]{17}", issue.id)
    assert dp.ledger.commit_count() == before + 1
    head = dp.ledger.log(limit=1)[0]
    assert issue.id in head.message and "Fix the router" in head.message
    assert head.author == "doltplane"
    assert dp.ledger.get_issue(issue.id) == issue
    assert issue.status == "open" and issue.completed_at is None and issue.metadata == {"p": 1}


def test_update_is_partial_and_status_sets_completed_at(dp: DataPlane) -> None:
    issue = dp.ledger.create_issue("Ship it", owner="nux")
    closed = dp.ledger.update_issue(issue.id, status="closed")
    assert closed.owner == "nux" and closed.title == "Ship it"
    assert closed.completed_at is not None and closed.completed_at >= issue.created_at
    again = dp.ledger.update_issue(issue.id, status="done")  # closed -> done keeps the time
    assert again.completed_at == closed.completed_at
    reopened = dp.ledger.update_issue(issue.id, status="open", owner=None)
    assert reopened.completed_at is None and reopened.owner is None
    assert "status done -> open" in dp.ledger.log(limit=1)[0].message
    assert dp.ledger.get_issue(issue.id) == reopened


def test_update_that_changes_nothing_makes_no_commit(dp: DataPlane) -> None:
    issue = dp.ledger.create_issue("Same", owner="a")
    before = ledger_state(dp)
    assert dp.ledger.update_issue(issue.id, owner="a") == issue
    assert ledger_state(dp) == before


def test_batches_are_one_commit_each(dp: DataPlane) -> None:
    before = dp.ledger.commit_count()
    made = dp.ledger.create_issues([{"title": f"t{i}", "owner": "o"} for i in range(30)])
    entries = dp.ledger.add_cv_entries(
        [{"owner_email": "a@x", "activity_type": "fixed", "bead_id": m.id} for m in made[:5]]
    )
    updated = dp.ledger.update_issues([{"id": m.id, "status": "closed"} for m in made[:10]])
    assert dp.ledger.commit_count() == before + 3
    assert len(dp.ledger.issues()) == 30 and len(dp.ledger.cv_entries()) == 5
    assert all(u.completed_at is not None for u in updated)
    assert {e.bead_id for e in entries} == {m.id for m in made[:5]}
    assert "update 10 issues" in dp.ledger.log(limit=1)[0].message


def test_cv_entry_and_filters(dp: DataPlane) -> None:
    entry = dp.ledger.add_cv_entry("a@x", "reviewed", bead_id="gt-1", metadata={"n": [1, 2]})
    assert entry.id.startswith("cv-")
    assert dp.ledger.get_cv_entry(entry.id) == entry
    assert dp.ledger.cv_entries(owner_email="a@x") == [entry]
    assert dp.ledger.cv_entries(owner_email="b@x") == []


def test_no_delete_api_exists() -> None:
    assert not [name for name in dir(Ledger) if "delete" in name or "remove" in name]


def test_unknown_id_and_bad_fields_write_nothing(dp: DataPlane) -> None:
    made = dp.ledger.create_issue("x")
    before = ledger_state(dp)
    with pytest.raises(NotFound):
        dp.ledger.update_issues([{"id": made.id, "status": "closed"}, {"id": "gt-nope"}])
    with pytest.raises(InvalidInput):
        dp.ledger.update_issue(made.id, status="")
    with pytest.raises(InvalidInput):
        dp.ledger.create_issue("dup", id=made.id)
    with pytest.raises(InvalidInput):
        dp.ledger.create_issues([{"title": "a"}, {"title": ""}])
    with pytest.raises(InvalidInput):
        dp.ledger.create_issue("x", metadata={"_jsonl": {}})
    with pytest.raises(InvalidInput):
        dp.ledger.update_issues([{"id": made.id, "created_at": "now"}])
    assert ledger_state(dp) == before
    assert dp.ledger.get_issue(made.id).status == "open"


def test_new_ids_sort_in_creation_order() -> None:
    import time

    from doltplane.planes.ids import new_id

    first = new_id("gt")
    time.sleep(0.002)
    later = [new_id("gt") for _ in range(100)]
    assert all(first < other for other in later)
    assert len(set(later)) == 100
