"""Fixtures for the dataset tests: tiny synthetic IDX sets and a scripted local HTTP server.

Nothing here touches the network: the server listens on 127.0.0.1 on an ephemeral port, every
client call uses a short timeout, and stalled handlers are released at teardown.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from tatamu.datasets import encode_idx, integrity, mnist

#: Sizes of the tiny synthetic Fashion-MNIST stand-in.
TINY_TRAIN, TINY_TEST = 6, 3


def tiny_idx_payloads() -> dict[str, bytes]:
    """Uncompressed IDX bytes for a 6 + 3 sample, 28x28, 10-class stand-in dataset."""
    rng = np.random.default_rng(0)  # local Generator: the data are fixed, never global state
    out = {}
    for prefix, n in (("train", TINY_TRAIN), ("t10k", TINY_TEST)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        out[f"{prefix}-images-idx3-ubyte"] = encode_idx(images)
        out[f"{prefix}-labels-idx1-ubyte"] = encode_idx(labels)
    return out


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_set(folder: Path, payloads: dict[str, bytes], *, compress: bool = True,
              skip: tuple[str, ...] = ()) -> Path:
    """Write the IDX files into ``folder`` as ``NAME.gz`` (or ``NAME``), leaving out ``skip``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in payloads.items():
        if name in skip:
            continue
        if compress:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data, mtime=0))
        else:
            (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def idx_writer():
    """``write_set(folder, payloads, *, compress=True, skip=())`` for tests to build trees."""
    return write_set


@pytest.fixture
def tiny_fashion(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, bytes]:
    """The tiny payloads, with Fashion-MNIST's checksums and search places pointed at tmp."""
    payloads = tiny_idx_payloads()
    monkeypatch.setattr(mnist, "FASHION_MNIST_SHA256", {k: sha(v) for k, v in payloads.items()})
    monkeypatch.setattr(mnist, "DEBIAN_FASHION_MNIST_DIRS", (tmp_path / "debian" / "fm",))
    monkeypatch.setenv("TATAMU_CACHE", str(tmp_path / "cache"))
    integrity.forget_all()
    return payloads


@dataclass
class ScriptedServer:
    """A local HTTP server; ``routes[path]`` is a list of actions, the last one repeating.

    Actions: ``("ok", data)`` honours ``Range``; ``("ignore_range", data)`` always sends 200;
    ``("truncate", data, n)`` honours ``Range`` but sends only ``n`` body bytes then closes;
    ``("status", code)``; ``("stall", data)`` sends headers and 1 byte, then goes silent;
    ``("silent",)`` accepts the request and never answers.
    """

    url: str
    routes: dict[str, list[tuple]] = field(default_factory=dict)
    log: list[tuple[str, str | None]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def requests_to(self, path: str) -> list[str | None]:
        """The Range header of each request made to ``path`` (None when absent)."""
        return [rng for p, rng in self.log if p == path]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        scripted = self.server.scripted
        scripted.log.append((self.path, self.headers.get("Range")))
        actions = scripted.routes.get(self.path)
        if not actions:
            self.send_error(404)
            return
        action = actions.pop(0) if len(actions) > 1 else actions[0]
        kind, *args = action
        if kind == "status":
            self.send_error(args[0])
        elif kind == "silent":  # never answers: the client's timeout must fire in urlopen
            scripted.release.wait(10)
        elif kind == "stall":
            self._send_body(args[0], honour_range=False, limit=1)
            scripted.release.wait(10)
        else:
            self._send_body(args[0], honour_range=kind != "ignore_range",
                            limit=args[1] if kind == "truncate" else None)

    def _send_body(self, data: bytes, *, honour_range: bool, limit: int | None) -> None:
        m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        start = int(m.group(1)) if (m and honour_range) else 0
        if m and honour_range:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body if limit is None else body[:limit])
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    scripted: ScriptedServer


@pytest.fixture
def http_server() -> Iterator[ScriptedServer]:
    server = _Server(("127.0.0.1", 0), _Handler)
    host, port = server.server_address[:2]
    server.scripted = ScriptedServer(url=f"http://{host}:{port}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server.scripted
    finally:
        server.scripted.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
