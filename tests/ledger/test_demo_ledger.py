"""The ledger part of ``doltplane demo`` runs and tells the story."""

from __future__ import annotations

from doltplane import DataPlane
from doltplane.cli.demo_ledger import ledger_story


def test_ledger_story(dp: DataPlane) -> None:
    lines: list[str] = []
    ledger_story(dp, lines.append)
    text = "\n".join(lines)
    assert "conflict" in text and "Every row from both sides survived: 4/4" in text
    assert "Cross-plane query" in text and "live: busy" in text
    assert "Agent branches left: none" in text
