"""Shared helpers of the robustness suite (see docs/robustness.md for the table it proves).

- ``run_cli(*argv)``: tatamu's ``main(argv)`` in-process, returning (status, stdout, stderr);
- ``one_error_line(err, *phrases)``: the CLI's promise for a user error: exactly one stderr
  line, starting ``tatamu: error:``, no traceback;
- ``tiny_model()`` / ``tiny_data()``: an 8x8 ConvNet and learnable synthetic images;
- ``http_server``: a scripted HTTP server on 127.0.0.1 (ephemeral port) whose handlers are
  released at teardown, so no test can hang on it.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from tatamu import Sequential, cli
from tatamu.models import simple_convnet

SHAPE = (1, 8, 8)


def tiny_model(seed: int = 0) -> Sequential:
    """SimpleConvNet's layers at toy size: conv 4@3x3, pool, Linear 16, Linear 10."""
    return simple_convnet(SHAPE, filters=4, hidden=16, rng=seed)


def tiny_data(n: int = 12, seed: int = 0, classes: int = 10):
    rng = np.random.default_rng(seed)
    return rng.random((n, *SHAPE), dtype=np.float32), rng.integers(0, classes, size=n)


def run_cli(*argv) -> tuple[int, str, str]:
    """``tatamu.cli.main(argv)`` with stdout and stderr captured: (status, out, err)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


def one_error_line(err: str, *phrases: str) -> str:
    """The single ``tatamu: error:`` line of ``err`` (the last line), checked for ``phrases``.

    Progress lines ("loading mnist...", the model summary) may come before it; nothing may
    follow it, and no traceback may appear anywhere.
    """
    assert "Traceback" not in err, err
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("tatamu: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], err
    for phrase in phrases:
        assert phrase in errors[0], errors[0]
    return errors[0]


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
