"""The backup part of ``doltplane demo``: push every plane to a remote, restore a copy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from doltplane import backups
from doltplane.client import DataPlane, connect

Say = Callable[[str], None]


def backup_story(dp: DataPlane, base: Path, say: Say) -> None:
    say("== Backups: every plane, branch, tag and commit, through a Dolt remote ==")
    url = f"file://{base / 'backup'}"
    backups.add_remote(dp, "disk", url)
    dp.ledger.tag("demo-backup")
    [pushed] = backups.push_backup(dp, "disk")
    verified = "ok" if backups.verify_backup(dp, "disk").ok else "DIFFERS"
    say(f"backup push disk ({url}): {len(pushed.refs)} branch(es) over both planes, "
        f"{pushed.tags} tag(s); verify says {verified}.")  # fmt: skip
    restored = backups.restore(url, base / "restored", remote="disk")
    with connect(restored.into) as copy:
        same_log = [c.hash for c in copy.ledger.log()] == [c.hash for c in dp.ledger.log()]
        say(f"backup restore disk --into {restored.into.name}: {len(copy.ledger.issues())} "
            f"issue(s), identical ledger history: {same_log}; AS OF the tag holds "
            f"{len(copy.ledger.as_of('demo-backup').issues())} issue(s) there too.")  # fmt: skip
