"""The drawing page over time (issue 24, item 5): ``tatamu draw RUN`` answers for any epoch the
run saved (``"epoch": k``, default the last; ``GET /api/epochs``), and two runs side by side.

Every expected answer is the library's own, computed here from the epoch's checkpoint."""

from __future__ import annotations

import base64
import io
import json
import threading
import urllib.request

import numpy as np
import pytest
from cli_runner import run_cli
from drawings import draw
from test_draw_server import post

from tatamu.checkpoint import store as ckpt
from tatamu.digits.draw import DrawApp, make_server, serve
from tatamu.digits.draw.app import RequestError
from tatamu.digits.recognise import recognise
from tatamu.errors import DataError
from tatamu.training import run


@pytest.fixture(scope="module")
def url(epoch_run, other_run):
    srv = make_server(DrawApp(epoch_run, other_run), "127.0.0.1", 0)
    thread = threading.Thread(target=serve, args=(srv,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def drawing(mnist_test_set):
    x, _ = mnist_test_set
    out = io.BytesIO()
    draw(x[0, 0], "transparent canvas PNG", np.random.default_rng(0)).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def ask(url, **body):
    return post(url + "/api/predict", json.dumps(body).encode())


def test_the_epochs_a_run_offers(url, epoch_run):
    with urllib.request.urlopen(url + "/api/epochs", timeout=10) as answer:
        epochs = json.loads(answer.read())
    assert epochs["epochs"] == [0, 1, 2] and epochs["default"] == 2
    history = json.loads((epoch_run / run.HISTORY).read_text())
    main, other = epochs["runs"]
    assert main["name"] == "RUN" and main["val_accuracy"] == [None, *history["val_accuracy"]]
    assert main["test_accuracy"] == [None, None, history["test_accuracy"][-1]]
    assert other["name"] == "seed1" and other["epochs"] == [0, 1]


@pytest.mark.parametrize("epoch", [0, 1, 2])
def test_each_epoch_answers_as_its_checkpoint_does(url, epoch_run, drawing, epoch):
    status, answer = ask(url, image=drawing, epoch=epoch)
    assert status == 200 and (answer["run"], answer["epoch"]) == (0, epoch)
    saved = ckpt.read(epoch_run / run.epoch_file(epoch))
    png = base64.b64decode(drawing.split(",", 1)[1])
    expected = recognise(saved.model.eval(), saved.meta, png)
    np.testing.assert_allclose(answer["probabilities"], expected.probabilities, atol=1e-5)
    filters = np.array(answer["filters"]["data"])
    np.testing.assert_allclose(filters, saved.model.layers["conv1"].W.mean(axis=1), atol=1e-4)


def test_the_default_is_the_last_epoch_and_epochs_differ(url, drawing):
    _, last = ask(url, image=drawing)
    _, two = ask(url, image=drawing, epoch=2)
    _, one = ask(url, image=drawing, epoch=1)
    assert last["epoch"] == 2 and last["probabilities"] == two["probabilities"]
    assert one["probabilities"] != two["probabilities"]
    assert one["filters"]["data"] != two["filters"]["data"]


@pytest.mark.parametrize(("body", "phrase"), [
    ({"epoch": 7}, '"epoch" 7 is not an epoch RUN saved; it has epochs 0-2'),
    ({"epoch": "1"}, "is not an epoch"), ({"epoch": True}, "is not an epoch"),
    ({"run": 2}, '"run" must be a whole number from 0 to 1'),
    ({"run": 1, "epoch": 2}, "it has epochs 0-1")])
def test_an_unknown_epoch_or_run_is_a_400_in_one_line(url, drawing, body, phrase):
    status, answer = ask(url, image=drawing, **body)
    assert status == 400 and set(answer) == {"error"} and "\n" not in answer["error"]
    assert phrase in answer["error"]


def test_the_second_run_answers_beside_the_first(url, other_run, drawing):
    status, answer = ask(url, image=drawing, run=1)
    assert status == 200 and (answer["run"], answer["epoch"]) == (1, 1)
    saved = ckpt.read(other_run / run.epoch_file(1))
    png = base64.b64decode(drawing.split(",", 1)[1])
    np.testing.assert_allclose(answer["probabilities"],
                               recognise(saved.model.eval(), saved.meta, png).probabilities,
                               atol=1e-5)
    status, explained = post(url + "/api/explain", json.dumps(
        {"image": drawing, "run": 1, "epoch": 0, "channel": 0, "row": 3, "col": 4}).encode())
    assert status == 200 and explained["layer"] == "conv1"


def test_a_checkpoint_has_no_epochs(epoch_run, drawing):
    app = DrawApp(epoch_run / run.LAST)
    assert app.epochs()["epochs"] == [] and app.epochs()["default"] is None
    answer = app.predict({"image": drawing})
    assert answer["epoch"] is None
    with pytest.raises(RequestError, match="RUN/last.npz is one checkpoint"):
        app.predict({"image": drawing, "epoch": 1})


def test_the_command_takes_runs_and_refuses_too_many(epoch_run, tmp_path):
    status, _, err = run_cli("draw", *[epoch_run] * 5)
    assert status == 2 and "at most 4" in err and len(err.splitlines()) == 1
    mnist1d = tmp_path / "signals"
    status, _, err = run_cli("train", "--dataset", "mnist1d", "--limit", "200", "--epochs", "1",
                             "--quiet", "--out", mnist1d)
    assert status == 0, err
    with pytest.raises(DataError, match="not images"):
        DrawApp(epoch_run, mnist1d)  # 1-D signals: not pictures, never side by side
