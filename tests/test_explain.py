"""``tatamu explain`` and ``tatamu.explain``: the seeds' worked numbers, told back to a learner.

The expected numbers are the seeds' own: the 4x4 ⊛ 3x3 example (入力データ (4, 4) ⊛ フィルター
(3, 3) → 15 16 / 6 15), the output sizes OH = (H + 2P - FH) / S + 1 for (4, 4) P1 S1, (7, 7) P0
S2 and (28, 31) P2 S3 F5, the im2col matrix of ``np.arange(64).reshape(1, 1, 8, 8)`` with a
4x4 filter and stride 2, and the book's max-pooling figure. Random cases are checked against
the naive loops of ``tests/reference.py``, never against tatamu itself.
"""

from __future__ import annotations

import importlib
import re

import numpy as np
import pytest
import tatamu.explain as explain
from cli_runner import run_cli
from PIL import Image
from reference import avgpool2d_ref, conv2d_ref, maxpool2d_ref
from seed_figures import ARANGE64_COL

from tatamu.errors import ConfigError

# The seed's printout of im2col on arange(64) (8x8), 4x4 filter, stride 2: 9 windows x 16.
SEED_COL = np.array(ARANGE64_COL)



def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tatamu: error: ")
    assert "Traceback" not in err
    return lines[0]


