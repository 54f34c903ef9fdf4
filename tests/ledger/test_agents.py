"""Branch per agent, and the three reasons Gas Town dropped it: visibility, staleness, pile-up."""

from __future__ import annotations

import pytest

from doltplane import DataPlane, MergeStatus, NotFound

from .conftest import ledger_state

TOAST = "gastown/polecats/toast"
NUX = "gastown/polecats/nux"


def test_agent_writes_go_to_its_branch_authored_by_the_agent(dp: DataPlane) -> None:
    toast = dp.agent(TOAST)
    assert not toast.exists()
    issue = toast.create_issue("on a branch")
    assert toast.exists() and toast.branch == TOAST
    assert issue.created_by == TOAST
    assert toast.get_issue(issue.id) == issue
    with pytest.raises(NotFound):
        dp.ledger.get_issue(issue.id)
    head = dp.ledger.log(branch=TOAST, limit=1)[0]
    assert head.author == TOAST and head.email == f"{TOAST}@doltplane"

    result = toast.merge()
    assert result.status is MergeStatus.MERGED and result.commit
    merge_commit = dp.ledger.log(limit=1)[0]
    assert TOAST in merge_commit.message and merge_commit.author == TOAST
    assert dp.ledger.get_issue(issue.id) == issue
    assert not toast.exists()  # pile-up: merged branches are deleted


def test_visibility_reads_include_unmerged_work_with_its_branch(dp: DataPlane) -> None:
    shared = dp.ledger.create_issue("shared", owner="mayor")
    toast, nux = dp.agent(TOAST), dp.agent(NUX)
    mine = toast.create_issue("toast's", owner="toast")
    toast.update_issue(shared.id, status="in_progress")
    entry = nux.add_cv_entry("nux@x", "reviewed")
    assert [i.id for i in dp.ledger.issues()] == [shared.id]
    seen = {(i.id, i.branch, i.status) for i in dp.ledger.issues(include_unmerged=True)}
    assert seen == {
        (shared.id, "main", "open"),
        (shared.id, TOAST, "in_progress"),
        (mine.id, TOAST, "open"),
    }
    filtered = dp.ledger.issues(owner="toast", include_unmerged=True)
    assert [(i.id, i.branch) for i in filtered] == [(mine.id, TOAST)]
    newest = dp.ledger.issues(include_unmerged=True, limit=1)  # the limit spans every branch
    assert [(i.id, i.branch) for i in newest] == [(mine.id, TOAST)]
    assert [(e.id, e.branch) for e in dp.ledger.cv_entries(include_unmerged=True)] == [
        (entry.id, NUX)
    ]


def test_staleness_sync_brings_main_in_and_merge_syncs_first(dp: DataPlane) -> None:
    toast = dp.agent(TOAST)
    toast.create_issue("early")
    later = dp.ledger.create_issue("landed on main after the branch was made")
    [branch] = dp.ledger.branches()
    assert branch.behind == 1 and branch.ahead == 1
    with pytest.raises(NotFound):
        toast.get_issue(later.id)
    assert toast.sync().ok
    assert toast.get_issue(later.id) == later
    assert dp.ledger.branches()[0].behind == 0
    dp.ledger.create_issue("and another")
    assert toast.merge().status is MergeStatus.MERGED  # synced first, then merged
    assert len(dp.ledger.issues()) == 3


def test_pile_up_branches_lists_stale_and_prune_keeps_unmerged(dp: DataPlane) -> None:
    toast, nux = dp.agent(TOAST), dp.agent(NUX)
    toast.create_issue("unmerged work")
    nux.create_issue("will merge")
    dp.engine("ledger").create_branch("gastown/polecats/empty")
    listed = {b.name: b for b in dp.ledger.branches(stale_after=3600)}
    assert set(listed) == {TOAST, NUX, "gastown/polecats/empty"}
    assert not any(b.stale for b in listed.values())
    assert {b.name for b in dp.ledger.branches(stale_after=0, stale_only=True)} == set(listed)
    assert listed["gastown/polecats/empty"].ahead == 0 and listed[TOAST].ahead == 1

    # a merged branch left behind (e.g. merged by hand) is prunable too
    dp.engine("ledger").merge(NUX, into="main")
    assert dp.ledger.prune(dry_run=True).deleted == ("gastown/polecats/empty", NUX)
    result = dp.ledger.prune()
    assert set(result.deleted) == {"gastown/polecats/empty", NUX} and result.kept == (TOAST,)
    assert [b.name for b in dp.ledger.branches()] == [TOAST]
    assert toast.exists()


def test_conflict_is_data_and_every_row_survives(dp: DataPlane) -> None:
    shared = dp.ledger.create_issue("shared", owner="mayor")
    toast, nux = dp.agent(TOAST), dp.agent(NUX)
    toast_rows = [toast.create_issue(f"toast {i}") for i in range(3)]
    toast.update_issue(shared.id, status="in_progress", owner="toast")
    nux_rows = nux.create_issues([{"title": f"nux {i}"} for i in range(3)])
    nux_entry = nux.add_cv_entry("nux@x", "fixed", bead_id=shared.id)
    nux.update_issue(shared.id, status="blocked", owner="nux")
    assert toast.merge().ok

    assert [c.key for c in nux.conflicts()] == [{"id": shared.id}]
    before = ledger_state(dp)
    result = nux.merge()
    assert result.status is MergeStatus.CONFLICT
    [row] = result.conflicts
    assert row.table == "issues" and row.key == {"id": shared.id}
    assert row.base is not None and row.base["status"] == "open"
    assert row.ours is not None and row.ours["owner"] == "nux"  # the agent's side
    assert row.theirs is not None and row.theirs["owner"] == "toast"  # main's side
    assert ledger_state(dp) == before  # both branches untouched

    resolved = nux.resolve(strategy="ours")
    assert resolved.status is MergeStatus.MERGED and not nux.exists()
    everyone = [*toast_rows, *nux_rows]
    found = dp.ledger.get_issues([i.id for i in everyone] + [shared.id])
    assert len(found) == len(everyone) + 1
    assert found[shared.id].owner == "nux" and found[shared.id].status == "blocked"
    assert dp.ledger.get_cv_entry(nux_entry.id) == nux_entry
    owners = {v.record.owner for v in dp.ledger.history(shared.id)}  # type: ignore[union-attr]
    assert {"mayor", "toast", "nux"} <= owners  # the losing side stays in history


def test_resolve_with_final_rows(dp: DataPlane) -> None:
    shared = dp.ledger.create_issue("shared")
    toast, nux = dp.agent(TOAST), dp.agent(NUX)
    toast.update_issue(shared.id, title="toast's title")
    extra = nux.create_issue("nux extra")
    nux.update_issue(shared.id, title="nux's title")
    toast.merge()
    [conflict] = nux.conflicts()
    final = dict(conflict.ours or {})
    final["title"] = "agreed title"
    assert nux.resolve({"issues": [final]}).ok
    assert dp.ledger.get_issue(shared.id).title == "agreed title"
    assert dp.ledger.get_issue(extra.id).title == "nux extra"


def test_merge_of_nothing_and_unknown_agent(dp: DataPlane) -> None:
    assert dp.agent(TOAST).merge().status is MergeStatus.UP_TO_DATE
    before = ledger_state(dp)
    with pytest.raises(NotFound):
        dp.ledger.merge(TOAST)
    with pytest.raises(NotFound):
        dp.ledger.resolve(TOAST, "ours")
    assert ledger_state(dp) == before
