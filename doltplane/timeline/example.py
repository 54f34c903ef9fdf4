"""The README's timeline picture, made from a real record on real engines.

``python -m doltplane.timeline.example [OUT.png]`` (default docs/timeline.png) builds a
data directory in a temporary folder, walks issue ``gt-42`` through every plane (an
agent's state and heartbeats, an agent branch, a conflict with main, its resolution
and the merge, a CV entry, a change to the formula the record names), runs the
operational cleanup with a retention window of a few seconds so part of the story
falls out of it, and draws the timeline. Needs matplotlib (the ``plots`` extra).
"""

from __future__ import annotations

import datetime as dt
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from doltplane.client import DataPlane, connect
from doltplane.federation import Federation
from doltplane.timeline.events import Timeline
from doltplane.timeline.gather import gather

ID = "gt-42"
FORMULA = "mol-witness-patrol"
STEP_SECONDS = 0.4


def build(folder: Path, pause: Callable[[], None] | None = None) -> float:
    """Write the story into ``folder/dp``; returns the time (epoch seconds) just after the
    agent's second state, where the example puts the retention window's edge."""
    wait = pause or (lambda: time.sleep(STEP_SECONDS))
    shared = Federation.init_shared(str(folder / "federation.git"))
    with connect(
        folder / "dp", checkpoint_every_writes=0, checkpoint_every_seconds=0, site="hq"
    ) as dp:
        dp.federation.init(shared)
        state = {"task": ID, "formula": FORMULA}
        dp.ops.set_state("toast-1", rig="gastown", agent="toast", status="queued", state=state)
        dp.ops.checkpoint()
        dp.ops.heartbeat("toast", cycle=1)
        wait()
        dp.ledger.create_issue(
            "Fix the convoy router", id=ID, owner="toast", metadata={"formula": FORMULA}
        )
        dp.ops.heartbeat("toast", cycle=2)
        wait()
        dp.ops.set_state("toast-1", rig="gastown", agent="toast", status="busy", state=state)
        dp.ops.checkpoint()
        edge = time.time()
        toast = dp.agent("toast")
        toast.update_issue(ID, status="in_progress", title="Fix the convoy router (retry)")
        dp.ops.heartbeat("toast", cycle=3)
        wait()
        _edit_formula(dp)
        dp.ledger.update_issue(ID, title="Fix the convoy router and its tests")
        dp.ops.heartbeat("toast", cycle=4)
        wait()
        toast.merge()  # meets the conflict: the title changed on both sides
        toast.resolve("ours")
        dp.ops.heartbeat("toast", cycle=5)
        wait()
        dp.ledger.add_cv_entry("toast@gastown.example", "completed", bead_id=ID)
        dp.ops.set_state("toast-1", rig="gastown", agent="toast", status="done", state=state)
        dp.ops.checkpoint()
        dp.ops.heartbeat("toast", cycle=6)
    return edge


def _edit_formula(dp: DataPlane) -> None:
    path = Path(dp.federation.path) / "formulas" / f"{FORMULA}.formula.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("walks the rig", "walks the rig every 5 minutes"), "utf-8")
    dp.federation.push(review=False, message=f"{FORMULA}: patrol every 5 minutes")


def timeline_with_short_retention(folder: Path, edge: float) -> Timeline:
    """Clean up with a window of whole seconds that ends at ``edge``, then gather the
    timeline as of the same moment."""
    seconds = math.ceil(time.time() - edge)
    then = dt.datetime.fromtimestamp(edge + seconds, dt.UTC)
    days = seconds / 86400
    with connect(
        folder / "dp",
        create=False,
        retention_days=days,
        heartbeat_full_hours=days * 24 / 2,
        heartbeat_thin_seconds=3600,
    ) as dp:
        dp.ops.cleanup(now=then)
        return gather(dp, ID, now=then)


def main(argv: list[str]) -> int:
    from doltplane.timeline.png import render_png

    out = Path(argv[0]) if argv else Path("docs/timeline.png")
    with tempfile.TemporaryDirectory(prefix="doltplane-timeline-") as tmp:
        folder = Path(tmp)
        edge = build(folder)
        found = timeline_with_short_retention(folder, edge)
    render_png(found, out)
    sys.stdout.write(f"wrote {out} ({len(found.events)} events)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
