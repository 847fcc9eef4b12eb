"""``tatamu predict`` on drawn and photographed digits: top 3, "unsure", ``--show``, ``--skip``,
an empty canvas, many pictures with bad ones among them, ``--json``."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from cli_runner import run_cli
from drawings import draw
from photos import CONDITIONS, photograph
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


def test_an_empty_canvas_is_one_line_exit_1(digit_checkpoint, tmp_path):
    """Exit 1: a picture could not be answered (2 is for a bad command, issue 27)."""
    blank = tmp_path / "blank.png"
    Image.new("RGBA", (280, 280), (0, 0, 0, 0)).save(blank)
    status, out, err = run_cli("predict", digit_checkpoint, blank)
    assert status == 1 and len(err.splitlines()) == 1 and out == ""
    assert f"{blank} has no ink" in err


@pytest.fixture(scope="module")
def three_pictures(mnist_test_set, tmp_path_factory):
    """a.jpg (a photographed 7 under uneven light), blank.png (an empty sheet), b.jpg (a 2)."""
    x, y = mnist_test_set
    assert (y[0], y[1]) == (7, 2)
    folder = tmp_path_factory.mktemp("three")
    rng = np.random.default_rng(3)
    light = CONDITIONS["light 0.92 -> 0.52 across the sheet"]
    (folder / "a.jpg").write_bytes(photograph(x[0, 0], light, rng))
    (folder / "blank.png").write_bytes(photograph(None, light, rng))
    (folder / "b.jpg").write_bytes(photograph(x[1, 0], light, rng))
    return [folder / name for name in ("a.jpg", "blank.png", "b.jpg")]


def test_one_bad_picture_never_hides_the_others(digit_checkpoint, three_pictures):
    a, blank, b = three_pictures
    status, out, err = run_cli("predict", digit_checkpoint, a, blank, b)
    assert status == 1
    answers = [line for line in out.splitlines() if not line.startswith("  ")]
    assert [line.split(":")[0] for line in answers] == [str(a), str(b)]
    assert answers[0].startswith(f"{a}: 7 (") and answers[1].startswith(f"{b}: 2 (")
    first, summary = err.splitlines()  # one line for the blank sheet, then the count
    assert first.startswith(f"tatamu: error: {blank} has no ink: it is blank (its marks")
    assert "write the digit with a dark pen" in first  # how to fix it
    assert summary == "tatamu: 2 of 3 pictures answered, 1 could not be (said above)"


def test_a_missing_file_among_others_is_one_line_but_a_missing_checkpoint_is_exit_2(
        digit_checkpoint, three_pictures, tmp_path):
    a = three_pictures[0]
    status, out, err = run_cli("predict", digit_checkpoint, tmp_path / "gone.png", a)
    assert status == 1 and out.startswith(f"{a}: 7 (")
    assert err.splitlines()[0] == f"tatamu: error: no image file at {tmp_path / 'gone.png'}"
    status, out, err = run_cli("predict", tmp_path / "gone.npz", a)
    assert status == 2 and out == "" and len(err.splitlines()) == 1


def test_json_is_data_on_stdout_one_object_per_picture(digit_checkpoint, three_pictures,
                                                       tmp_path):
    a, blank, b = three_pictures
    show = tmp_path / "steps.png"
    status, out, err = run_cli("predict", digit_checkpoint, a, blank, b, "--json", "--top", "2",
                               "--show", show)
    assert status == 1
    records = json.loads(out)  # stdout is JSON and nothing else
    assert [r["image"] for r in records] == [str(a), str(blank), str(b)]
    for record, digit in ((records[0], 7), (records[2], 2)):
        assert record["prediction"] == digit and record["name"] == str(digit)
        assert len(record["top"]) == 2 and record["top"][0]["class"] == digit
        probabilities = record["probabilities"]
        assert len(probabilities) == 10 and abs(sum(probabilities) - 1) < 1e-4
        assert record["top"][0]["probability"] == max(probabilities)
        assert record["steps"][0] == "even_out_light" and 0.3 < record["contrast"] <= 1
        assert record["unsure"] is False and record["hint"] is None
    assert set(records[1]) == {"image", "error"} and "has no ink" in records[1]["error"]
    assert records[0]["show"] == str(show) and records[2]["show"] == str(tmp_path / "steps-3.png")
    assert (tmp_path / "steps-3.png").is_file() and not (tmp_path / "steps-2.png").exists()
    assert "has no ink" in err and "picture of the steps" in err  # words on stderr


def test_a_faint_photo_is_answered_unsure_with_a_hint(digit_checkpoint, mnist_test_set,
                                                      tmp_path):
    x, _ = mnist_test_set
    faint = tmp_path / "faint.jpg"
    faint.write_bytes(photograph(x[0, 0], CONDITIONS["even light"], np.random.default_rng(4),
                                 ink=(0.86, 0.86, 0.87)))
    status, out, err = run_cli("predict", digit_checkpoint, faint)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"{faint}: unsure: ")
    assert lines[-1].startswith("  hint: the strokes are faint")
