"""``tatamu draw``'s server, spoken to through urllib and raw sockets on 127.0.0.1.

The interface checked here is the one outside checks use: ``GET /`` the page, ``POST
/api/predict`` with ``{"image": "data:image/png;base64,..."}`` answering prediction,
probabilities, input (28 lists of 28 floats in [0, 1]) and steps; every bad request a 4xx with
``{"error": "one line"}``, after which the server still answers.
"""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from drawings import draw
from photos import CONDITIONS, photograph

from tatamu.cli import app as cli
from tatamu.digits.draw import DrawApp, make_server, serve
from tatamu.digits.draw import server as server_module
from tatamu.digits.recognise import recognise
from tatamu.errors import ConfigError


@pytest.fixture(scope="module")
def server(digit_checkpoint):
    """A running server on a free port: (base URL, server)."""
    srv = make_server(DrawApp(digit_checkpoint), "127.0.0.1", 0)
    thread = threading.Thread(target=serve, args=(srv,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", srv
    srv.shutdown()
    thread.join(5)


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


@pytest.fixture(scope="module")
def canvas_png(mnist_test_set):
    """A transparent canvas PNG of a drawn test digit, and its label."""
    x, y = mnist_test_set
    out = io.BytesIO()
    draw(x[0, 0], "transparent canvas PNG", np.random.default_rng(0)).save(out, format="PNG")
    return out.getvalue(), int(y[0])


def post(url: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, body, {"Content-Type": "application/json",
                                                 **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        assert exc.headers["Content-Type"] == "application/json"
        return exc.code, json.loads(exc.read())


def test_the_page_is_one_offline_html_file(server):
    url, _ = server
    with urllib.request.urlopen(url + "/", timeout=10) as answer:
        page = answer.read().decode()
        assert answer.headers["Content-Type"].startswith("text/html")
        assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    assert "<script>" in page and "<style>" in page
    assert "http://" not in page and "https://" not in page  # no CDN, nothing fetched


def test_a_good_drawing_is_predicted_as_the_library_does(server, canvas_png, digit_model):
    url, _ = server
    png, label = canvas_png
    status, answer = post(url + "/api/predict", json.dumps({"image": data_url(png)}).encode())
    assert status == 200
    assert answer["prediction"] == label and isinstance(answer["prediction"], int)
    probs = np.array(answer["probabilities"])
    assert probs.shape == (10,) and abs(probs.sum() - 1) < 1e-4
    grid = np.array(answer["input"])
    assert grid.shape == (28, 28) and grid.min() >= 0 and grid.max() <= 1
    assert answer["steps"][0] == "composite_alpha" and "centre_by_mass" in answer["steps"]
    expected = recognise(digit_model, {"dataset": "mnist"}, png)
    np.testing.assert_allclose(grid, expected.prepared.image[0], atol=1e-4)
    np.testing.assert_allclose(probs, expected.probabilities, atol=1e-5)
    assert [m["layer"] for m in answer["maps"]] == ["conv1", "pool1"]


def test_switching_steps_off(server, canvas_png):
    url, _ = server
    body = {"image": data_url(canvas_png[0]), "skip": ["crop_to_ink", "centre_by_mass"]}
    status, answer = post(url + "/api/predict", json.dumps(body).encode())
    assert status == 200
    assert "crop_to_ink" not in answer["steps"] and "centre_by_mass" not in answer["steps"]


def test_hovering_conv1_explains_its_multiply_add(server, canvas_png, digit_model):
    url, _ = server
    body = {"image": data_url(canvas_png[0]), "channel": 2, "row": 11, "col": 9}
    status, answer = post(url + "/api/explain", json.dumps(body).encode())
    assert status == 200
    text = answer["text"]
    assert text.startswith("conv1[2] out[11, 9]: the window at rows 11-15, columns 9-13")
    assert text.count("*") == 25  # 5x5 window x filter, every product written out
    x = recognise(digit_model, {"dataset": "mnist"}, canvas_png[0]).prepared.image
    conv = digit_model.layers["conv1"]
    by_hand = float((x[0, 11:16, 9:14] * conv.W[2, 0]).sum() + conv.b[2])
    assert answer["value"] == pytest.approx(by_hand, abs=1e-4)
    assert answer["window"] == {"top": 11, "left": 9, "height": 5, "width": 5}


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


BAD = {
    "decompression bomb": (json.dumps({"image": data_url(png_claiming(30000, 30000))}).encode(),
                           {}, 422, "too large a picture"),
    "bad base64": (json.dumps({"image": "data:image/png;base64,@@@notbase64"}).encode(), {},
                   400, "data URL"),
    "bad base64 padding": (json.dumps({"image": "data:image/png;base64,abc"}).encode(), {},
                           400, "base64"),
    "not an image": (json.dumps({"image": data_url(b"hello, not a picture")}).encode(), {},
                     422, "not an image"),
    "empty canvas": (json.dumps({"image": data_url(b"")}).encode(), {}, 422, "not an image"),
    "not json": (b"{image: nope", {}, 400, "not JSON"),
    "no image key": (b'{"picture": 1}', {}, 400, "expected a JSON object"),
    "a list": (b"[1, 2]", {}, 400, "expected a JSON object"),
    "wrong content type": (b"{}", {"Content-Type": "text/plain"}, 415, "application/json"),
    "form post": (b"image=x", {"Content-Type": "application/x-www-form-urlencoded"}, 415,
                  "application/json"),
    "wrong host": (b"{}", {"Host": "attacker.example:80"}, 421, "Host"),
    "rebound name": (b"{}", {"Host": "evil.example.com:{port}"}, 421, "Host"),
    "bad skip": (json.dumps({"image": data_url(b"x"), "skip": ["blur"]}).encode(), {}, 400,
                 "skip"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_requests_get_a_4xx_one_line_and_the_server_keeps_serving(server, canvas_png, case):
    url, srv = server
    body, headers, status, phrase = BAD[case]
    headers = {k: v.format(port=srv.server_address[1]) for k, v in headers.items()}
    got, answer = post(url + "/api/predict", body, headers)
    assert got == status and set(answer) == {"error"}
    assert phrase in answer["error"] and "\n" not in answer["error"]
    good = json.dumps({"image": data_url(canvas_png[0])}).encode()
    assert post(url + "/api/predict", good)[0] == 200


def test_empty_canvas_says_draw_something(server):
    url, _ = server
    blank = io.BytesIO()
    from PIL import Image

    Image.new("RGBA", (280, 280), (0, 0, 0, 0)).save(blank, format="PNG")
    status, answer = post(url + "/api/predict",
                          json.dumps({"image": data_url(blank.getvalue())}).encode())
    assert status == 422 and "no ink" in answer["error"]


def test_a_photo_is_prepared_as_a_drawing_is_and_named_in_errors(server, mnist_test_set):
    """The page sends a photo as a JPEG data URL with its file name (issue 27)."""
    url, _ = server
    x, y = mnist_test_set
    rng = np.random.default_rng(8)
    light = CONDITIONS["a shadow edge across the sheet (60% light)"]
    photo = "data:image/jpeg;base64," + base64.b64encode(photograph(x[0, 0], light, rng)).decode()
    status, answer = post(url + "/api/predict", json.dumps({"image": photo,
                                                            "name": "IMG_0001.jpg"}).encode())
    assert status == 200 and answer["prediction"] == y[0]
    assert answer["steps"][:2] == ["even_out_light", "invert_light_background"]
    assert answer["hint"] is None and answer["contrast"] > 0.3
    empty = "data:image/jpeg;base64," + base64.b64encode(photograph(None, light, rng)).decode()
    status, answer = post(url + "/api/predict", json.dumps({"image": empty,
                                                            "name": "IMG_0002.jpg"}).encode())
    assert status == 422 and answer["error"].startswith("IMG_0002.jpg has no ink: it is blank")
    status, answer = post(url + "/api/predict", json.dumps({"image": empty, "name": 3}).encode())
    assert status == 400 and '"name" must be a string' in answer["error"]


def raw(srv, request: bytes) -> bytes:
    with socket.create_connection(srv.server_address[:2], timeout=20) as s:
        s.sendall(request)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_huge_body_is_refused_unread(server):
    url, srv = server
    host = f"127.0.0.1:{srv.server_address[1]}"
    head = (f"POST /api/predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {3 * 2**20}\r\n\r\n").encode()
    answer = raw(srv, head + b"x" * 1000)  # never sends the 3 MB it announced
    assert answer.startswith(b"HTTP/1.1 413")
    assert b'"error"' in answer
    # exactly the limit is read (and then found not to be JSON): the limit is 2 MB, not less
    status, body = post(url + "/api/predict", b"x" * server_module.MAX_BODY)
    assert status == 400 and "not JSON" in body["error"]


def test_routes_are_fixed(server):
    url, srv = server
    for path in ("/../../etc/passwd", "/page.html", "/api/predict/../x", "/%2e%2e/"):
        host = f"127.0.0.1:{srv.server_address[1]}"
        answer = raw(srv, f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 404"), answer[:60]
    answer = raw(srv, b"GET / HTTP/1.1\r\n\r\n")  # no Host at all
    assert answer.startswith(b"HTTP/1.1 421")


def test_a_slow_client_is_dropped_and_others_are_served(server, canvas_png, monkeypatch):
    url, srv = server
    monkeypatch.setattr(server_module.Handler, "timeout", 0.5)
    with socket.create_connection(srv.server_address[:2], timeout=10) as s:
        s.sendall(b"POST /api/predict HTTP/1.1\r\n")  # ... and nothing more
        good = json.dumps({"image": data_url(canvas_png[0])}).encode()
        assert post(url + "/api/predict", good)[0] == 200  # served meanwhile
        start = time.monotonic()
        assert s.recv(100) == b""  # the server closed the stalled connection...
        assert time.monotonic() - start < 5  # ...after its timeout, not the client's 10 s


def test_a_busy_port_is_a_one_line_error(digit_checkpoint, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"port {port} on 127.0.0.1 is already in use"):
            make_server(DrawApp(digit_checkpoint), "127.0.0.1", port)
        status = cli.main(["draw", str(digit_checkpoint), "--port", str(port)])
    err = capsys.readouterr().err
    assert status == 2 and len(err.splitlines()) == 1 and "already in use" in err


def test_ctrl_c_stops_the_command_cleanly(digit_checkpoint, capsys, monkeypatch):
    def interrupted(self, poll_interval=0.5):
        raise KeyboardInterrupt

    monkeypatch.setattr(server_module.DrawServer, "serve_forever", interrupted)
    assert cli.main(["draw", str(digit_checkpoint), "--port", "0"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("tatamu draw: http://127.0.0.1:") and "stopped" in err


def test_another_host_only_when_asked_with_a_warning(digit_checkpoint, capsys, monkeypatch):
    monkeypatch.setattr(server_module.DrawServer, "serve_forever",
                        lambda self, poll_interval=0.5: None)
    assert cli.main(["draw", str(digit_checkpoint), "--port", "0", "--host", "0.0.0.0"]) == 0
    assert "warning: listening on 0.0.0.0" in capsys.readouterr().err
    assert cli.main(["draw", str(digit_checkpoint), "--port", "0"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_requests_at_once_each_get_their_own_answer(server, mnist_test_set):
    """Threads share one model (layers keep per-call state): the lock keeps answers apart."""
    url, _ = server
    x, y = mnist_test_set
    bodies = []
    for i in range(4):
        out = io.BytesIO()
        draw(x[i, 0], "black-on-white off-centre", np.random.default_rng(i)).save(out, "PNG")
        bodies.append(json.dumps({"image": data_url(out.getvalue())}).encode())
    alone = [post(url + "/api/predict", b)[1] for b in bodies]
    together: list = [None] * 8
    threads = [threading.Thread(target=lambda k=k: together.__setitem__(
        k, post(url + "/api/predict", bodies[k % 4])[1])) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for k, answer in enumerate(together):
        assert answer["input"] == alone[k % 4]["input"]
        assert answer["probabilities"] == alone[k % 4]["probabilities"]


def test_the_real_command_serves_until_ctrl_c(digit_checkpoint):
    """`tatamu draw` in its own process: prints its URL, serves, and SIGINT ends it with 0."""
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "tatamu", "draw", str(digit_checkpoint),
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.startswith("tatamu draw: http://127.0.0.1:"), line
        url = line.split()[2]
        with urllib.request.urlopen(url, timeout=20) as answer:
            assert answer.status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        err = proc.stderr.read()
        assert "stopped" in err and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