def grid_rows(text: str, after: str, rows: int) -> list[list[float]]:
    """The ``rows`` lines of numbers printed after the line starting with ``after``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(after))
    return [[float(v) for v in line.split()] for line in lines[start + 1 : start + 1 + rows]]


# -- convolution ---------------------------------------------------------------------------------
def test_conv_default_is_the_seeds_example():
    status, out, err = run_cli("explain", "conv")
    assert status == 0 and err == ""
    assert grid_rows(out, "Step 3.", 2) == [[15, 16], [6, 15]]
    # every window's multiply-add with the actual numbers
    assert "1*2 + 2*0 + 3*1 + 0*0 + 1*1 + 2*2 + 3*1 + 0*0 + 1*2 = 15" in out
    assert "2*2 + 3*0 + 0*1 + 1*0 + 2*1 + 3*2 + 0*1 + 1*0 + 2*2 = 16" in out
    assert "OH = (H + 2P - FH) / S + 1 = (4 + 2*0 - 3) / 1 + 1 = 1 / 1 + 1 = 2" in out
    assert out.count("out[") == 4


def test_conv_window_is_framed_in_the_input():
    walk = explain.explain_conv()
    text = str(walk)
    block = text[text.index("out[0, 1]"):text.index("out[1, 0]")]
    assert "  1 [2  3  0]" in block  # the window sits at columns 1-3 of row 0
    assert "  2  3  0  1" in block  # the last row is outside the window


@pytest.mark.parametrize(("size", "kernel", "padding", "stride", "expected"), [
    ("4x4", "3x3", "1", "1", (4, 4)),  # the seeds: (4,4) P1 S1 -> 4
    ("7x7", "3x3", "0", "2", (3, 3)),  # the seeds: (7,7) P0 S2 -> 3
    ("28x31", "5x5", "2", "3", (10, 11)),  # the seeds: (28,31) P2 S3 F5 -> (10, 11)
])
def test_conv_output_sizes_of_the_seeds(size, kernel, padding, stride, expected):
    status, out, _ = run_cli("explain", "conv", "--input", size, "--kernel", kernel,
                             "--padding", padding, "--stride", stride, "--max-windows", "1")
    assert status == 0
    assert re.search(rf"OH = .* = {expected[0]}$", out, re.M)
    assert re.search(rf"OW = .* = {expected[1]}$", out, re.M)
    assert f"The output ({expected[0]}x{expected[1]})" in out


def test_conv_seven_by_seven_stride_two_works_the_formula():
    _, out, _ = run_cli("explain", "conv", "--input", "7x7", "--kernel", "3x3", "--stride", "2")
    assert "OH = (H + 2P - FH) / S + 1 = (7 + 2*0 - 3) / 2 + 1 = 4 / 2 + 1 = 3" in out


def test_conv_padding_shows_the_zero_border():
    walk = explain.explain_conv(padding=1)
    np.testing.assert_array_equal(walk.output, [[7, 12, 10, 2], [4, 15, 16, 10],
                                                [10, 6, 15, 6], [8, 10, 4, 3]])
    assert walk.padded.shape == (6, 6) and walk.is_pad.sum() == 36 - 16
    assert "out[0, 0]" in str(walk) and "[.  .  .]" in str(walk)


def test_conv_user_values_bias_and_filter():
    status, out, _ = run_cli("explain", "conv", "--input", "3x3", "--kernel", "2x2",
                             "--values", "1,2,3;4,5,6;7,8,9", "--filter-values", "1 0 0 1",
                             "--bias", "0.5")
    assert status == 0
    assert "1*1 + 2*0 + 4*0 + 5*1 + 0.5 = 6.5" in out
    assert grid_rows(out, "Step 3.", 2) == [[6.5, 8.5], [12.5, 14.5]]


@pytest.mark.parametrize(("h", "w", "k", "s", "p"), [
    (5, 5, 3, 1, 0), (6, 5, 2, 1, 1), (7, 7, 3, 2, 1), (5, 8, (2, 3), 1, 0), (9, 9, 3, 3, 0)])
def test_conv_matches_the_naive_loops(rng, h, w, k, s, p):
    x = rng.integers(-5, 6, size=(h, w)).astype(np.float64)
    kh, kw = (k, k) if isinstance(k, int) else k
    f = rng.integers(-2, 3, size=(kh, kw)).astype(np.float64)
    walk = explain.explain_conv((h, w), (kh, kw), s, p, values=x, weights=f, bias=1.0)
    expected = conv2d_ref(x[None, None], f[None, None], np.array([1.0]), s, p)[0, 0]
    np.testing.assert_array_equal(walk.output, expected)
    for win in walk.windows:  # each window's numbers are the padded input under it
        np.testing.assert_array_equal(win.values, walk.padded[win.top : win.top + kh,
                                                               win.left : win.left + kw])


def test_conv_numbers_come_from_tatamus_own_functions(monkeypatch):
    calls = []
    # the module, not the function tatamu.im2col (the package face re-exports the function)
    im2col_module = importlib.import_module("tatamu.im2col")
    real = im2col_module.conv_output_size  # the one formula, read through the layer's window
    monkeypatch.setattr(im2col_module, "conv_output_size", lambda *a, **k: calls.append(a) or real(
        *a, **k))
    real_im2col = explain.im2col
    monkeypatch.setattr(explain, "im2col", lambda *a, **k: calls.append("im2col") or real_im2col(
        *a, **k))
    explain.explain_conv()
    assert "im2col" in calls and len(calls) >= 3


# -- refusals ----------------------------------------------------------------------------------
def test_non_dividing_size_is_refused_with_the_fix():
    status, out, err = run_cli("explain", "conv", "--input", "4x4", "--kernel", "3x3",
                               "--stride", "2")
    assert status == 2
    line = one_error_line(err)
    assert "does not divide" in line and "1.5" in line and "--rounding floor" in line
    assert "OH = (H + 2P - FH) / S + 1 = (4 + 2*0 - 3) / 2 + 1 = 1 / 2 + 1 = 1.5" in out
    assert "not a whole number" in out


def test_non_dividing_size_suggests_a_padding_when_one_exists():
    status, _, err = run_cli("explain", "conv", "--input", "8x8", "--kernel", "3x3",
                             "--stride", "3")
    assert status == 2
    assert "--padding 2" in one_error_line(err)  # (8 + 2*2 - 3) / 3 + 1 = 4


def test_rounding_floor_on_request():
    status, out, _ = run_cli("explain", "conv", "--input", "4x4", "--kernel", "3x3",
                             "--stride", "2", "--rounding", "floor")
    assert status == 0
    assert grid_rows(out, "Step 3.", 1) == [[15]]


@pytest.mark.parametrize("argv", [
    ("explain", "conv", "--input", "4by4"),
    ("explain", "conv", "--kernel", "3x"),
    ("explain", "conv", "--input", "2x2"),  # the filter does not fit
    ("explain", "conv", "--values", "1,2,3"),  # 16 numbers needed
    ("explain", "conv", "--values", "1,a"),
    ("explain", "pool", "--padding", "2"),  # more than half the window
    ("explain", "im2col", "--input", "0x4"),
])
def test_user_errors_are_one_line(argv):
    status, _, err = run_cli(*argv)
    assert status == 2
    one_error_line(err)


def test_parse_size_forms():
    assert explain.parse_size("4x4") == (4, 4)
    assert explain.parse_size(" 28 x 31 ") == (28, 31)
    assert explain.parse_size("5") == (5, 5)
    assert explain.parse_size(3) == (3, 3)
    with pytest.raises(ConfigError, match="like 4x4"):
        explain.parse_size("4by4")


# -- pooling ---------------------------------------------------------------------------------
def test_pool_default_is_the_books_figure():
    status, out, _ = run_cli("explain", "pool")
    assert status == 0
    assert "max(1, 2, 0, 1) = 2" in out and "max(3, 0, 2, 4) = 4" in out
    assert grid_rows(out, "Step 3.", 2) == [[2, 3], [4, 2]]


def test_pool_average_and_padding_match_the_naive_loops(rng):
    x = rng.integers(0, 9, size=(5, 5)).astype(np.float64)
    walk = explain.explain_pool((5, 5), 3, 2, 1, values=x)
    np.testing.assert_array_equal(walk.output, maxpool2d_ref(x[None, None], 3, 2, 1)[0, 0])
    assert "." in str(walk)  # padding is shown, never the max
    walk = explain.explain_pool((4, 4), 2, values=x[:4, :4], mode="avg")
    np.testing.assert_allclose(walk.output, avgpool2d_ref(x[None, None, :4, :4], 2)[0, 0])
    assert ") / 4 = " in str(walk)


# -- im2col ------------------------------------------------------------------------------------
def test_im2col_default_is_the_seeds_matrix():
    status, out, _ = run_cli("explain", "im2col")
    assert status == 0
    assert "shape (9, 16)" in out
    rows = [line.split(":", 1)[1].split() for line in out.splitlines()
            if line.startswith("  row ")]
    np.testing.assert_array_equal(np.array(rows, dtype=float), SEED_COL)
    np.testing.assert_array_equal(explain.explain_im2col().output, SEED_COL)
    assert "9 rows" in out and "16 columns" in out


def test_im2col_batched_and_multichannel():
    walk = explain.explain_im2col((4, 4), 2, 2, channels=2, batch=2)
    assert walk.output.shape == (2 * 2 * 2, 2 * 2 * 2)  # (N*OH*OW, C*FH*FW)
    # row 4 is image 1's first window: channel 0 then channel 1 of x[1]
    np.testing.assert_array_equal(walk.output[4], [32, 33, 36, 37, 48, 49, 52, 53])
    assert "image 1" in str(walk)


# -- pictures ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("topic", "size"), [("conv", (664, 442)), ("pool", (664, 442)),
                                              ("im2col", (936, 692))])
def test_png_draws_the_sliding_window(tmp_path, monkeypatch, topic, size):
    monkeypatch.chdir(tmp_path)
    status, out, _ = run_cli("explain", topic, "--png")
    assert status == 0
    path = tmp_path / out.splitlines()[-1]
    assert path.name == f"explain-{topic}.png"
    with Image.open(path) as img:
        img.verify()
    with Image.open(path) as img:
        assert img.size == size
