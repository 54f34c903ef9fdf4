"""The federation story of ``doltplane demo`` runs end to end on real git."""

from __future__ import annotations

from pathlib import Path

from doltplane.cli.demo_federation import federation_story


def test_federation_story(tmp_path: Path) -> None:
    lines: list[str] = []
    federation_story(tmp_path / "demo", lines.append)
    text = "\n".join(lines)
    assert "review/site-a/deacon-sweep" in text
    assert "site-b pulls: fast_forward" in text
    assert "conflict in formulas/mol-deacon-sweep.formula.toml; work tree unchanged: True" in text
    assert lines[-1] == (
        "both sites agree: site-a 'Sweep every 30 minutes.', site-b 'Sweep every 30 minutes.'"
    )
