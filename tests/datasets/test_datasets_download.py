"""Downloads against a scripted HTTP server on 127.0.0.1: retries, resume, hashes, timeouts.

Each test states what the server answers, request by request, and checks three things: the
result (file or DownloadError naming every mirror and its answer), the requests made (Range
headers), and that the folder ends holding only verified files (no ``.part``, no bad bytes).
"""

from __future__ import annotations

import gzip
import hashlib
import socket
import time
from pathlib import Path

import numpy as np
import pytest

from tatamu.datasets import download_files, encode_idx, load_fashion_mnist
from tatamu.datasets.download import download_file
from tatamu.errors import DownloadError

PAYLOAD = encode_idx(np.arange(3000, dtype=np.uint8) % 251)
GZ = gzip.compress(PAYLOAD, mtime=0)
NAME = "train-labels-idx1-ubyte.gz"
SHA = hashlib.sha256(PAYLOAD).hexdigest()  # of the *uncompressed* bytes
FAST = {"timeout": 0.5, "retries": 2, "backoff": 0.01}


def get(server, dest: Path, mirrors=None, **kw) -> Path:
    opts = {**FAST, **kw}
    return download_file(NAME, SHA, dest, mirrors or [server.url + "/m"], **opts)


def only_verified(dest: Path) -> list[str]:
    names = sorted(p.name for p in dest.iterdir())
    for name in names:
        assert not name.endswith(".part"), names
        assert gzip.decompress((dest / name).read_bytes()) == PAYLOAD
    return names


def test_good_file(http_server, tmp_path: Path) -> None:
    http_server.routes["/m/" + NAME] = [("ok", GZ)]
    progress = []
    path = get(http_server, tmp_path, progress=lambda *a: progress.append(a))
    assert path == tmp_path / NAME and only_verified(tmp_path) == [NAME]
    assert progress[-1] == (NAME, len(GZ), len(GZ))
    assert http_server.requests_to("/m/" + NAME) == [None]


def test_truncated_then_resumed_with_range(http_server, tmp_path: Path) -> None:
    http_server.routes["/m/" + NAME] = [("truncate", GZ, 100), ("ok", GZ)]
    get(http_server, tmp_path)
    assert only_verified(tmp_path) == [NAME]
    assert http_server.requests_to("/m/" + NAME) == [None, "bytes=100-"]


def test_server_ignoring_range_starts_over(http_server, tmp_path: Path) -> None:
    http_server.routes["/m/" + NAME] = [("truncate", GZ, 100), ("ignore_range", GZ)]
    get(http_server, tmp_path)
    assert only_verified(tmp_path) == [NAME]  # 200 replaced the .part, not appended to it
    assert http_server.requests_to("/m/" + NAME) == [None, "bytes=100-"]


def test_stale_part_from_another_file_is_discarded(http_server, tmp_path: Path) -> None:
    (tmp_path / (NAME + ".part")).write_bytes(b"bytes of some other file")
    http_server.routes["/m/" + NAME] = [("ok", GZ)]
    get(http_server, tmp_path)
    assert only_verified(tmp_path) == [NAME]
    assert http_server.requests_to("/m/" + NAME) == ["bytes=24-", None]


def test_wrong_hash_is_deleted_and_reported(http_server, tmp_path: Path) -> None:
    http_server.routes["/m/" + NAME] = [("ok", gzip.compress(PAYLOAD[:-1] + b"\x07"))]
    with pytest.raises(DownloadError, match=r"/m/train-labels-idx1-ubyte.gz: wrong sha256"):
        get(http_server, tmp_path)
    assert only_verified(tmp_path) == []
    assert len(http_server.requests_to("/m/" + NAME)) == 1  # same bytes again would not help


def test_html_page_instead_of_file(http_server, tmp_path: Path) -> None:
    http_server.routes["/m/" + NAME] = [("ok", b"<html>moved</html>")]
    with pytest.raises(DownloadError, match="wrong sha256"):
        get(http_server, tmp_path)
    assert only_verified(tmp_path) == []


def test_every_mirror_and_answer_is_named(http_server, tmp_path: Path) -> None:
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    mirrors = [http_server.url + f"/{m}" for m in ("forbidden", "missing", "broken")] + [dead]
    http_server.routes["/forbidden/" + NAME] = [("status", 403)]
    http_server.routes["/broken/" + NAME] = [("status", 500)]
    with pytest.raises(DownloadError) as info:
        get(http_server, tmp_path, mirrors)
    msg = str(info.value)
    for mirror, answer in zip(mirrors, ("HTTP 403", "HTTP 404", "HTTP 500", "connection failed"),
                              strict=True):
        assert f"{mirror}/{NAME}: {answer}" in msg
    assert "HTTP 500 Internal Server Error (x3)" in msg  # 1 + retries=2; not 403 or 404
    assert len(http_server.requests_to("/forbidden/" + NAME)) == 1
    assert len(http_server.requests_to("/broken/" + NAME)) == 3
    assert only_verified(tmp_path) == []


