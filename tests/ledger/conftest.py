"""Ledger fixtures: real doltlite files in tmp_path (the root conftest's ``dp``), and a
snapshot of everything a failed write must leave unchanged."""

from __future__ import annotations

import dataclasses

from doltplane import DataPlane


@dataclasses.dataclass(frozen=True)
class LedgerState:
    commits: int
    issues: int
    cv_entries: int
    branches: tuple[str, ...]
    heads: tuple[str, ...]


def ledger_state(dp: DataPlane) -> LedgerState:
    """Commit count, row counts and every branch head: equal before and after = nothing written."""
    engine = dp.engine("ledger")
    infos = engine.branches()
    return LedgerState(
        commits=engine.commit_count(),
        issues=dp.ledger.count("issue"),
        cv_entries=dp.ledger.count("cv_entry"),
        branches=tuple(b.name for b in infos),
        heads=tuple(b.hash for b in infos),
    )
