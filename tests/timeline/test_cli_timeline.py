"""``doltplane timeline ID``: a table for people, --json for agents, --html and --png files;
bad input is one line with the error's exit code and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from doltplane.cli.main import cli

from .story import EXPECTED, ID

PNG_HEADER = b"\x89PNG\r\n\x1a\n"


def run(story: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(story), "timeline", *args])


def test_json_lists_every_event_in_order(story: Path) -> None:
    result = run(story, ID, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(e["lane"], e["kind"]) for e in data["events"]] == EXPECTED
    assert data["timezone"] == "UTC" and data["retention"]["days"] == 7.0


def test_table_for_people(story: Path) -> None:
    result = run(story, ID)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for words in ("timeline of gt-42", "conflict", "merged", "cv_entry", "retention window"):
        assert words in out
    assert "2 heartbeats of toast" in out  # counted, not listed


def test_html_and_png_files(story: Path, tmp_path: Path) -> None:
    page, picture = tmp_path / "t.html", tmp_path / "t.png"
    result = run(story, ID, "--html", str(page), "--png", str(picture), "--tz", "Asia/Tokyo")
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert "<svg" in html and "times in Asia/Tokyo" in html
    assert "http://" not in html and "https://" not in html
    assert picture.read_bytes()[:8] == PNG_HEADER


def test_unknown_id_is_exit_4_and_writes_no_file(story: Path, tmp_path: Path) -> None:
    page = tmp_path / "t.html"
    result = run(story, "gt-none", "--html", str(page))
    assert result.exit_code == 4
    assert result.stderr.startswith("error: timeline not found: 'gt-none'")
    assert len(result.stderr.splitlines()) == 1
    assert not page.exists()


def test_unknown_zone_is_exit_3_before_any_read(story: Path, tmp_path: Path) -> None:
    page = tmp_path / "t.html"
    result = run(story, ID, "--tz", "Nowhere/Land", "--html", str(page))
    assert result.exit_code == 3
    assert "unknown time zone" in result.stderr and not page.exists()


def test_markup_in_a_title_is_shown_as_written(tmp_path: Path) -> None:
    from doltplane import connect

    with connect(tmp_path / "dp") as dp:
        dp.ledger.create_issue("[/] closes [bold]nothing", id="gt-[x]")
    result = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path / "dp"), "timeline", "gt-[x]"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "[/] closes [bold]nothing" in result.stdout
    assert "timeline of gt-[x]" in result.stdout
