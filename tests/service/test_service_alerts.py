"""The service evaluates alerts.yaml: a rule fires and its webhook reaches a loopback server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from .conftest import ServiceProcess
from .test_service_process import cli, samples, value

Start = Callable[..., ServiceProcess]

RULES = """\
version: 1
rules:
  - name: latency_tiny
    observe: query_latency_avg_seconds
    above: 0
    severity: warning
    summary: Any probe latency at all (a test threshold).
    actions:
      - log
      - webhook: {url}
"""


class Hooks:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.arrived = threading.Event()


@pytest.fixture
def webhook() -> Iterator[tuple[str, Hooks]]:
    hooks = Hooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            hooks.bodies.append(json.loads(self.rfile.read(length)))
            hooks.arrived.set()
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", hooks
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_an_alert_fires_and_its_webhook_is_called(
    start_service: Start, initialised: Path, home: Path, webhook: tuple[str, Hooks]
) -> None:
    url, hooks = webhook
    (initialised / "alerts.yaml").write_text(RULES.format(url=url), encoding="utf-8")
    service = start_service()
    assert hooks.arrived.wait(60), "".join(service.raw)
    body = json.dumps(hooks.bodies[0])
    assert "latency_tiny" in body and "firing" in body
    service.wait_for(lambda e: e.get("event") == "alert" and "latency_tiny" in e["message"])
    runs = len(service.job_runs("alerts", "ok"))
    service.wait_runs("alerts", runs + 1, "ok")  # the metric is set by a completed evaluation
    found = samples(service.scrape())
    assert value(found, "doltplane_alert_firing", rule="latency_tiny", severity="warning") == 1
    assert value(found, "doltplane_alert_state", rule="latency_tiny", state="firing") == 1
    state = json.loads((initialised / ".serve" / "state.json").read_text())
    assert state["alerts"]["latency_tiny"]["state"] == "firing"
    assert service.terminate() == 0
    shown = json.loads(cli(initialised, home, "status", "--json").stdout)["service"]
    assert shown["alerts"]["latency_tiny"]["state"] == "firing"


def test_the_default_rules_file_is_written_and_an_invalid_one_refused(
    initialised: Path, home: Path
) -> None:
    ran = cli(initialised, home, "serve", "--once", "alerts")
    assert ran.returncode == 0, ran.stderr
    assert "query_latency_high" in (initialised / "alerts.yaml").read_text()
    (initialised / "alerts.yaml").write_text("version: 1\nrules:\n  - name: x\n    above: 1\n")
    refused = cli(initialised, home, "serve")
    assert refused.returncode == 3, refused.stderr
    assert refused.stderr.startswith(f"error: {initialised / 'alerts.yaml'}:3")
    assert refused.stderr.count("\n") == 1
