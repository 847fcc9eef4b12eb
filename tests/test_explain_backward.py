"""``tatamu explain conv-backward | col2im | pool-backward``: the backward pass with numbers.

Every number a walkthrough prints is checked against one computed here, independently of
tatamu: central differences of the naive loops in ``tests/reference.py`` (dx, dW, db), window
counts by loops, the book's ``col2im`` typed out as printed (with its ``stride - 1`` margin),
dx rebuilt as the dilated, padded dout under ``np.rot90(W, 2)``, and PyTorch's max-pooling
gradient for ties. The defaults are the book's examples: Fig. 7-3 (4x4 ⊛ 3x3 -> 15 16 / 6 15),
the seed's im2col input (``np.arange(64).reshape(8, 8)``, 4x4, stride 2) and Fig. 7-14
(max pooling -> 2 3 / 4 2).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli
from PIL import Image
from reference import (
    avgpool2d_ref,
    conv2d_ref,
    im2col_ref,
    maxpool2d_ref,
    numerical_gradient,
    rel_error,
)

from tatamu.learn.adjoint import explain_col2im
from tatamu.learn.backward import explain_conv_backward
from tatamu.learn.pool_backward import explain_pool_backward
from tatamu.viz.plots import DPI

X_BOOK = np.array([[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]], dtype=np.float64)
W_BOOK = np.array([[2, 0, 1], [0, 1, 2], [1, 0, 2]], dtype=np.float64)
POOL_BOOK = np.array([[1, 2, 1, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 4, 0, 1]], dtype=np.float64)


# -- independent references ------------------------------------------------------------------------
def conv_grads(x, f, dout, stride, padding):
    """(dx, dW, db) of L = sum(conv2d_ref(x, f) * dout) by central differences (float64)."""
    x, f, b = x[None, None].copy(), f[None, None].copy(), np.zeros(1)

    def loss():
        return float((conv2d_ref(x, f, b, stride, padding) * dout).sum())

    dx = numerical_gradient(loss, x)[0, 0]
    dw = numerical_gradient(loss, f)[0, 0]
    return dx, dw, numerical_gradient(loss, b)[0]


def holding_windows(r, c, h, w, k, s, p):
    """The windows (i, j) whose k x k field (stride s, padding p) covers input cell (r, c)."""
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    return [(i, j) for i in range(oh) for j in range(ow)
            if i * sh - ph <= r < i * sh - ph + kh and j * sw - pw <= c < j * sw - pw + kw]


def rotated_conv_dx(dout, f, stride, padding, input_hw):
    """dx as a 'full' convolution: dout dilated by the stride (S - 1 zeros between), padded by
    FH - 1 - P, cross-correlated with W turned 180° (np.rot90(W, 2)). Written here from the
    textbook statement, not from tatamu."""
    (kh, kw), (sh, sw), (ph, pw), (h, w) = f.shape, stride, padding, input_hw
    oh, ow = dout.shape
    dilated = np.zeros(((oh - 1) * sh + 1, (ow - 1) * sw + 1))
    for i in range(oh):
        for j in range(ow):
            dilated[i * sh, j * sw] = dout[i, j]
    full = np.pad(dilated, ((kh - 1 - ph, h + ph - 1 - (oh - 1) * sh),
                            (kw - 1 - pw, w + pw - 1 - (ow - 1) * sw)))
    turned = np.rot90(f, 2)
    return np.array([[(full[r : r + kh, c : c + kw] * turned).sum() for c in range(w)]
                     for r in range(h)]), full


def book_col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    """The book's common/util.py col2im, as printed (returns the cropped image and the whole
    img with its stride - 1 margin)."""
    N, C, H, W = input_shape  # noqa: N806 - the book's names
    out_h = (H + 2 * pad - filter_h) // stride + 1
    out_w = (W + 2 * pad - filter_w) // stride + 1
    col = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((N, C, H + 2 * pad + stride - 1, W + 2 * pad + stride - 1))
    for y in range(filter_h):
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            img[:, :, y:y_max:stride, x:x_max:stride] += col[:, :, y, x, :, :]
    return img[:, :, pad:H + pad, pad:W + pad], img


def worked_totals(text: str, name: str) -> dict[tuple[int, int], float]:
    """The total of every printed sum ``name[r, c] = ... = total`` (its last '= number')."""
    lines, totals = text.splitlines(), {}
    pattern = re.compile(rf"^  {re.escape(name)}\[(\d+), (\d+)\] = ")
    for k, line in enumerate(lines):
        match = pattern.match(line)
        if not match:
            continue
        block = [line]
        while k + len(block) < len(lines) and lines[k + len(block)].startswith("   "):
            block.append(lines[k + len(block)])
        totals[int(match.group(1)), int(match.group(2))] = float(block[-1].rsplit("= ", 1)[1])
    return totals


def grid_after(text: str, heading: str, rows: int) -> np.ndarray:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(heading))
    rows_text = lines[start + 1 : start + 1 + rows]
    return np.array([[float(v) for v in line.split()] for line in rows_text])


def flat(text) -> str:
    """The text with its line breaks undone: a wrapped sentence reads as one line again."""
    return " ".join(str(text).split())


# -- conv-backward -----------------------------------------------------------------------------
def test_conv_backward_default_is_the_books_example():
    status, out, err = run_cli("explain", "conv-backward")
    assert status == 0 and err == ""
    dout = np.array([[1.0, 2.0], [3.0, 4.0]])  # the default: 1, 2, 3, ...
    dx, dw, db = conv_grads(X_BOOK, W_BOOK, dout, 1, 0)
    assert "db = dout[0, 0] + dout[0, 1] + dout[1, 0] + dout[1, 1]" in out
    assert f"= 1 + 2 + 3 + 4 = {round(db)}" in out
    np.testing.assert_allclose(grid_after(out, "dW (3x3)", 3), dw, atol=1e-6)
    np.testing.assert_allclose(grid_after(out, "dx (4x4)", 4), dx, atol=1e-6)
    # dW[0, 0] written out window by window: x[i, j] under W[0, 0] times that window's dout
    terms = " + ".join(f"{X_BOOK[i, j]:g}*{dout[i, j]:g}" for i in range(2) for j in range(2))
    assert f"= {terms} = {round(dw[0, 0])}" in out
    assert "15  16" in out and " 6  15" in out  # the forward output of Fig. 7-3


def test_conv_backward_every_cell_names_its_windows():
    _, out, _ = run_cli("explain", "conv-backward")
    for r in range(4):
        for c in range(4):
            holders = holding_windows(r, c, 4, 4, (3, 3), (1, 1), (0, 0))
            names = ", ".join(f"out[{i}, {j}]" for i, j in holders)
            if len(holders) == 1:
                assert f"x[{r}, {c}] sits in 1 window, {names}: one term." in flat(out)
            else:
                assert f"x[{r}, {c}] sits in {len(holders)} windows ({names}), so " \
                       f"{len(holders)} terms add." in flat(out)
    # the centre cell: four terms, each W[a, b] * dout[i, j] with a = r - i, b = c - j
    assert "dx[1, 1] = W[1, 1]*dout[0, 0] + W[1, 0]*dout[0, 1] + W[0, 1]*dout[1, 0] + " \
           "W[0, 0]*dout[1, 1]" in out
    assert "That is why col2im adds (+=, not =)" in flat(out)


@pytest.mark.parametrize(("h", "w", "k", "s", "p"), [
    (4, 4, (3, 3), (1, 1), (0, 0)),
    (5, 5, (3, 3), (2, 2), (1, 1)),   # stride > 1 and padding > 0
    (7, 6, (3, 2), (2, 2), (0, 0)),   # non-square
    (6, 6, (2, 2), (2, 2), (0, 0)),   # windows that do not overlap
    (5, 7, (3, 3), (1, 2), (2, 1)),   # padding as large as FH - 1
])
def test_conv_backward_matches_numerical_gradients(rng, h, w, k, s, p):
    x = rng.integers(-4, 5, size=(h, w)).astype(np.float64)
    f = rng.integers(-3, 4, size=k).astype(np.float64)
    walk = explain_conv_backward((h, w), k, s, p, values=x, weights=f, max_cells=h * w)
    dout = rng.integers(-3, 4, size=walk.extra["dout"].shape).astype(np.float64)
    walk = explain_conv_backward((h, w), k, s, p, values=x, weights=f, dout=dout,
                                 max_cells=h * w)
    dx, dw, db = conv_grads(x, f, dout, s, p)
    assert rel_error(walk.output, dx) < 1e-6
    assert rel_error(walk.extra["dW"], dw) < 1e-6
    assert walk.extra["db"] == pytest.approx(db, abs=1e-6)
    for (r, c), total in worked_totals(str(walk), "dx").items():  # every printed sum
        assert total == pytest.approx(dx[r, c], abs=1e-6)
    assert len(worked_totals(str(walk), "dx")) == h * w
    counts = np.array([[len(holding_windows(r, c, h, w, k, s, p)) for c in range(w)]
                       for r in range(h)])
    np.testing.assert_array_equal(walk.extra["counts"], counts)


@pytest.mark.parametrize(("h", "k", "s", "p"), [(4, 3, 1, 0), (5, 3, 2, 1), (7, 3, 2, 0),
                                                  (6, 2, 2, 0), (8, 4, 2, 1)])
def test_the_180_degree_rotation_gives_the_same_dx(rng, h, k, s, p):
    f = rng.integers(-3, 4, size=(k, k)).astype(np.float64)
    x = rng.integers(-4, 5, size=(h, h)).astype(np.float64)
    walk = explain_conv_backward(h, k, s, p, values=x, weights=f)
    dout = walk.extra["dout"]
    expected, full = rotated_conv_dx(dout, f, (s, s), (p, p), (h, h))
    dx, _, _ = conv_grads(x, f, dout, s, p)
    assert rel_error(expected, dx) < 1e-6  # the identity itself, independently of tatamu
    np.testing.assert_allclose(walk.output, expected, atol=1e-9)
    np.testing.assert_array_equal(walk.extra["rotated"], np.rot90(f, 2))
    np.testing.assert_array_equal(walk.extra["spread"], full)
    border = k - 1 - p
    assert f"inside a border of zeros: {border} above, {border} below" in flat(walk)
    assert f"dout's numbers sit S = {s} apart" in flat(walk)


def test_conv_backward_shapes_answer_what_shape_dcol_is():
    _, out, _ = run_cli("explain", "conv-backward", "--input", "5x5", "--stride", "2",
                        "--padding", "1")
    # (5 + 2 - 3) / 2 + 1 = 3: nine windows, nine weights
    assert "dcol = np.dot(dout, col_W.T): (N*OH*OW, FN) @ (FN, C*FH*FW) = (9, 1) @ (1, 9)" in out
    assert "-> (9, 9), col's shape" in out
    assert "dW = np.dot(col.T, dout): (C*FH*FW, N*OH*OW) @ (N*OH*OW, FN) = (9, 9) @ (9, 1)" in out


def test_conv_backward_user_dout_and_errors():
    status, out, _ = run_cli("explain", "conv-backward", "--dout-values", "1,0;0,0")
    assert status == 0
    # dout = 1 at out[0, 0] only: dx is W placed on window 0, dW is window 0 of x
    dx = np.zeros((4, 4))
    dx[:3, :3] = W_BOOK
    np.testing.assert_allclose(grid_after(out, "dx (4x4)", 4), dx)
    np.testing.assert_allclose(grid_after(out, "dW (3x3)", 3), X_BOOK[:3, :3])
    status, _, err = run_cli("explain", "conv-backward", "--dout-values", "1,2,3")
    assert status == 2 and len(err.splitlines()) == 1 and "needs 4 numbers" in err


def test_conv_backward_floor_rounding_leaves_cells_out():
    walk = explain_conv_backward((5, 5), 2, 2, rounding="floor", max_cells=25)  # row 4: none
    assert "x[4, 4] sits in no window (the rounding left it out), so its gradient is 0." in \
           flat(walk)
    assert walk.output[4].tolist() == [0.0] * 5
    assert "inside a border of zeros: 1 above, 2 below, 1 on the left, 2 on the right" in \
           flat(walk)
    assert "wider where the rounding left input cells out of every window" in flat(walk)


# -- col2im ------------------------------------------------------------------------------------
def test_col2im_default_is_the_seeds_input():
    status, out, err = run_cli("explain", "col2im")
    assert status == 0 and err == ""
    x = np.arange(64, dtype=np.float64).reshape(1, 1, 8, 8)
    counts = np.array([[len(holding_windows(r, c, 8, 8, (4, 4), (2, 2), (0, 0)))
                        for c in range(8)] for r in range(8)])
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if "col full of ones" in line)
    np.testing.assert_array_equal(
        np.array([[float(v) for v in line.split()] for line in lines[start + 1:start + 9]]),
        counts)
    np.testing.assert_array_equal(grid_after(out, "col2im(im2col(x)):", 8), x[0, 0] * counts)
    # the book's own col2im gives the same, so the seeds' im2col input does not come back
    book, img = book_col2im(im2col_ref(x, 4, 2), x.shape, 4, 4, 2, 0)
    np.testing.assert_array_equal(book[0, 0], x[0, 0] * counts)
    assert img.shape[2:] == (9, 9) and not img[0, 0, 8].any() and not img[0, 0, :, 8].any()
    assert "x[2, 2] sits in 4 windows (rows 0, 1, 3, 4 of col), so 4 terms add." in flat(out)
    assert "It comes back 4 times as large: 4 × 18 = 72." in flat(out)


def test_col2im_adjoint_numbers():
    walk = explain_col2im()
    x = np.arange(64, dtype=np.float64).reshape(1, 1, 8, 8)
    col = im2col_ref(x, 4, 2)
    g = np.arange(col.size, dtype=np.float64).reshape(col.shape)
    expected = int((col * g).sum())
    assert f"sum(im2col(x) * g) = {expected}" in flat(walk)
    assert f"sum(x * col2im(g)) = {expected}" in flat(walk)


def test_col2im_margin_written_slice_by_slice():
    _, out, _ = run_cli("explain", "col2im")
    out_h, stride = 3, 2
    for y in range(4):  # the book's y:y_max:stride with y_max = y + stride*out_h
        rows = ", ".join(str(r) for r in range(y, y + stride * out_h, stride))
        assert f"y = {y}: img[:, :, {y}:{y + stride * out_h}:{stride}, ...] -> rows {rows}" in out
    assert "9x9 here, where the padded input is 8x8: a margin of stride - 1 = 1" in flat(out)
    assert "FH - 1 + S*OH = 3 + 2*3 = 9, is exactly the height of the book's img" in flat(out)
    _, out1, _ = run_cli("explain", "col2im", "--input", "3x3", "--kernel", "2", "--stride", "1")
    assert "With stride 1 the margin is empty" in flat(out1)


def test_col2im_the_issue_27_example():
    # the learner's test in the book repository's issue #27: 2x2 windows, stride 1, on a 3x3
    x = np.array([[0, 1, 2], [4, 5, 6], [8, 9, 10]], dtype=np.float64)
    walk = explain_col2im(3, 2, 1, values=x)
    book, _ = book_col2im(im2col_ref(x[None, None], 2, 1), (1, 1, 3, 3), 2, 2, 1, 0)
    np.testing.assert_array_equal(walk.output, book[0, 0])
    np.testing.assert_array_equal(walk.output, x * [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


@pytest.mark.parametrize(("h", "k", "s", "p"), [(5, 3, 2, 1), (7, 3, 2, 0), (6, 2, 2, 0)])
def test_col2im_with_stride_and_padding_matches_the_book(rng, h, k, s, p):
    x = rng.integers(0, 9, size=(h, h)).astype(np.float64)
    walk = explain_col2im(h, k, s, p, values=x)
    book, img = book_col2im(im2col_ref(x[None, None], k, s, p), (1, 1, h, h), k, k, s, p)
    np.testing.assert_array_equal(walk.output, book[0, 0])
    margin = img[0, 0, h + 2 * p:, :]
    assert margin.shape[0] == s - 1 and not margin.any()  # the margin is never written
    if p:
        assert "what col2im adds there is cut off at the end" in flat(walk)


def test_col2im_refuses_ceil():
    status, _, err = run_cli("explain", "col2im", "--rounding", "ceil")
    assert status == 2 and "invalid choice" in err


# -- pool-backward -----------------------------------------------------------------------------
def first_max_winners(x, k, s, p):
    """Each window's winner by loops: the first maximum in reading order, padding never."""
    h, w = x.shape
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    winners = {}
    for i in range(oh):
        for j in range(ow):
            cells = [(i * s - p + a, j * s - p + b) for a in range(k) for b in range(k)]
            cells = [(r, c) for r, c in cells if 0 <= r < h and 0 <= c < w]
            winners[i, j] = max(cells, key=lambda rc: (x[rc], -cells.index(rc)))
    return winners


