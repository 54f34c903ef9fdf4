"""``doltplane ui``: a read-only operator page over HTTP, from the standard library.

GET and HEAD only; every other method gets 405. Every response carries a strict
Content-Security-Policy (no script at all, the one stylesheet by hash), and a
request whose Host header names another site is refused, so a web page the
operator visits cannot reach the page through DNS rebinding. Requests are served
one at a time against one DataPlane: the page is for a person, not for load.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from doltplane.errors import ConfigError, DoltplaneError, InvalidInput, NotFound
from doltplane.timeline import gather, zone
from doltplane.timeline.html import content_security_policy
from doltplane.ui import pages
from doltplane.ui.overview import read_overview

if TYPE_CHECKING:
    from doltplane.client import DataPlane

LOOPBACK = "127.0.0.1"
ALLOWED = "GET, HEAD"

Log = Callable[[str], None]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class UiServer:
    """The page's server: ``start()`` in a thread or ``serve_forever()``; ``close()``."""

    def __init__(
        self,
        dp: DataPlane,
        *,
        host: str = LOOPBACK,
        port: int | None = None,
        log: Log | None = None,
        heartbeats: int = 200,
    ) -> None:
        chosen = dp.settings.ui_port if port is None else port
        if isinstance(chosen, bool) or not isinstance(chosen, int) or not 0 <= chosen <= 65535:
            raise InvalidInput(f"port must be 0 to 65535, got {chosen!r}")
        self.dp = dp
        self.lock = threading.Lock()
        self.log = log
        self.heartbeats = heartbeats
        self.check_host = is_loopback(host)
        handler = type("Handler", (_Handler,), {"ui": self})
        try:
            self.httpd = ThreadingHTTPServer((host, chosen), handler)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{chosen}: {exc.strerror or exc}",
                hint="pick another port with --port or DOLTPLANE_UI_PORT (0: any free one)",
            ) from None
        self.httpd.daemon_threads = True
        self.host = host
        self.port = int(self.httpd.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def start(self) -> UiServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
        self.httpd.server_close()

    # --- pages ----------------------------------------------------------------------------

    def respond(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        """(status, content type, body) for one GET; reads under the lock."""
        with self.lock:
            if path == "/":
                return 200, "text/html", pages.overview_page(read_overview(self.dp)).encode()
            if path in ("/timeline", "/timeline.json"):
                return self._timeline(path, query)
            if path == "/healthz":
                return 200, "text/plain", b"ok\n"
        return 404, "text/html", pages.message_page("not found", f"no page {path}").encode()

    def _timeline(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        wanted = (query.get("id") or [""])[0].strip()
        as_json = path.endswith(".json")
        try:
            where = zone((query.get("tz") or ["UTC"])[0])
            if not wanted:
                raise InvalidInput("type an id into the box")
            found = gather(self.dp, wanted, heartbeats=self.heartbeats)
        except DoltplaneError as exc:
            status = (
                404 if isinstance(exc, NotFound) else 400 if isinstance(exc, InvalidInput) else 500
            )
            if as_json:
                body = json.dumps({"error": exc.one_line()}).encode()
                return status, "application/json", body
            page = pages.message_page("timeline", exc.one_line(), query=wanted)
            return status, "text/html", page.encode()
        if as_json:
            return 200, "application/json", json.dumps(found.as_dict(where), default=str).encode()
        return 200, "text/html", pages.timeline_page(found, where).encode()


class _Handler(BaseHTTPRequestHandler):
    ui: UiServer
    server_version = "doltplane-ui"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve(with_body=True)

    def do_HEAD(self) -> None:
        self._serve(with_body=False)

    def __getattr__(self, name: str) -> Any:
        # every other method (POST, PUT, DELETE, PATCH, OPTIONS, ...): the page writes nothing
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _not_allowed(self) -> None:
        self._send(405, "text/plain", b"read-only: only GET and HEAD\n", True, {"Allow": ALLOWED})

    def _serve(self, *, with_body: bool) -> None:
        if self.ui.check_host and not self._host_ok():
            self._send(421, "text/plain", b"wrong Host header\n", with_body)
            return
        parts = urlsplit(self.path)
        try:
            status, kind, body = self.ui.respond(parts.path, parse_qs(parts.query))
        except Exception as exc:  # one bad request must not stop the page for everyone
            status, kind = 500, "text/plain"
            body = f"internal error: {type(exc).__name__}\n".encode()
            self.log_message("error on %s: %r", self.path, exc)
        self._send(status, kind, body, with_body)

    def _host_ok(self) -> bool:
        header = self.headers.get("Host", "")
        host = header.rsplit(":", 1)[0] if not header.endswith("]") else header
        return is_loopback(host)

    def _send(
        self,
        status: int,
        kind: str,
        body: bytes,
        with_body: bool,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status, HTTPStatus(status).phrase)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", content_security_policy())
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", "no-store")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.ui.log is not None:
            stamp = dt.datetime.now(dt.UTC).strftime("%H:%M:%S")
            self.ui.log(f"{stamp} {self.address_string()} {format % args}")
