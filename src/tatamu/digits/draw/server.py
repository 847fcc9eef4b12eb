"""The HTTP side of ``tatamu draw``: one page and a JSON API, on 127.0.0.1, standard library only.

A local tool is still reachable by every web page the user has open (a page can post to
127.0.0.1, or rebind its own domain name to it), so the server trusts nothing it is sent:

- it binds 127.0.0.1 unless another host is asked for explicitly (the CLI warns);
- the Host header must name this server by an IP address or ``localhost``: a name that an
  attacker's DNS points at 127.0.0.1 (DNS rebinding) is refused;
- fixed routes only (``GET /``, ``GET /api/info``, ``GET /api/epochs``, ``GET
  /font/tatamu-ja.ttf``, ``POST /api/predict``, ``POST /api/explain``), never a file path from
  the URL;
- POST bodies must say ``Content-Type: application/json`` (a plain cross-site form cannot) and
  give a Content-Length of at most MAX_BODY bytes, else they are refused unread;
- a client that stalls is dropped after TIMEOUT seconds; the model sits behind one lock.

Every refusal is a 4xx with ``{"error": "one line"}``; the server keeps serving. A POST answers in
the language its body asks for (``"lang"``, the page's), unless ``tatamu draw --lang`` chose one.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from ...errors import ConfigError, DataError
from ...i18n import _, japanese_font, using_language
from .app import DrawApp, RequestError

#: The largest request body read (a 280x280 canvas PNG is 10-40 kB).
MAX_BODY = 2 * 2**20
#: Seconds a client may take to send its request (headers and body).
TIMEOUT = 10.0
#: Headers on every answer: nothing cached, no type sniffing, no framing by other sites.
COMMON_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                  "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
#: The page may run its own inline script and style, load its font and talk to this server,
#: nothing else.
PAGE_POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
               "img-src data: blob:; font-src 'self'; connect-src 'self'; base-uri 'none'; "
               "form-action 'none'")
#: Where the page's Japanese font is served (the page asks for it only to show Japanese).
FONT_ROUTE = "/font/tatamu-ja.ttf"


class DrawServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its app, page and the Host names it answers to."""

    daemon_threads = True  # Ctrl-C does not wait for a stalled client
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: DrawApp):
        self.app = app
        self.page = resources.files(__package__).joinpath("page.html").read_bytes()
        self.font = japanese_font().read_bytes()
        super().__init__(address, Handler)

    def host_allowed(self, host: str | None) -> bool:
        """Whether a Host header names this server (IP literal or localhost, our port)."""
        if not host:
            return False
        name, _, port = host.rpartition(":")
        if not name or port != str(self.server_address[1]):
            return False
        name = name.strip("[]").lower()
        if name in ("localhost", self.server_address[0].lower()):
            return True
        try:
            ipaddress.ip_address(name)  # a literal address cannot be rebound by DNS
        except ValueError:
            return False
        return True