def test_pool_backward_default_is_the_books_figure():
    status, out, _ = run_cli("explain", "pool-backward")
    assert status == 0
    dout = np.array([[1.0, 2.0], [3.0, 4.0]])
    for (i, j), (r, c) in first_max_winners(POOL_BOOK, 2, 2, 0).items():
        assert f"dout[{i}, {j}] = {dout[i, j]:g} -> x[{r}, {c}]" in out
    x = POOL_BOOK[None, None].copy()
    dx = numerical_gradient(lambda: float((maxpool2d_ref(x, 2) * dout).sum()), x)[0, 0]
    np.testing.assert_allclose(grid_after(out, "dx (4x4)", 4), dx, atol=1e-6)
    assert "2  3" in out and "4  2" in out  # Fig. 7-14's output
    assert "No window here has a tie." in flat(out)


def test_pool_backward_tie_goes_where_maxpool2d_and_torch_send_it():
    torch = pytest.importorskip("torch")
    x = POOL_BOOK.copy()
    x[0, 0] = 2.0  # window out[0, 0] is now (2, 2, 0, 1): a tie between x[0, 0] and x[0, 1]
    x[3, 0] = 4.0  # and out[1, 0] is (3, 0, 4, 4): a tie in its bottom row
    walk = explain_pool_backward(values=x)
    text = flat(walk)
    assert "a tie between x[0, 0] and x[0, 1]" in text
    assert "a tie between x[3, 0] and x[3, 1]" in text
    tx = torch.tensor(x[None, None], requires_grad=True)
    torch.nn.functional.max_pool2d(tx, 2).backward(torch.tensor(walk.extra["dout"][None, None]))
    np.testing.assert_array_equal(walk.output, tx.grad.numpy()[0, 0])
    for (i, j), (r, c) in first_max_winners(x, 2, 2, 0).items():
        assert f"-> x[{r}, {c}]" in text and walk.output[r, c] == walk.extra["dout"][i, j]
    assert walk.output[0, 1] == 0 and walk.output[3, 1] == 0  # the second of a tie: nothing


