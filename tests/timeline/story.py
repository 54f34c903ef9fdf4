"""One record's story on real engines: ops state changes, heartbeats, an agent branch, a
conflict with main, its resolution, the merge, a CV entry and a federation change to the
role the record names. The timeline and UI tests read it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from doltplane import connect
from doltplane.config import ENVIRONMENT_VARIABLES
from doltplane.federation import Federation

ID = "gt-42"
TITLE = "Fix <script>alert(1)</script> & the router"
SETTINGS = {"checkpoint_every_writes": 0, "checkpoint_every_seconds": 0, "site": "hq"}

EXPECTED = [
    ("federation", "catalog_change"),  # the role's version in force when the record began
    ("ops", "state"),  # queued
    ("heartbeat", "heartbeat"),
    ("ledger", "created"),
    ("ops", "state"),  # busy
    ("ledger", "updated"),  # on the agent's branch
    ("heartbeat", "heartbeat"),
    ("ledger", "updated"),  # on main: the other side of the conflict
    ("federation", "catalog_change"),  # the role changed
    ("ledger", "conflict"),
    ("ledger", "resolved"),
    ("ledger", "merged"),
    ("cv", "cv_entry"),
    ("ops", "state"),  # done
]
"""Every event of the story, in order (lane, kind)."""


def isolated_git_env(home: Path) -> dict[str, str]:
    """Environment variables that keep the user's and the system's git config out."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "gitconfig"
    config.write_text("[init]\n\tdefaultBranch = main\n", encoding="utf-8")
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(config),
    }
    for who in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{who}_NAME"] = "Test Operator"
        env[f"GIT_{who}_EMAIL"] = "operator@example.test"
    return env


def pause() -> None:
    time.sleep(0.02)  # events of different steps get different microsecond stamps anyway


def build_story(base: Path) -> Path:
    """Write the story into ``base/dp``; returns that data directory. The caller has
    applied ``isolated_git_env`` and cleared ``DOLTPLANE_*`` variables."""
    assert not any(os.environ.get(v) for v in ENVIRONMENT_VARIABLES.values())
    shared = Federation.init_shared(str(base / "federation.git"))
    data_dir = base / "dp"
    with connect(data_dir, **SETTINGS) as dp:
        dp.federation.init(shared)
        pause()
        dp.ops.set_state(
            ID, rig="gastown", agent="toast", status="queued", state={"formula": "none-such"}
        )
        dp.ops.checkpoint()
        dp.ops.heartbeat("toast", cycle=1)
        pause()
        dp.ledger.create_issue(TITLE, id=ID, owner="toast", metadata={"role": "polecat"})
        pause()
        dp.ops.set_state(ID, rig="gastown", agent="toast", status="busy", state={})
        dp.ops.checkpoint()
        toast = dp.agent("toast")
        toast.update_issue(ID, status="in_progress", title="toast's title")
        dp.ops.heartbeat("toast", cycle=2)
        pause()
        dp.ledger.update_issue(ID, title="main's title")
        time.sleep(1.05)  # git records whole seconds: the change must not round to before
        role = Path(dp.federation.path) / "roles" / "polecat.toml"
        role.write_text(role.read_text(encoding="utf-8") + "\n# patrol faster\n", "utf-8")
        dp.federation.push(review=False, message="polecat: patrol faster")
        pause()
        assert toast.merge().status.value == "conflict"
        assert toast.resolve("ours").status.value == "merged"
        pause()
        dp.ledger.add_cv_entry("toast@gastown.example", "completed", bead_id=ID)
        pause()
        dp.ops.set_state(ID, rig="gastown", agent="toast", status="done", state={})
        dp.ops.checkpoint()
    return data_dir
