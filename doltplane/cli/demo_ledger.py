"""The ledger part of ``doltplane demo``: agent branches, a conflict, AS OF, cross-plane."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from doltplane.client import DataPlane
from doltplane.store.base import MergeStatus

Say = Callable[[str], None]


def ledger_story(dp: DataPlane, say: Say) -> None:
    ledger = dp.ledger
    say("== Ledger plane: agent branches, merges, conflicts as data, AS OF, cross-plane ==")
    shared = ledger.create_issue("Fix the convoy router", type="bug", owner="mayor")
    say(f"The mayor files {shared.id} on main: {shared.title!r} (one commit).")
    before_merges = dt.datetime.now(dt.UTC)
    time.sleep(1.1)  # Dolt commit times have one-second resolution

    toast, nux = dp.agent("gastown/polecats/toast"), dp.agent("gastown/polecats/nux")
    t1 = toast.create_issue("Write the router tests", owner="toast")
    t2 = toast.create_issue("Profile the router", owner="toast")
    toast.update_issue(t1.id, status="closed")
    toast.update_issue(shared.id, status="in_progress", owner="toast")
    n1 = nux.create_issue("Document the convoy protocol", owner="nux")
    nux.add_cv_entry("nux@gastown", "documented", bead_id=n1.id)
    nux.update_issue(shared.id, status="blocked", owner="nux")
    say(f"toast works on branch {toast.branch}: creates {t1.id} and {t2.id}, closes {t1.id}, "
        f"takes {shared.id}.")  # fmt: skip
    say(f"nux works on branch {nux.branch}: creates {n1.id}, logs a CV entry, "
        f"also takes {shared.id}.")  # fmt: skip

    seen = ledger.issues(include_unmerged=True)
    say(f"Visibility: main alone holds {len(ledger.issues())} issue(s); with unmerged work "
        f"{len(seen)} rows, each with the branch it lives on:")  # fmt: skip
    for issue in seen:
        say(f"  {issue.id:<18} {issue.status:<12} on {issue.branch}")

    result = toast.merge()
    say(f"toast merges: {result.status.value} (its branch is deleted: {not toast.exists()}).")
    result = nux.merge()
    say(f"nux merges: {result.status.value}; {len(result.conflicts)} conflicting row(s), "
        f"and nothing changed on either branch:")  # fmt: skip
    for row in result.conflicts:
        ours, theirs, base = row.ours or {}, row.theirs or {}, row.base or {}
        say(f"  {row.table} {row.key}: base {base.get('status')}/{base.get('owner')}, "
            f"nux {ours.get('status')}/{ours.get('owner')}, "
            f"main {theirs.get('status')}/{theirs.get('owner')}")  # fmt: skip
    if result.status is MergeStatus.CONFLICT:
        result = nux.resolve("theirs")
        say(f"Resolved with 'theirs' (main's row wins): {result.status.value}.")
    ids = [shared.id, t1.id, t2.id, n1.id]
    present = ledger.get_issues(ids)
    say(f"Every row from both sides survived: {len(present)}/{len(ids)} issues on main, "
        f"{len(ledger.cv_entries())} CV entry; {shared.id} is "
        f"{present[shared.id].status!r} owned by {present[shared.id].owner!r}.")  # fmt: skip
    versions = ledger.history(shared.id)
    say(f"History of {shared.id} on main, newest first (nux's 'blocked' is kept on its merged "
        "commits, not lost):")  # fmt: skip
    for version in versions:
        record = version.record
        say(f"  {version.commit[:10]} by {version.author}: {getattr(record, 'status', '')}")

    past = ledger.as_of(before_merges)
    say(f"AS OF {before_merges:%H:%M:%S} UTC (before the agents) main held "
        f"{len(past.issues())} issue(s): {[i.id for i in past.issues()]}.")  # fmt: skip
    branches = ledger.branches()
    say(f"Agent branches left: {[b.name for b in branches] or 'none'} (merged ones are deleted).")

    for issue, status in ((t2, "busy"), (shared, "idle")):
        dp.ops.set_state(
            issue.id, rig="gastown", agent=issue.owner or "toast", status=status, state={}
        )
    rows = dp.query(
        "SELECT i.id, i.title, i.status AS ledger_status, s.status AS live_status "
        "FROM issues AS i JOIN operational_state AS s ON s.id = i.id "
        "WHERE i.status != 'closed' ORDER BY i.id"
    )
    say("Cross-plane query: open issues joined with their live operational_state by id:")
    for found in rows:
        say(f"  {found['id']:<18} {found['ledger_status']:<12} live: {found['live_status']:<6} "
            f"{found['title']}")  # fmt: skip
