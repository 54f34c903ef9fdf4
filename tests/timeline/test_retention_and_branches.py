"""What fell out of retention is marked, and unmerged work on an agent branch shows."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from doltplane import connect
from doltplane.timeline import gather

SETTINGS = {"checkpoint_every_writes": 0, "checkpoint_every_seconds": 0}


def test_history_folded_by_cleanup_is_marked_not_missing(tmp_path: Path) -> None:
    data_dir = tmp_path / "dp"
    with connect(data_dir, **SETTINGS) as dp:
        for status in ("queued", "busy"):
            dp.ops.set_state("gt-7", rig="r", agent="toast", status=status, state={})
            dp.ops.checkpoint()
            dp.ops.heartbeat("toast", cycle=1)
        time.sleep(0.3)
        edge = dt.datetime.now(dt.UTC)  # the window's edge: everything above is older
        time.sleep(1.1)  # squash compares Dolt's whole-second dates: keep "done" clear of it
        dp.ops.set_state("gt-7", rig="r", agent="toast", status="done", state={})
        dp.ops.checkpoint()
        dp.ops.heartbeat("toast", cycle=2)
    one_second = 1 / 86400
    then = edge + dt.timedelta(seconds=1)  # cleanup and timeline as if run a second later
    with connect(data_dir, create=False, retention_days=one_second, **SETTINGS) as dp:
        cleaned = dp.ops.cleanup(now=then)
        found = gather(dp, "gt-7", now=then)
    assert cleaned.heartbeats_deleted == 2
    states = [e for e in found.events if e.kind == "state"]
    # the snapshots of "queued" were folded: the oldest kept holds "busy", marked as such
    assert [e.details["status"] for e in states] == ["busy", "done"]
    assert states[0].retained == "outside_window"
    assert "earlier ones fell out of retention" in states[0].summary
    assert states[1].retained == "kept"
    cut = [e for e in found.events if e.kind == "retention_cut"]
    assert len(cut) == 1 and states[0].at < cut[0].at < states[1].at
    beats = [e for e in found.events if e.kind == "heartbeat"]
    assert [e.details["cycle"] for e in beats] == [2]


def test_unmerged_work_on_an_agent_branch_is_shown_with_its_branch(tmp_path: Path) -> None:
    with connect(tmp_path / "dp", **SETTINGS) as dp:
        issue = dp.ledger.create_issue("Sweep the yard", id="gt-9")
        dp.agent("deacon").update_issue(issue.id, status="in_progress")
        found = gather(dp, "gt-9")
    created, pending = found.events
    assert (created.kind, created.branch) == ("created", "main")
    assert (pending.kind, pending.branch, pending.details["unmerged"]) == (
        "updated",
        "deacon",
        True,
    )
    assert "not merged into main yet" in pending.summary


def test_live_state_not_yet_snapshotted_is_shown(tmp_path: Path) -> None:
    with connect(tmp_path / "dp", **SETTINGS) as dp:
        dp.ops.set_state("gt-5", rig="r", agent="toast", status="busy", state={})
        found = gather(dp, "gt-5")
    (event,) = found.events
    assert event.kind == "state_unsnapshotted" and "not in a snapshot yet" in event.summary


def test_an_agent_state_naming_the_id_joins_its_timeline(tmp_path: Path) -> None:
    with connect(tmp_path / "dp", **SETTINGS) as dp:
        dp.ops.set_state("toast-1", rig="r", agent="toast", status="busy", state={"task": "gt-3"})
        dp.ops.checkpoint()
        dp.ledger.create_issue("Paint the fence", id="gt-3")
        found = gather(dp, "gt-3")
    assert [(e.lane, e.kind) for e in found.events] == [("ops", "state"), ("ledger", "created")]
    assert found.subjects["ops"] == ["toast-1"]


def test_a_conflict_resolved_for_main_still_shows_the_merge(tmp_path: Path) -> None:
    with connect(tmp_path / "dp", **SETTINGS) as dp:
        dp.ledger.create_issue("Count the sheep", id="gt-8")
        deacon = dp.agent("deacon")
        deacon.update_issue("gt-8", title="Count the goats")
        dp.ledger.update_issue("gt-8", title="Count the cows")
        assert deacon.merge().status.value == "conflict"
        assert deacon.resolve("theirs").status.value == "merged"
        found = gather(dp, "gt-8")
    kinds = [(e.kind, e.branch) for e in found.events]
    assert kinds == [
        ("created", "main"),
        ("updated", "deacon"),
        ("updated", "main"),
        ("conflict", "deacon"),
        ("resolved", "deacon"),
        ("resolved_sync", "deacon"),
        ("merged", "main"),
    ]
    resolved, merged = found.events[4], found.events[6]
    assert resolved.details["kept"] == "theirs (main)"
    assert merged.details == {"unchanged_on_main": True}


def test_heartbeats_are_those_around_the_record_not_the_agents_latest(tmp_path: Path) -> None:
    with connect(tmp_path / "dp", stale_after_seconds=1.0, **SETTINGS) as dp:
        dp.ops.heartbeat("toast", cycle=0)  # opens the plane before the story starts
        dp.ledger.create_issue("Oil the gate", id="gt-6", owner="toast")
        dp.ops.heartbeat("toast", cycle=1)
        time.sleep(1.5)  # the record's story is over; the agent goes on to other work
        dp.ops.heartbeat("toast", cycle=2)
        dp.ops.heartbeat("toast", cycle=3)
        found = gather(dp, "gt-6", heartbeats=1)
    beats = [e.details["cycle"] for e in found.events if e.kind == "heartbeat"]
    assert beats == [1]