@pytest.mark.parametrize(("h", "k", "s", "p"), [(4, 3, 1, 0), (5, 3, 2, 1), (6, 2, 2, 1),
                                                  (7, 3, 2, 0)])
def test_pool_backward_overlapping_windows_add(rng, h, k, s, p):
    x = rng.permutation(h * h).reshape(h, h).astype(np.float64)  # distinct: no ties
    walk = explain_pool_backward(h, k, s, p, values=x, max_cells=h * h)
    dout = walk.extra["dout"]
    xx = x[None, None].copy()
    dx = numerical_gradient(lambda: float((maxpool2d_ref(xx, k, s, p) * dout).sum()), xx)
    assert rel_error(walk.output, dx[0, 0]) < 1e-6
    wins: dict = {}
    for ij, cell in first_max_winners(x, k, s, p).items():
        wins.setdefault(cell, []).append(ij)
    for (r, c), windows in wins.items():
        if len(windows) > 1:
            names = ", ".join(f"out[{i}, {j}]" for i, j in windows)
            assert f"x[{r}, {c}] won {len(windows)} windows ({names}), so {len(windows)} " \
                   "terms add." in flat(walk)
    for (r, c), total in worked_totals(str(walk), "dx").items():
        assert total == pytest.approx(dx[0, 0, r, c])


