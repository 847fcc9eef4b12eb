"""``tatamu predict`` on drawn digits: top 3, "unsure", ``--show``, ``--skip``, an empty canvas."""

from __future__ import annotations

import re

import numpy as np
import pytest
from cli_runner import run_cli
from drawings import draw
from PIL import Image

import tatamu
from tatamu.digits.recognise import UNSURE_BELOW, recognise


@pytest.fixture(scope="module")
def drawn_seven(mnist_test_set, tmp_path_factory):
    x, y = mnist_test_set
    assert y[0] == 7
    path = tmp_path_factory.mktemp("drawn") / "seven.png"
    draw(x[0, 0], "transparent canvas PNG", np.random.default_rng(0)).save(path)
    return path


def test_top_three_with_probabilities_and_the_steps(digit_checkpoint, drawn_seven):
    status, out, err = run_cli("predict", digit_checkpoint, drawn_seven)
    assert status == 0, err
    first, steps = out.splitlines()
    found = re.findall(r"(\d) \((\d+\.\d)%\)", first)
    assert len(found) == 3 and found[0][0] == "7" and "unsure" not in first
    percents = [float(p) for _, p in found]
    assert percents == sorted(percents, reverse=True)
    assert "transparent background laid over a plain one" in steps and "cropped" in steps


def test_show_writes_a_picture_of_every_step(digit_checkpoint, drawn_seven, tmp_path):
    show = tmp_path / "steps.png"
    status, out, err = run_cli("predict", digit_checkpoint, drawn_seven, drawn_seven,
                               "--show", show)
    assert status == 0, err
    assert show.is_file() and (tmp_path / "steps-2.png").is_file()
    with Image.open(show) as img:
        assert img.width > 1000 and img.height > 300  # six panels side by side
    assert f"picture of the steps: {show}" in out


def test_unsure_when_the_best_probability_is_low(tmp_path, drawn_seven):
    model = tatamu.models.simple_convnet((1, 28, 28), rng=0)
    for value in model.params().values():
        value[...] = 0  # every class equally likely: 10%
    path = tatamu.save(model, tmp_path / "flat.npz", metadata={"dataset": "mnist"})
    rec = recognise(model, {"dataset": "mnist"}, drawn_seven)
    assert rec.unsure and rec.top[0][2] < UNSURE_BELOW
    status, out, _ = run_cli("predict", path, drawn_seven)
    assert status == 0 and out.startswith(f"{drawn_seven}: unsure: ")


def test_skip_all_is_the_old_whole_canvas_resize(digit_checkpoint, drawn_seven):
    status, out, err = run_cli("predict", digit_checkpoint, drawn_seven, "--skip", "all")
    assert status == 0, err
    assert out.splitlines()[1].strip() == "transparency ignored; resized 400x300 to 28x28"
    status, _, err = run_cli("predict", digit_checkpoint, drawn_seven, "--skip", "blur")
    assert status == 2 and "unknown preprocessing step 'blur'" in err


def test_an_empty_canvas_is_one_line_exit_2(digit_checkpoint, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("RGBA", (280, 280), (0, 0, 0, 0)).save(blank)
    status, out, err = run_cli("predict", digit_checkpoint, blank)
    assert status == 2 and len(err.splitlines()) == 1
    assert f"{blank} has no ink" in err
