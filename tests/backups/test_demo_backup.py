"""The backup part of ``doltplane demo`` runs and tells the story."""

from __future__ import annotations

from pathlib import Path

from doltplane import DataPlane
from doltplane.cli.demo_backup import backup_story


def test_backup_story(dp: DataPlane, tmp_path: Path) -> None:
    dp.ledger.create_issue("worth keeping")
    lines: list[str] = []
    backup_story(dp, tmp_path, lines.append)
    text = "\n".join(lines)
    assert "verify says ok" in text
    assert "1 issue(s), identical ledger history: True" in text
    assert "AS OF the tag holds 1 issue(s)" in text
