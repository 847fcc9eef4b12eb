"""Fixtures of the robustness suite (helpers are in ``robustness_helpers.py``).

``http_server``: a scripted HTTP server on 127.0.0.1 (ephemeral port) whose stalled handlers
are released at teardown, so no test can hang on it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


# -- a scripted HTTP server -----------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    """Answers ``GET`` from ``server.routes[path]``: ``("ok", data)``, ``("status", code)``,
    ``("truncate", data, n)`` (declares all of data, sends n bytes, closes), ``("stall", data)``
    (headers and 1 byte, then silence)."""

    def log_message(self, format, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        kind, *args = self.server.routes.get(self.path, ("status", 404))
        if kind == "status":
            self.send_error(args[0])
            return
        data = args[0]
        m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        start = int(m.group(1)) if m and kind == "ok" else 0
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        limit = {"truncate": args[1] if len(args) > 1 else 0, "stall": 1}.get(kind)
        self.wfile.write(data[start:] if limit is None else data[start : start + limit])
        self.wfile.flush()
        if kind == "stall":
            self.server.release.wait(10)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


@pytest.fixture
def http_server() -> Iterator[_Server]:
    """A server on 127.0.0.1: set ``server.routes[path]``; ``server.url`` is its base URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.routes, server.requests, server.release = {}, [], threading.Event()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
