"""A real browser (Debian's chromium, driven by Playwright) on ``doltplane ui``: the page
loads with no policy violation, the timeline search works, and a title holding
``<script>`` is shown as text and never runs. A screenshot goes to ``.ci/artifacts/``.

Skipped when /usr/bin/chromium is missing, except under CI (``CI`` set), where it
fails: ``.ci/run`` installs chromium. Playwright never downloads a browser here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .serve import ui_process

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / ".ci" / "artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: .ci/run must provide it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is missing (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def test_search_shows_the_timeline_and_script_titles_as_text(story: Path, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("pageerror", lambda e: problems.append(str(e)))
    with ui_process(story, "--quiet") as url:
        page.goto(url)
        assert page.title() == "doltplane · doltplane"
        assert page.locator("h2", has_text="agent branches").count() == 1
        page.fill("#timeline-id", "gt-42")
        page.click("button[type=submit]")
        page.wait_for_selector("svg.timeline")
        assert page.title() == "timeline of gt-42 · doltplane"
        text = page.inner_text("table.events")
        assert "Fix <script>alert(1)</script> & the router" in text  # shown as text
        assert page.locator("table.events script").count() == 0  # never markup
        assert page.locator("svg.timeline g.event").count() >= 10
        assert "conflict resolved: kept ours (agent toast)" in text
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "ui-timeline.png"), full_page=True)
        assert problems == []  # no policy violation (the stylesheet's hash), no dialog
        page.goto(url)
        page.fill("#timeline-id", "gt-none")
        page.click("button[type=submit]")
        assert "no plane knows this id" in page.inner_text("p.error")
    page.close()
    assert (ARTIFACTS / "ui-timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_html_file_opens_with_no_policy_violation(
    story: Path, browser: Any, tmp_path: Path
) -> None:
    from doltplane import connect
    from doltplane.timeline import gather, render_html

    from ..timeline.story import ID, SETTINGS

    with connect(story, create=False, **SETTINGS) as dp:
        page_file = tmp_path / "gt-42.html"
        page_file.write_text(render_html(gather(dp, ID)), encoding="utf-8")
    page = browser.new_page()
    problems: list[str] = []
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_file.as_uri())
    assert page.locator("svg.timeline g.event").count() >= 10
    assert "Fix <script>alert(1)</script> & the router" in page.inner_text("table.events")
    page.close()
    assert problems == []
    assert requests == [page_file.as_uri()]  # nothing fetched but the page itself
