"""The invariants every fuzzed input must keep.

1. Nothing but a DoltplaneError escapes the public API (anything else fails the test).
2. A refused input writes nothing: every snapshot taken before the call is equal after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from doltplane import DataPlane
from doltplane.errors import DoltplaneError

from . import budget

T = TypeVar("T")
Snapshot = Callable[[], Any]


def attempt(area: str, call: Callable[[], T], *snapshots: Snapshot) -> T | DoltplaneError:
    """Run one input: its result, or the DoltplaneError it was refused with."""
    budget.INPUTS[area] += 1
    before = [snapshot() for snapshot in snapshots]
    try:
        return call()
    except DoltplaneError as exc:
        budget.REFUSED[area] += 1
        after = [snapshot() for snapshot in snapshots]
        assert after == before, f"refused input changed the store: {exc.one_line()}"
        assert exc.one_line() and "\n" not in exc.one_line()
        return exc


def ops_snapshot(dp: DataPlane) -> Snapshot:
    """Commits, rows and heartbeats of the operational plane."""

    def take() -> Any:
        engine = dp.engine("ops")
        return (
            engine.commit_count(),
            [(r.id, r.rig, r.agent, r.status, r.state, r.version) for r in dp.ops.list()],
            [(a.agent, a.last_seen) for a in dp.ops.agents()],
        )

    return take


def ledger_snapshot(dp: DataPlane) -> Snapshot:
    """Every branch head of the ledger and main's issues and CV entries."""

    def take() -> Any:
        engine = dp.engine("ledger")
        heads = sorted((b.name, b.hash) for b in engine.branches())
        return (
            heads,
            engine.commit_count(),
            sorted(i.to_row().__repr__() for i in dp.ledger.issues()),
            sorted(c.to_row().__repr__() for c in dp.ledger.cv_entries()),
        )

    return take
