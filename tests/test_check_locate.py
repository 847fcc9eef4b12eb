"""A gradient check that says where: the map of relative errors and the pattern it makes
(tatamu.learn.checker.locate), on gradients computed here with naive loops, and on planted
mistakes whose pattern is known (tests/learners/planted_conv.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tatamu.learn.checker import check_file
from tatamu.learn.checker.locate import Windows, locate

LEARNERS = Path(__file__).parent / "learners"
K, S, P = 3, 2, 1  # 7x7 input: cells in one window and in two, on the border and inside
H = W = 7


def windows_of():
    """(row, col) of each window's top-left cell, on the unpadded input (may be negative)."""
    out = (H + 2 * P - K) // S + 1
    return [(i * S - P, j * S - P) for i in range(out) for j in range(out)]


def dx_naive(weight, dout, *, overwrite=False, skip_border=False):
    """dx of a one-channel convolution, by loops: each window adds its kernel times its dout
    (or assigns it: col2im overwriting); skip_border leaves out windows over the padding."""
    dx = np.zeros((H + 2 * P, W + 2 * P))
    out = dout.shape[0]
    for (top, left), (i, j) in zip(windows_of(), np.ndindex(out, out), strict=True):
        over = top < 0 or left < 0 or top + K > H or left + K > W
        if skip_border and over:
            continue
        part = weight * dout[i, j]
        cells = (slice(top + P, top + P + K), slice(left + P, left + P + K))
        if overwrite:
            dx[cells] = part
        else:
            dx[cells] += part
    return dx[P:P + H, P:P + W][None, None]  # (1, 1, H, W)


def counts_naive():
    counts = np.zeros((H, W), int)
    for top, left in windows_of():
        for r in range(top, top + K):
            for c in range(left, left + K):
                if 0 <= r < H and 0 <= c < W:
                    counts[r, c] += 1
    return counts


@pytest.fixture
def case():
    rng = np.random.default_rng(5)
    out = (H + 2 * P - K) // S + 1
    return rng.standard_normal((K, K)), rng.uniform(1, 2, (out, out))


def test_col2im_overwriting_is_wrong_only_where_windows_overlap(case):
    weight, dout = case
    right, wrong = dx_naive(weight, dout), dx_naive(weight, dout, overwrite=True)
    found = locate("dx", wrong, right, windows=Windows((K, K), S, P))
    assert found.pattern == "overlap" and "col2im overwrites" in found.text
    bad = ~np.isclose(wrong, right)[0, 0]
    assert bad.any() and (counts_naive()[bad] >= 2).all()  # the premise, checked here


def test_windows_over_the_padding_left_out_is_wrong_only_on_the_border(case):
    weight, dout = case
    right, wrong = dx_naive(weight, dout), dx_naive(weight, dout, skip_border=True)
    found = locate("dx", wrong, right, windows=Windows((K, K), S, P))
    assert found.pattern == "border" and "padding" in found.text
    bad = ~np.isclose(wrong, right)[0, 0]
    assert bad[0].any() and not bad[H // 2, W // 2]  # the first row wrong, the middle right


def test_whole_channels_wrong_are_named():
    rng = np.random.default_rng(6)
    right = rng.standard_normal((2, 3, 5, 5))
    wrong = right.copy()
    wrong[:, 2] = 0  # the last channel never computed
    found = locate("dx", wrong, right, windows=Windows((3, 3), 1, 1))
    assert found.pattern == "channels" and "axis 1: 2" in found.text


@pytest.mark.parametrize("n", [2, 5])
def test_a_mean_over_the_batch_is_named_with_the_batch_size(n):
    right = np.random.default_rng(n).standard_normal((4, 3, 3, 3))
    found = locate("dW", right / n, right, batch=n)
    assert found.pattern == "scale" and f"batch size N = {n}" in found.text
    assert locate("dW", -right, right, batch=n).pattern == "scale"


def test_the_right_numbers_in_the_wrong_places_are_named():
    right = np.random.default_rng(7).standard_normal((4, 3, 3, 3))
    wrong = right.reshape(4, -1).T.reshape(right.shape)  # reshaped without the transpose
    assert locate("dW", wrong, right).pattern == "places"


def test_agreement_and_misshapen_arrays_have_no_pattern():
    right = np.random.default_rng(8).standard_normal((2, 2, 4, 4))
    assert locate("dx", right + 1e-12, right) is None
    assert locate("dx", right[:, :, :3], right) is None
    assert locate("dx", None, right) is None


def test_the_map_shows_where(case):
    weight, dout = case
    right, wrong = dx_naive(weight, dout), dx_naive(weight, dout, overwrite=True)
    lines = locate("dx", wrong, right, windows=Windows((K, K), S, P)).map.splitlines()
    assert lines[0].startswith("relative error of dx[0, 0]")
    rows = [line.split() for line in lines[1:]]
    assert len(rows) == H and all(len(r) == W for r in rows)
    bad = ~np.isclose(wrong, right)[0, 0]
    assert [[c != "." for c in r] for r in rows] == bad.tolist()


# -- planted mistakes, through the checker: the numerical gradient check says where ----------
PATTERNS = [  # (class, the array, words of the pattern)
    ("Col2imOverwrites", "dx", "only where windows overlap"),
    ("BorderWindowsSkipped", "dx", "only on the border"),
    ("FirstChannelOnly", "dx", "whole channels"),
    ("DWMeanOverBatch", "dW", "divided by the batch size N = 2"),
    ("DWReshapedWithoutTranspose", "dW", "right numbers in the wrong places"),
]


@pytest.mark.parametrize("cls, array, words", PATTERNS, ids=[c for c, _, _ in PATTERNS])
def test_a_planted_mistake_is_located_by_the_gradient_check(cls, array, words):
    report = check_file(f"{LEARNERS / 'planted_conv.py'}:{cls}")
    check = report["backward equals float64 numerical gradients"]
    assert check.status == "fail"
    assert words in check.diagnosis, str(report)
    assert check.mismatch.startswith(f"relative error of {array}")