@pytest.mark.parametrize(("h", "k", "s", "p"), [(4, 2, 2, 0), (5, 3, 2, 1), (4, 3, 1, 1)])
def test_avg_pool_backward_shares(rng, h, k, s, p):
    x = rng.integers(0, 9, size=(h, h)).astype(np.float64)
    walk = explain_pool_backward(h, k, s, p, values=x, mode="avg", max_cells=h * h)
    dout = walk.extra["dout"]
    xx = x[None, None].copy()
    dx = numerical_gradient(lambda: float((avgpool2d_ref(xx, k, s, p) * dout).sum()), xx)
    assert rel_error(walk.output, dx[0, 0]) < 1e-6
    assert f"each cell of its window gets dout[0, 0] / {k * k} = 1 / {k * k}" in flat(walk)
    for (r, c), total in worked_totals(str(walk), "dx").items():
        assert total == pytest.approx(dx[0, 0, r, c], rel=5e-3)  # printed to 3 digits


# -- pictures ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("topic", "panels"), [("conv-backward", 8), ("col2im", 4),
                                               ("pool-backward", 3)])
def test_png_draws_the_backward_pass(tmp_path, monkeypatch, topic, panels):
    monkeypatch.chdir(tmp_path)
    status, out, _ = run_cli("explain", topic, "--png")
    assert status == 0
    path = tmp_path / out.splitlines()[-1]
    assert path.name == f"explain-{topic}.png"
    walk = {"conv-backward": explain_conv_backward, "col2im": explain_col2im,
            "pool-backward": explain_pool_backward}[topic]()
    fig = walk.figure()
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert len(titled) == panels
    width, height = (round(v * DPI) for v in fig.get_size_inches())
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size == (width, height)


