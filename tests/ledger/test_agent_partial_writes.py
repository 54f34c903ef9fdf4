"""A failed agent write leaves no branch behind; a branch that was there already stays."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from doltplane import DataPlane, DoltplaneError, InvalidInput, NotFound
from doltplane.planes.ledger_agents import AgentSession

from .conftest import ledger_state

TOAST = "gastown/polecats/toast"

FAILING: dict[str, tuple[type[DoltplaneError], Callable[[AgentSession, str], object]]] = {
    "update of an unknown id": (NotFound, lambda a, _: a.update_issue("gt-nope", title="x")),
    "create with an id main has": (InvalidInput, lambda a, taken: a.create_issue("t", id=taken)),
    "cv entry with an id main has": (
        InvalidInput,
        lambda a, _: a.add_cv_entries([{"owner_email": "x@y", "activity_type": "a", "id": "cv-1"}]),
    ),
    "update with a bad field": (InvalidInput, lambda a, taken: a.update_issue(taken, status="")),
    "batch update, one id unknown": (
        NotFound,
        lambda a, taken: a.update_issues([{"id": taken, "title": "ok"}, {"id": "gt-nope"}]),
    ),
}


@pytest.mark.parametrize("case", FAILING)
def test_failed_first_write_leaves_no_branch(dp: DataPlane, case: str) -> None:
    taken = dp.ledger.create_issue("on main").id
    dp.ledger.add_cv_entry("x@y", "a", id="cv-1")
    toast = dp.agent(TOAST)
    before = ledger_state(dp)
    error, write = FAILING[case]
    with pytest.raises(error):
        write(toast, taken)
    assert not toast.exists()
    assert ledger_state(dp) == before
    assert [b.name for b in dp.ledger.branches()] == []
    toast.create_issue("works afterwards")
    assert toast.exists()


def test_write_that_changes_nothing_leaves_no_branch(dp: DataPlane) -> None:
    issue = dp.ledger.create_issue("same")
    toast = dp.agent(TOAST)
    assert toast.update_issue(issue.id, title="same") == issue
    assert not toast.exists()


def test_failed_write_keeps_an_existing_branch_and_its_work(dp: DataPlane) -> None:
    toast = dp.agent(TOAST)
    mine = toast.create_issue("mine")
    with pytest.raises(NotFound):
        toast.update_issue("gt-nope", title="x")
    assert toast.exists() and toast.get_issue(mine.id) == mine
    assert toast.update_issue(mine.id, title="mine") == mine  # no change: the branch stays
    assert toast.exists()