class Handler(BaseHTTPRequestHandler):
    """Fixed routes, JSON in and out; every failure one JSON line with a 4xx status."""

    server: DrawServer
    timeout = TIMEOUT  # socket timeout: a slow client is dropped (StreamRequestHandler)
    protocol_version = "HTTP/1.1"
    server_version = "tatamu-draw"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if not self._host_ok():
            return
        if self.path == "/":
            self._send(HTTPStatus.OK, self.server.page, "text/html; charset=utf-8",
                       {"Content-Security-Policy": PAGE_POLICY})
        elif self.path == "/api/info":
            self._json(HTTPStatus.OK, self.server.app.info())
        elif self.path == "/api/epochs":  # the slider's epochs (issue 24)
            self._json(HTTPStatus.OK, self.server.app.epochs())
        elif self.path == FONT_ROUTE:
            self._send(HTTPStatus.OK, self.server.font, "font/ttf")
        elif self.path in ("/api/predict", "/api/explain"):
            self._error(HTTPStatus.METHOD_NOT_ALLOWED, _("{path} takes POST", path=self.path),
                        {"Allow": "POST"})
        else:
            self._error(HTTPStatus.NOT_FOUND, _("no page {path!r}: the routes are /, /api/info, "
                                                "/api/epochs, /api/predict, /api/explain",
                                                path=self.path[:80]))

    def do_POST(self) -> None:  # noqa: N802
        if not self._host_ok():
            return
        routes = {"/api/predict": self.server.app.predict,
                  "/api/explain": self.server.app.explain}
        if self.path not in routes:
            self._error(HTTPStatus.NOT_FOUND, _("no API {path!r}: POST /api/predict or "
                                                "/api/explain", path=self.path[:80]))
            return
        payload = self._read_json()
        if payload is None:
            return
        with using_language(self.server.app.language_of(payload)):  # this request's thread only
            try:
                answer = routes[self.path](payload)
            except RequestError as exc:
                self._error(HTTPStatus.BAD_REQUEST, str(exc))
            except DataError as exc:  # not a picture, an empty canvas, too large a picture
                self._error(HTTPStatus.UNPROCESSABLE_ENTITY, str(exc))
            else:
                self._json(HTTPStatus.OK, answer)

    def _host_ok(self) -> bool:
        if self.server.host_allowed(self.headers.get("Host")):
            return True
        self._error(HTTPStatus.MISDIRECTED_REQUEST, _(
            "this server answers only to 127.0.0.1:{port} or localhost (Host header)",
            port=self.server.server_address[1]))
        return False

    def _read_json(self) -> Any:
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if kind != "application/json":
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, _("send JSON with Content-Type: "
                                                             "application/json"))
            return None
        if self.headers.get("Transfer-Encoding"):
            self._error(HTTPStatus.LENGTH_REQUIRED, _("send a Content-Length, not chunks"))
            return None
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._error(HTTPStatus.LENGTH_REQUIRED, _("a Content-Length header is required"))
            return None
        if length < 0 or length > MAX_BODY:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _("the body is {length:,} bytes; "
                                                               "at most {max_body:,} are read",
                                                               length=length, max_body=MAX_BODY))
            return None
        try:
            body = self.rfile.read(length)
        except OSError:  # TimeoutError: the client stalled mid-body past TIMEOUT
            body = b""
        if len(body) < length:
            self.close_connection = True
            return None  # the client went away (or timed out) mid-body: nobody to answer
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._error(HTTPStatus.BAD_REQUEST, _("the body is not JSON ({exc})", exc=exc))
            return None

    def _json(self, status: HTTPStatus, obj: Any) -> None:
        self._send(status, json.dumps(obj, allow_nan=False).encode(), "application/json")

    def _error(self, status: HTTPStatus, message: str, headers: dict | None = None) -> None:
        line = " ".join(str(message).split())  # one line, whatever the message held
        # A refused request may have left its body unread: do not read the next one from it.
        self.close_connection = True
        self._send(status, json.dumps({"error": line}).encode(), "application/json",
                   {**(headers or {}), "Connection": "close"})

    def _send(self, status: HTTPStatus, body: bytes, kind: str, extra: dict | None = None):
        self.send_response(status)
        for name, value in {**COMMON_HEADERS, "Content-Type": kind,
                            "Content-Length": str(len(body)), **(extra or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's name)
        pass  # quiet: the command prints its own one line per start and stop


def make_server(app: DrawApp, host: str = "127.0.0.1", port: int = 8000) -> DrawServer:
    """Bind (not yet serve). Port 0 picks a free one (``server.server_address[1]``).

    A port in use, or a host this machine does not have, is a ConfigError saying what to do.
    """
    try:
        return DrawServer((host, port), app)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(_("port {port} on {host} is already in use; choose another with "
                                "--port N (or stop what is using it)", port=port,
                                host=host)) from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise ConfigError(_("not allowed to listen on port {port}; ports under 1024 need "
                                "root: choose --port 8000 or above", port=port)) from None
        raise ConfigError(_("cannot listen on {host}:{port} ({strerror}); check --host",
                            host=host, port=port, strerror=exc.strerror or exc)) from None


def serve(server: DrawServer, ready: threading.Event | None = None) -> None:
    """Serve until Ctrl-C (KeyboardInterrupt) or ``server.shutdown()``; then close the socket."""
    if ready is not None:
        ready.set()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
