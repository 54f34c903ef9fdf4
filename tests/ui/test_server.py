"""``doltplane ui`` over real HTTP on loopback: read-only, escaped, strict CSP, and the
service's job and alert state when ``doltplane serve`` runs."""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from doltplane import connect
from doltplane.errors import InvalidInput
from doltplane.ui import UiServer

from ..timeline.story import ID, SETTINGS


@pytest.fixture
def server(story: Path) -> Iterator[UiServer]:
    with connect(story, create=False, **SETTINGS) as dp:
        ui = UiServer(dp, port=0).start()
        try:
            yield ui
        finally:
            ui.close()


def request(
    ui: UiServer, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", ui.port, timeout=60)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        body = response.read().decode()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def test_overview_shows_every_section(server: UiServer) -> None:
    status, headers, body = request(server, "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    for section in ("planes", "agents", "agent branches", "recent commits", "federation catalog"):
        assert f">{section}</h2>" in body
    assert "toast" in body and "polecat" in body and "ledger" in body
    assert "doltplane serve has not run on this data directory" in body


def test_every_response_carries_a_strict_policy(server: UiServer) -> None:
    for path in ("/", f"/timeline?id={ID}", "/nope"):
        _, headers, _ = request(server, path)
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
        assert "unsafe-inline" not in policy and "style-src 'sha256-" in policy
        assert headers["x-content-type-options"] == "nosniff"


def test_timeline_page_escapes_what_agents_wrote(server: UiServer) -> None:
    status, _, body = request(server, f"/timeline?id={ID}")
    assert status == 200
    assert "<svg" in body and "<script" not in body
    assert "Fix &lt;script&gt;alert(1)&lt;/script&gt; &amp; the router" in body
    assert "http://" not in body and "https://" not in body


def test_timeline_json_and_errors(server: UiServer) -> None:
    status, headers, body = request(server, f"/timeline.json?id={ID}")
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert json.loads(body)["id"] == ID
    assert request(server, "/timeline?id=gt-none")[0] == 404
    assert request(server, "/timeline?id=")[0] == 400
    assert request(server, "/timeline?id=gt-42&tz=Nowhere/Land")[0] == 400
    status, _, body = request(server, "/timeline?id=%3Cb%3Ebold%3C/b%3E")
    assert status == 404 and "<b>" not in body and "&lt;b&gt;" in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_every_other_method_is_refused(server: UiServer, method: str) -> None:
    status, headers, _ = request(server, "/", method)
    assert status == 405 and headers["allow"] == "GET, HEAD"


def test_head_sends_no_body(server: UiServer) -> None:
    status, headers, body = request(server, "/", "HEAD")
    assert status == 200 and body == "" and int(headers["content-length"]) > 0


def test_a_foreign_host_header_is_refused(server: UiServer) -> None:
    assert request(server, "/", headers={"Host": "attacker.example"})[0] == 421
    assert request(server, "/", headers={"Host": f"localhost:{server.port}"})[0] == 200


def test_listens_on_loopback_by_default(story: Path) -> None:
    with connect(story, create=False, **SETTINGS) as dp:
        ui = UiServer(dp, port=0)
        try:
            assert ui.httpd.server_address[0] == "127.0.0.1"
        finally:
            ui.close()
        with pytest.raises(InvalidInput, match="port"):
            UiServer(dp, port=70000)


def _write_service_state(data_dir: Path, *, holder: int | None) -> None:
    """What ``doltplane serve`` leaves: state.json, and the lock naming its holder (the
    service empties the lock's JSON when it stops)."""
    serve = data_dir / ".serve"
    serve.mkdir(exist_ok=True)
    state = {
        "pid": os.getpid(),
        "started_at": 1_795_000_000.0,
        "updated_at": 1_795_000_300.0,
        "jobs": {
            "snapshot": {
                "interval_seconds": 60,
                "runs": 5,
                "failures": 0,
                "last_result": "ok",
                "last_error": None,
                "next_run_at": 1_795_000_360.0,
            },
            "federation_pull": {
                "interval_seconds": 3600,
                "runs": 1,
                "failures": 1,
                "last_result": "failed",
                "last_error": "remote <unreachable>",
            },
        },
        "alerts": {
            "growth": {
                "name": "growth",
                "state": "firing",
                "severity": "warning",
                "value": 250.0,
                "since": 1_795_000_100.0,
                "summary": "ops grew <fast>",
            }
        },
    }
    (serve / "state.json").write_text(json.dumps(state), encoding="utf-8")
    lock = {} if holder is None else {"pid": holder, "url": "http://127.0.0.1:9/metrics"}
    (serve / "lock").write_text(json.dumps(lock), encoding="utf-8")


def _overview(data_dir: Path) -> str:
    with connect(data_dir, create=False, **SETTINGS) as dp:
        ui = UiServer(dp, port=0).start()
        try:
            status, _, body = request(ui, "/")
        finally:
            ui.close()
    assert status == 200
    return body


@pytest.fixture
def serve_files(story: Path) -> Iterator[Path]:
    yield story
    for name in ("state.json", "lock"):
        (story / ".serve" / name).unlink(missing_ok=True)


def test_service_jobs_and_alerts_while_it_runs(serve_files: Path) -> None:
    _write_service_state(serve_files, holder=os.getpid())  # a live process holds the lock
    running = _overview(serve_files)
    assert f"running (pid {os.getpid()}, http://127.0.0.1:9/metrics)" in running
    for text in ("snapshot", "federation_pull", "remote &lt;unreachable&gt;", "growth"):
        assert text in running
    assert '<span class="firing">firing</span>' in running
    assert '<span class="firing">failed</span>' in running
    assert "ops grew &lt;fast&gt;" in running and "<fast>" not in running
    assert "2026-11-18 11:11:40" in running  # unix times shown in UTC


def test_a_stopped_service_shows_its_last_report(serve_files: Path) -> None:
    _write_service_state(serve_files, holder=None)
    stopped = _overview(serve_files)
    assert "not running (last report below)" in stopped and "growth" in stopped


def test_a_damaged_state_file_is_reported_not_fatal(serve_files: Path) -> None:
    _write_service_state(serve_files, holder=None)
    (serve_files / ".serve" / "state.json").write_text("{not json", encoding="utf-8")
    body = _overview(serve_files)
    assert "not readable service state" in body and ">planes</h2>" in body
