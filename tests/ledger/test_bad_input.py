"""Bad input gets a typed error and writes nothing (commit count and row counts unchanged)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from doltplane import DataPlane, InvalidRevision, NotFound
from doltplane.errors import InvalidBranchName, InvalidId, InvalidInput

from .conftest import ledger_state

INJECTIONS = [
    "main'; DROP TABLE issues; --",
    "HEAD) UNION SELECT * FROM issues --",
    "HEAD~1; SELECT 1",
    "main..other",
    "-D",
    "",
]
BAD_BRANCHES = ["../x", "-D", "main", "a b", "x..y", "a/", "HEAD", "doltplane-tmp/x", "x<y>",
                "a@b", "a" * 300]  # fmt: skip


@pytest.fixture
def seeded(dp: DataPlane) -> DataPlane:
    dp.ledger.create_issue("existing")
    dp.agent("gastown/polecats/toast").create_issue("on a branch")
    return dp


@pytest.mark.parametrize("revision", INJECTIONS)
def test_revision_injection_is_refused(seeded: DataPlane, revision: str) -> None:
    before = ledger_state(seeded)
    calls: list[Callable[[], Any]] = [
        lambda: seeded.ledger.as_of(revision),
        lambda: seeded.ledger.diff(revision),
        lambda: seeded.ledger.diff("HEAD", revision),
        lambda: seeded.ledger.log(branch=revision),
        lambda: seeded.ledger.history(seeded.ledger.issues()[0].id, revision=revision),
    ]
    for call in calls:
        with pytest.raises(InvalidRevision):
            call()
    assert ledger_state(seeded) == before
    assert seeded.ledger.count() == 1


@pytest.mark.parametrize("name", BAD_BRANCHES)
def test_invalid_agent_branch_names(seeded: DataPlane, name: str) -> None:
    before = ledger_state(seeded)
    with pytest.raises(InvalidBranchName):
        seeded.agent(name)
    for call in (seeded.ledger.merge, seeded.ledger.sync, seeded.ledger.conflicts):
        with pytest.raises(InvalidBranchName):
            call(name)
    assert ledger_state(seeded) == before


def test_unknown_ids_and_bad_fields(seeded: DataPlane) -> None:
    before = ledger_state(seeded)
    agent = seeded.agent("gastown/polecats/toast")
    with pytest.raises(NotFound):
        seeded.ledger.get_issue("gt-unknown")
    with pytest.raises(NotFound):
        agent.update_issue("gt-unknown", status="closed")
    with pytest.raises(NotFound):
        seeded.ledger.history("gt-unknown")
    with pytest.raises(NotFound):
        seeded.ledger.get_cv_entry("cv-unknown")
    with pytest.raises(InvalidId):
        seeded.ledger.create_issue("x", id="bad\nid")
    with pytest.raises(InvalidId):
        seeded.ledger.create_issue("x", prefix="Bad Prefix")
    with pytest.raises(InvalidInput):
        seeded.ledger.add_cv_entry("a@x", "")
    with pytest.raises(InvalidInput):
        seeded.ledger.create_issues([{"title": "x", "colour": "red"}])
    with pytest.raises(InvalidInput):
        seeded.ledger.resolve("gastown/polecats/toast", "mine")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        seeded.ledger.issues(limit=-1)
    assert ledger_state(seeded) == before