# -- the guide page --------------------------------------------------------------------------
def test_the_guide_prints_what_it_says(tmp_path, monkeypatch):
    """docs/guide/backward.md: each text block is (an excerpt of) what the command or Python
    block before it prints."""
    import test_tutorial as tutorial

    monkeypatch.chdir(tmp_path)
    guide = Path(__file__).resolve().parents[1] / "docs" / "guide" / "backward.md"
    namespace: dict = {}
    printed = None
    checked = 0
    for block in tutorial.FENCE.finditer(guide.read_text(encoding="utf-8")):
        lang, code = block.group(1), block.group(2)
        if lang == "sh":
            printed = tutorial.run_shell(code, False, "guide")
        elif lang == "python":
            printed = tutorial.run_python(code, namespace, "guide")
        elif lang == "text":
            tutorial.assert_output(code, printed, "docs/guide/backward.md")
            checked += 1
    assert checked >= 7


def test_a_large_input_is_summarised_not_printed(rng):
    # SimpleConvNet's first layer: 28x28 ⊛ 5x5; grids that do not fit a terminal are named
    f = rng.integers(-2, 3, size=(5, 5)).astype(np.float64)
    walk = explain_conv_backward(28, 5, values=rng.integers(0, 9, size=(28, 28)), weights=f)
    text = str(walk)
    assert "(24x24: too large to print here" in text and "(28x28: too large" in text
    assert "... and 768 more, the same way (--max-cells shows more)" in text  # 784 cells, 16 shown
    assert "... (560 more terms)" in text  # dW sums over 576 windows, 16 terms shown
    expected, _ = rotated_conv_dx(walk.extra["dout"], f, (1, 1), (0, 0), (28, 28))
    np.testing.assert_allclose(walk.output, expected, atol=1e-6)
