"""The timeline of a record that went through every plane: ops state changes, heartbeats,
an agent branch, a conflict with main and its resolution, the merge, a CV entry and a
federation change to the role it names."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from doltplane import connect
from doltplane.errors import InvalidId, InvalidInput, NotFound
from doltplane.timeline import gather, render_html, render_svg, zone
from doltplane.timeline.png import render_png

from .story import EXPECTED, ID, SETTINGS, TITLE

PNG_HEADER = b"\x89PNG\r\n\x1a\n"


def test_every_event_in_order(story: Path) -> None:
    with connect(story, create=False, **SETTINGS) as dp:
        found = gather(dp, ID)
    data = found.as_dict()
    events = data["events"]
    assert [(e["lane"], e["kind"]) for e in events] == EXPECTED
    times = [dt.datetime.fromisoformat(e["at"]) for e in events]
    assert times == sorted(times)
    assert all(e["retained"] == "kept" for e in events)  # all inside the 7-day window
    assert json.loads(json.dumps(data)) == data  # plain JSON values only


def test_ledger_events_say_branch_author_conflict_and_resolution(story: Path) -> None:
    with connect(story, create=False, **SETTINGS) as dp:
        found = gather(dp, ID)
    ledger = [e for e in found.events if e.lane == "ledger"]
    created, on_branch, on_main, conflict, resolved, merged = ledger
    assert (created.branch, created.details["record"]["title"]) == ("main", TITLE)
    assert (on_branch.branch, on_branch.actor) == ("toast", "toast")
    assert on_branch.details["changed"]["status"] == ["open", "in_progress"]
    assert (on_main.branch, on_main.details["changed"]["title"]) == (
        "main",
        [TITLE, "main's title"],
    )
    assert conflict.details["ours"]["title"] == "toast's title"  # ours = the agent's branch
    assert conflict.details["theirs"]["title"] == "main's title"
    assert conflict.details["base"]["title"] == TITLE
    assert resolved.details["kept"] == "ours (agent toast)"
    assert (merged.branch, merged.details["record"]["title"]) == ("main", "toast's title")
    assert merged.commit == conflict.commit or merged.commit is not None
    assert found.subjects["agents"] == ["toast"]
    assert found.subjects["federation"] == ["role:polecat"]


def test_federation_changes_to_the_role_the_record_names(story: Path) -> None:
    with connect(story, create=False, **SETTINGS) as dp:
        found = gather(dp, ID)
    changes = [e for e in found.events if e.lane == "federation"]
    assert [e.details["paths"] for e in changes] == [["roles/polecat.toml"]] * 2
    assert "in force when the record began" in changes[0].summary
    assert changes[1].summary == "role polecat: polecat: patrol faster"


def test_html_is_one_page_with_inline_svg_and_nothing_fetched(story: Path) -> None:
    with connect(story, create=False, **SETTINGS) as dp:
        found = gather(dp, ID)
    page = render_html(found)
    assert page.startswith("<!doctype html>")
    assert "<svg" in page and "</svg>" in page
    for fetch in ("http://", "https://", "//", "src=", "href=", "url(", "@import"):
        assert fetch not in page.replace("</", ""), fetch
    assert "<script>alert" not in page  # the title is escaped, never markup
    assert "Fix &lt;script&gt;alert(1)&lt;/script&gt; &amp; the router" in page
    assert page.count("<script") == 1  # the inert application/json data block only
    assert '<script type="application/json" id="timeline-data">' in page
    embedded = page.split('id="timeline-data">', 1)[1].split("</script>", 1)[0]
    assert json.loads(embedded)["id"] == ID


def test_standalone_svg_names_its_namespace_and_inline_svg_does_not(story: Path) -> None:
    with connect(story, create=False, **SETTINGS) as dp:
        found = gather(dp, ID)
    assert "http://www.w3.org/2000/svg" in render_svg(found, standalone=True)
    assert "http" not in render_svg(found)


def test_png_is_drawn(story: Path, tmp_path: Path) -> None:
    with connect(story, create=False, **SETTINGS) as dp:
        found = gather(dp, ID)
    out = render_png(found, tmp_path / "t.png", zone("Europe/Berlin"))
    data = out.read_bytes()
    assert data[:8] == PNG_HEADER and len(data) > 5000


def test_times_in_the_zone_asked_for(story: Path) -> None:
    with connect(story, create=False, **SETTINGS) as dp:
        found = gather(dp, ID)
    berlin = found.as_dict(zone("Europe/Berlin"))
    utc = found.as_dict()
    assert berlin["timezone"] == "Europe/Berlin" and utc["timezone"] == "UTC"
    first_berlin = dt.datetime.fromisoformat(berlin["events"][0]["at"])
    first_utc = dt.datetime.fromisoformat(utc["events"][0]["at"])
    assert first_berlin == first_utc and first_berlin.utcoffset() != first_utc.utcoffset()
    with pytest.raises(InvalidInput, match="unknown time zone"):
        zone("Mars/Olympus_Mons")


def test_events_older_than_the_window_are_marked_and_its_edge_shown(story: Path) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=7, minutes=1)
    with connect(story, create=False, **SETTINGS) as dp:
        found = gather(dp, ID, now=later)
    ops = [e for e in found.events if e.lane in ("ops", "heartbeat") and e.retained != "marker"]
    assert ops and all(e.retained == "outside_window" for e in ops)
    assert all(e.retained == "kept" for e in found.events if e.lane in ("ledger", "cv"))
    cut = [e for e in found.events if e.kind == "retention_cut"]
    assert len(cut) == 1 and cut[0].at == found.retention.cutoff
    assert found.as_dict()["retention"]["days"] == 7.0


def test_unknown_and_bad_ids_are_one_line_errors(story: Path) -> None:
    with connect(story, create=False, **SETTINGS) as dp:
        with pytest.raises(NotFound, match="gt-none") as missing:
            gather(dp, "gt-none")
        assert "no plane knows this id" in missing.value.one_line()
        with pytest.raises(InvalidId):
            gather(dp, "gt\x00x")
        with pytest.raises(InvalidInput, match="heartbeats"):
            gather(dp, ID, heartbeats=-1)


def test_heartbeats_are_bounded(story: Path) -> None:
    with connect(story, create=False, **SETTINGS) as dp:
        found = gather(dp, ID, heartbeats=1)
        none = gather(dp, ID, heartbeats=0)
    beats = [e for e in found.events if e.kind == "heartbeat"]
    assert [e.details["cycle"] for e in beats] == [2]
    assert any("only the newest 1" in n for n in found.notes)
    assert not [e for e in none.events if e.kind == "heartbeat"]
