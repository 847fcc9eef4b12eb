"""Downloads that go wrong, against a scripted server on 127.0.0.1, each bounded in time.

A stalled server, a 403, a transfer cut short, a file with the wrong hash, an error page in
place of the data: the downloader must answer with one ``DownloadError`` naming the mirror and
what it answered, keep only verified bytes under the final name, and finish within seconds.
``tatamu train --download`` must turn the same failures into one line and exit status 2.
"""

from __future__ import annotations

import gzip
import hashlib
import time
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli
from robustness_helpers import one_error_line

from tatamu.datasets import encode_idx, integrity, mnist
from tatamu.datasets.download import download_file
from tatamu.errors import DownloadError

PAYLOAD = encode_idx(np.arange(4000, dtype=np.uint8) % 251)
GZ = gzip.compress(PAYLOAD, mtime=0)
SHA = hashlib.sha256(PAYLOAD).hexdigest()
NAME = "train-labels-idx1-ubyte.gz"
FAST = {"timeout": 0.3, "retries": 1, "backoff": 0.01}
BOUND = 5.0  # seconds: every test here must answer well within this


def fetch(server, dest: Path, route, **kwargs) -> tuple[Path | None, str, float]:
    """Download NAME with the server answering ``route``: (path or None, error, seconds)."""
    server.routes["/m/" + NAME] = route
    start = time.monotonic()
    try:
        path, error = download_file(NAME, SHA, dest, [server.url + "/m"], **{**FAST, **kwargs}), ""
    except DownloadError as exc:
        path, error = None, str(exc)
    elapsed = time.monotonic() - start
    assert elapsed < BOUND, f"took {elapsed:.1f} s"
    names = [p.name for p in dest.iterdir()] if dest.exists() else []
    assert names == ([NAME] if path else []), names  # only verified bytes, no .part
    return path, error, elapsed


@pytest.mark.parametrize(
    ("route", "answer"),
    [(("stall", GZ), "timed out (no data for 0.3 s)"),
     (("status", 403), "HTTP 403"),
     (("status", 404), "HTTP 404"),
     (("status", 500), "HTTP 500"),
     (("truncate", GZ, 100), "truncated: got 100 of"),
     (("ok", gzip.compress(PAYLOAD[:-1] + b"\0", mtime=0)), "wrong sha256"),
     (("ok", GZ[:-30]), "corrupt data"),
     (("ok", b"<html><body>Rate limit exceeded</body></html>"), "wrong sha256")],
    ids=["stalls", "403", "404", "500", "truncated", "wrong-hash", "cut-gzip", "html-page"],
)
def test_a_failed_download_names_the_mirror_and_its_answer(http_server, tmp_path, route, answer):
    path, error, _ = fetch(http_server, tmp_path / "cache", route)
    assert path is None
    assert f"{http_server.url}/m/{NAME}: " in error and answer in error, error


def test_a_403_is_not_retried(http_server, tmp_path):
    fetch(http_server, tmp_path / "cache", ("status", 403), retries=3)
    assert len(http_server.requests) == 1


def test_a_silent_server_times_out_within_the_bound(http_server, tmp_path):
    _, error, elapsed = fetch(http_server, tmp_path / "cache", ("stall", GZ), retries=2)
    assert "timed out" in error and "(x3)" in error
    assert elapsed < 3


@pytest.fixture
def fashion_from(monkeypatch, tmp_path, http_server):
    """Point Fashion-MNIST's mirrors at the local server and its cache at tmp."""
    monkeypatch.setattr(mnist, "FASHION_MNIST_MIRRORS", (http_server.url + "/fm",))
    monkeypatch.setattr(mnist, "DEBIAN_FASHION_MNIST_DIRS", (tmp_path / "none",))
    monkeypatch.setenv("TATAMU_CACHE", str(tmp_path / "cache"))
    integrity.forget_all()
    return http_server


@pytest.mark.parametrize("route", [("status", 403), ("ok", GZ)], ids=["403", "wrong-hash"])
def test_tatamu_train_download_failure_is_one_line_naming_the_mirror(fashion_from, tmp_path,
                                                                     route):
    for name in mnist.IDX_NAMES:
        fashion_from.routes[f"/fm/{name}.gz"] = route
    start = time.monotonic()
    status, _, err = run_cli("train", "--dataset", "fashion-mnist", "--download", "--epochs", "1",
                             "--no-progress", "--out", tmp_path / "run")
    assert time.monotonic() - start < BOUND
    assert status == 2
    line = one_error_line(err, "could not download", fashion_from.url + "/fm/")
    assert ("HTTP 403" if route[0] == "status" else "wrong sha256") in line
    assert not list((tmp_path / "cache").rglob("*.part"))


def test_tatamu_train_without_the_data_says_where_it_looked_and_how_to_fix(fashion_from,
                                                                           tmp_path):
    status, _, err = run_cli("train", "--dataset", "fashion-mnist", "--epochs", "1",
                             "--out", tmp_path / "run")
    assert status == 2
    one_error_line(err, "Fashion-MNIST not found", str(tmp_path / "cache"), "--download")