def test_stalled_server_times_out(http_server, tmp_path: Path) -> None:
    http_server.routes["/m/" + NAME] = [("stall", GZ)]
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"timed out \(no data for 0.2 s\)"):
        get(http_server, tmp_path, timeout=0.2, retries=1)
    assert time.monotonic() - start < 3
    assert only_verified(tmp_path) == []  # the 1-byte .part is gone too


def test_silent_server_times_out_then_next_mirror(http_server, tmp_path: Path) -> None:
    http_server.routes["/quiet/" + NAME] = [("silent",)]
    http_server.routes["/m/" + NAME] = [("ok", GZ)]
    start = time.monotonic()
    get(http_server, tmp_path, [http_server.url + "/quiet", http_server.url + "/m"],
        timeout=0.2, retries=0)
    assert time.monotonic() - start < 3
    assert only_verified(tmp_path) == [NAME]


def test_cut_gzip_served_as_complete(http_server, tmp_path: Path) -> None:
    http_server.routes["/m/" + NAME] = [("ok", GZ[:-20])]  # Content-Length agrees: no resume
    with pytest.raises(DownloadError, match=r"/m/train-labels-idx1-ubyte.gz: corrupt data \("):
        get(http_server, tmp_path, retries=0)
    assert only_verified(tmp_path) == []


def test_bad_mirror_url_and_single_string(http_server, tmp_path: Path) -> None:
    http_server.routes["/m/" + NAME] = [("ok", GZ)]
    with pytest.raises(DownloadError, match="invalid URL"):
        get(http_server, tmp_path, ["nonsense-without-scheme"])
    get(http_server, tmp_path, http_server.url + "/m")  # a lone string is one mirror
    assert only_verified(tmp_path) == [NAME]


def test_second_mirror_after_first_fails(http_server, tmp_path: Path) -> None:
    http_server.routes["/a/" + NAME] = [("status", 404)]
    http_server.routes["/b/" + NAME] = [("ok", GZ)]
    get(http_server, tmp_path, [http_server.url + "/a/", http_server.url + "/b"])
    assert only_verified(tmp_path) == [NAME]


def test_retry_after_500_then_success(http_server, tmp_path: Path) -> None:
    http_server.routes["/m/" + NAME] = [("status", 503), ("ok", GZ)]
    get(http_server, tmp_path)
    assert only_verified(tmp_path) == [NAME]


def test_download_files_skips_present_and_refuses_package(http_server, tmp_path: Path) -> None:
    (tmp_path / NAME).write_bytes(GZ)
    assert download_files([(NAME, SHA)], tmp_path, [http_server.url]) == [tmp_path / NAME]
    assert http_server.log == []
    from tatamu.datasets.cache import PACKAGE_DIR

    with pytest.raises(DownloadError, match="package folder"):
        download_files([(NAME, SHA)], PACKAGE_DIR / "datasets" / "files", [http_server.url])


def test_load_fashion_mnist_downloads_into_cache(tiny_fashion, http_server,
                                                 tmp_path: Path) -> None:
    for name, data in tiny_fashion.items():
        http_server.routes[f"/fm/{name}.gz"] = [("ok", gzip.compress(data, mtime=0))]
    kw = {"mirrors": [http_server.url + "/fm"], **FAST}
    (x_train, y_train), (x_test, _) = load_fashion_mnist(download=True, **kw)
    assert x_train.shape == (6, 1, 28, 28) and x_test.shape == (3, 1, 28, 28)
    cached = tmp_path / "cache" / "fashion-mnist"  # $TATAMU_CACHE set by the fixture
    assert sorted(p.name for p in cached.iterdir()) == sorted(n + ".gz" for n in tiny_fashion)
    requests = len(http_server.log)
    load_fashion_mnist(download=True, **kw)  # found in the cache now: no new requests
    assert len(http_server.log) == requests == 4


def test_the_user_agent_names_tatamu_and_its_version_only():
    # no invented address: tatamu has no web page of its own
    from tatamu import __version__
    from tatamu.datasets.download import USER_AGENT

    assert USER_AGENT == f"tatamu/{__version__}"
