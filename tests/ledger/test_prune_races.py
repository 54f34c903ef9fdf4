"""`ledger prune` next to live agents: a branch that merges away, or takes new work, between
prune's listing and its delete; and an agent writing to a branch prune just deleted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from doltplane import DataPlane
from doltplane.planes.ledger_agents import AgentSession
from doltplane.planes.ledger_branches import prune
from doltplane.store import open_engine
from doltplane.store.base import Engine


@pytest.fixture
def other(dp: DataPlane) -> Iterator[Engine]:
    """The ledger through another process's connections (its own engine on the same store)."""
    engine = open_engine(dp.settings, "ledger")
    try:
        yield engine
    finally:
        engine.close()


class _Racing:
    """The real engine, with another actor's real step run just before one call."""

    def __init__(self, engine: Engine, method: str, step: Any) -> None:
        self._engine = engine
        self._method = method
        self._step = step

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._engine, name)
        if name != self._method or self._step is None:
            return real

        def raced(*args: Any, **kwargs: Any) -> Any:
            step, self._step = self._step, None
            step()
            return real(*args, **kwargs)

        return raced


def _session(dp: DataPlane, method: str, agent: str) -> tuple[_Racing, AgentSession]:
    """An agent session on the real ledger engine; ``racing._step``, once set, runs just
    before the session's next ``method`` call."""
    racing = _Racing(dp.engine("ledger"), method, None)
    return racing, AgentSession(racing, agent, threading.Lock())  # type: ignore[arg-type]


def test_prune_skips_a_branch_its_agent_merged_meanwhile(dp: DataPlane) -> None:
    engine = dp.engine("ledger")
    # an empty branch (created, nothing new) is prunable; its agent deletes it first
    engine.create_branch("ghost", engine.resolve_revision("main"))
    racing = _Racing(engine, "delete_branch", lambda: engine.delete_branch("ghost"))
    result = prune(racing, dry_run=False)  # type: ignore[arg-type]
    assert "ghost" not in result.deleted
    assert not engine.has_branch("ghost")


def test_prune_keeps_a_branch_that_took_new_work_meanwhile(dp: DataPlane) -> None:
    engine = dp.engine("ledger")
    engine.create_branch("late", engine.resolve_revision("main"))  # empty: prunable
    late = dp.agent("late")
    racing = _Racing(engine, "delete_branch", lambda: late.create_issue("new work"))
    result = prune(racing, dry_run=False)  # type: ignore[arg-type]
    assert "late" in result.kept and "late" not in result.deleted
    assert [i.title for i in late.issues()] == ["new work"]


def test_an_agent_write_restarts_a_branch_prune_deleted_under_it(dp: DataPlane) -> None:
    engine = dp.engine("ledger")
    engine.create_branch("pax", engine.resolve_revision("main"))  # exists, holds nothing
    racing = _Racing(engine, "write", lambda: engine.delete_branch("pax"))
    session = AgentSession(racing, "pax", threading.Lock())  # type: ignore[arg-type]
    issue = session.create_issue("written anyway")
    assert engine.has_branch("pax")
    assert dp.agent("pax").get_issue(issue.id).title == "written anyway"


def test_a_write_after_another_process_deleted_the_branch_starts_it_again(
    dp: DataPlane, other: Engine
) -> None:
    # the soak's failure: this process wrote on its branch (its connection to the branch is
    # kept), another process deletes the branch just before this process writes again;
    # doltlite refused that write with a busy code, retried 11 times into DatabaseBusy
    engine = dp.engine("ledger")
    racing, session = _session(dp, "write", "vex")
    session.create_issue("first")
    racing._step = lambda: other.delete_branch("vex", force=True)
    second = session.create_issue("second")
    assert racing._step is None  # the delete ran
    assert engine.has_branch("vex")
    assert dp.agent("vex").get_issue(second.id).title == "second"


def test_prune_skips_a_branch_that_merged_away_while_it_listed(
    dp: DataPlane, other: Engine
) -> None:
    # the soak's prune failures: "branch not found" from the listing itself
    engine = dp.engine("ledger")
    for name in ("gone", "stays"):
        engine.create_branch(name, engine.resolve_revision("main"))
    racing = _Racing(engine, "is_dirty", lambda: other.delete_branch("gone"))  # the agent
    result = prune(racing, dry_run=False)  # type: ignore[arg-type]
    assert racing._step is None  # the delete ran
    assert "gone" not in result.deleted and result.deleted == ("stays",)
    assert not engine.has_branch("gone") and not engine.has_branch("stays")


def test_an_agent_merge_is_done_when_prune_deleted_the_merged_branch_first(
    dp: DataPlane, other: Engine
) -> None:
    # the soak's agent errors: prune deleted the branch between the merge and its delete
    engine = dp.engine("ledger")
    racing, session = _session(dp, "delete_branch", "kit")
    issue = session.create_issue("merged work")
    racing._step = lambda: other.delete_branch("kit")  # the service's prune: merged by now
    merged = session.merge()
    assert racing._step is None
    assert merged.ok
    assert not engine.has_branch("kit")
    assert dp.ledger.get_issue(issue.id).title == "merged work"
