"""The read-only methods the timeline added to the planes: federation ``changes`` and the
ledger's first-parent line."""

from __future__ import annotations

from pathlib import Path

import pytest

from doltplane import connect
from doltplane.errors import InvalidInput, NotFound

from .story import ID, SETTINGS


def test_federation_changes_of_an_entry(story: Path) -> None:
    with connect(story, create=False, **SETTINGS) as dp:
        changes = dp.federation.changes("role", "polecat")
        assert [c.subject for c in changes] == [
            "polecat: patrol faster",
            "Start the federation catalog",
        ]
        assert changes[0].paths == ("roles/polecat.toml",) and changes[0].time.tzinfo
        assert len(dp.federation.changes("role", "polecat", limit=1)) == 1
        assert dp.federation.changes("formula", "mol-witness-patrol")[0].paths == (
            "formulas/mol-witness-patrol.formula.toml",
        )
        with pytest.raises(NotFound):
            dp.federation.changes("formula", "none-such")
        with pytest.raises(InvalidInput):
            dp.federation.changes("role", "polecat", limit=0)
        with pytest.raises(InvalidInput):
            dp.federation.changes("planet", "mars")


def test_ledger_first_parent_line_leaves_merged_in_commits_out(story: Path) -> None:
    with connect(story, create=False, **SETTINGS) as dp:
        line = dp.ledger.first_parent_line()
        everything = dp.ledger.log()
        agent_commits = [c for c in everything if c.email == "toast@doltplane"]
        on_line = {c.hash for c in line}
        assert "merge ledger work of agent toast" in [c.message for c in line]
        assert [c.message for c in agent_commits if c.hash not in on_line]  # merged in
        parents = dp.ledger.first_parents([c.hash for c in line[:3]])
        assert parents == {
            line[0].hash: line[1].hash,
            line[1].hash: line[2].hash,
            line[2].hash: line[3].hash,
        }
        assert dp.ledger.history(ID)  # the record is on main
