"""``doltplane demo``: the three planes at work, told in plain text."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from doltplane.cli.demo_backup import backup_story
from doltplane.cli.demo_federation import federation_story
from doltplane.cli.demo_ledger import ledger_story
from doltplane.client import DataPlane, connect
from doltplane.errors import VersionConflict

Say = Callable[[str], None]
AGENTS = ("toast", "nux", "furiosa")


def _kb(size: int) -> str:
    return f"{size / 1024:,.0f} KB"


def operational_story(dp: DataPlane, say: Say) -> None:
    ops = dp.ops
    say("== Operational plane: live agent state, snapshots, AS OF, retention ==")
    say("Last week's churn: 3 agents update their state 200 times each, snapshot every 50 writes.")
    for cycle in range(200):
        ops.set_many(
            {
                "id": f"old-{agent}-{cycle % 20}",
                "rig": "gastown",
                "agent": agent,
                "status": "working",
                "state": {"cycle": cycle, "notes": "x" * 200},
            }
            for agent in AGENTS
        )
        if cycle % 50 == 49:
            ops.checkpoint(f"snapshot after cycle {cycle}")
    old_done = dt.datetime.now(dt.UTC)
    time.sleep(2.2)  # Dolt commit times have one-second resolution

    say("Now: each agent sets its live state and sends a heartbeat.")
    for n, agent in enumerate(AGENTS):
        ops.set_state(f"{agent}-1", rig="gastown", agent=agent, status="idle", state={"task": None})
        ops.heartbeat(agent, status={"load": n}, cycle=1)
    first = ops.checkpoint("snapshot: all agents idle")
    say(f"  snapshot commit {first}")
    before = dt.datetime.now(dt.UTC)
    time.sleep(1.2)

    toast = ops.get("toast-1")
    ops.set_state(
        "toast-1",
        rig="gastown",
        agent="toast",
        status="busy",
        state={"task": "gt-42"},
        expected_version=toast.version,
    )
    say(f"toast picks up gt-42 (version {toast.version} -> {toast.version + 1}).")
    try:
        ops.set_state(
            "toast-1",
            rig="gastown",
            agent="toast",
            status="busy",
            state={"task": "gt-43"},
            expected_version=toast.version,
        )
    except VersionConflict as exc:
        say(f"A second writer with the stale version is refused: {exc.one_line()}")
    ops.checkpoint("snapshot: toast busy")

    say(
        f"Now toast is {ops.get('toast-1').status!r}; AS OF {before:%H:%M:%S} UTC it was "
        f"{ops.as_of(before).get('toast-1').status!r}; at HEAD~1 it was "
        f"{ops.as_of('HEAD~1').get('toast-1').status!r}."
    )
    say("History of toast-1, newest first:")
    for version in ops.history("toast-1"):
        record = version.record
        say(f"  {version.commit[:10]}  v{record.version}  {record.status:<5}  {record.state}")
    for health in ops.agents():
        say(f"  heartbeat {health.agent:<8} {health.age_seconds:5.1f}s ago  stale={health.stale}")

    cutoff_age = (dt.datetime.now(dt.UTC) - old_done).total_seconds() - 1.0
    say(
        f"Cleanup with the retention window shortened to {cutoff_age:.1f} s for the demo "
        "(the default is 7 days):"
    )
    result = ops.cleanup(retention_days=cutoff_age / 86400)
    say(
        f"  deleted {result.state_rows_deleted} expired state rows, "
        f"{result.heartbeats_deleted} heartbeats"
    )
    say(
        f"  commits {result.commits_before} -> {result.commits_after}, "
        f"file {_kb(result.bytes_before)} -> {_kb(result.bytes_after)}"
    )
    say(
        f"  in-window history still answers: toast-1 has {len(ops.history('toast-1'))} snapshots, "
        f"AS OF {before:%H:%M:%S} says {ops.as_of(before).get('toast-1').status!r}"
    )


def run_demo(workdir: str | Path | None, say: Say) -> None:
    """Build a fresh data plane (and federation remote) under ``workdir`` and tell the story."""
    base = Path(workdir or tempfile.mkdtemp(prefix="doltplane-demo-")).resolve()
    base.mkdir(parents=True, exist_ok=True)
    say(f"doltplane demo in {base} (embedded doltlite, no server)")
    with connect(base / "site", checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
        applied = dp.migrate()
        say(f"Initialised {len(applied)} migration(s), each a Dolt commit.")
        operational_story(dp, say)
        say("")
        ledger_story(dp, say)
        say("")
        backup_story(dp, base, say)
    say("")
    federation_story(base / "federation", say)
    say("")
    say(f"Done. Everything is in {base}; try: doltplane --data-dir {base / 'site'} status")
