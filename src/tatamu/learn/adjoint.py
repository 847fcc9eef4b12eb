"""col2im worked through with numbers: the adjoint of im2col, not its inverse (the book's §7.4.3).

Two of the book repository's issues are this one fact: #27, a learner's test that expected
``col2im(im2col(x)) == x`` and "fixed" col2im's ``+=`` into ``=`` to pass it, and #30 (with #46),
"col2im is not the inverse" and "what is the ``stride - 1`` margin for?". :func:`explain_col2im`
answers both on a small input: every cell comes back multiplied by the number of windows it sits
in, that is what backpropagation needs (``<im2col(x), g> = <x, col2im(g)>``, checked with the
numbers), and the margin is written out slice by slice.

The numbers come from tatamu's ``im2col`` and ``col2im``; the worked sums are checked against
them.
"""

from __future__ import annotations

import numpy as np

from ..display import format_number
from ..errors import ConfigError
from ..im2col import col2im, im2col
from .explain import Walkthrough, Window, _default, _padded, _pair
from .worked import cell_sentence, geometry, grid, say, sum_lines, windows_holding


def explain_col2im(input_size=(8, 8), kernel_size=(4, 4), stride=2, padding=0, *, values=None,
                   rounding: str = "strict") -> Walkthrough:
    """col2im(im2col(x)) on one 2-D input, with why it is not x and why that is right.

    Defaults: the seed's ``np.arange(64).reshape(8, 8)`` with 4x4 windows and stride 2 (the
    input of ``tatamu explain im2col``): cells sit in 1, 2 or 4 windows, and the book's margin
    is one row and one column. ``rounding`` is "strict" or "floor" (the book floors); the
    book has no "ceil".

    Shapes: input (H, W); the walkthrough's ``output`` is col2im(im2col(x)) (H, W); ``extra``
    holds col, counts and the book's margin.
    """
    if rounding not in ("strict", "floor"):
        raise ConfigError(f"col2im's walkthrough follows the book, which rounds 'strict' or "
                          f"'floor'; got {rounding!r}")
    (h, w), kernel, s, p, (oh, ow) = geometry(input_size, kernel_size, stride, padding, rounding)
    x = _default(values, (h, w), np.arange(h * w, dtype=np.float64).reshape(h, w), "values")
    col = im2col(x[None, None], kernel, s, p, rounding=rounding)  # (OH*OW, FH*FW)
    back = col2im(col, (1, 1, h, w), kernel, s, p, rounding=rounding)[0, 0]  # (H, W)
    counts = col2im(np.ones_like(col), (1, 1, h, w), kernel, s, p, rounding=rounding)[0, 0]
    padded, is_pad = _padded(x, kernel, s, p, rounding)
    lines = [f"col2im: from im2col's matrix back to a {h}x{w} input ({kernel[0]}x{kernel[1]} "
             f"windows, stride {_pair(s)}, padding {_pair(p)})", ""]
    lines += [f"x ({h}x{w}):", *grid(x), ""]
    lines += ["Step 1. im2col copies every window of x into one row of col", *say(
        f"{oh * ow} windows -> col of shape {col.shape} (tatamu explain im2col prints it). A "
        f"cell that sits in several windows is copied into several rows.", "  "), ""]
    lines += _round_trip_lines(x, col, back, counts, kernel, s, p, (oh, ow))
    lines += _adjoint_lines(x, col, kernel, s, p, rounding)
    lines += margin_lines((h, w), kernel, s, p, (oh, ow))
    windows = [Window(divmod(r, ow), divmod(r, ow)[0] * s[0], divmod(r, ow)[1] * s[1],
                      row.reshape(kernel), float("nan")) for r, row in enumerate(col)]
    extra = {"col": col, "counts": counts, "x": x, "stride": s, "padding": p,
             "margin": (s[0] - 1, s[1] - 1)}
    return Walkthrough("col2im", lines, padded, is_pad, kernel, windows, back, None, extra)


def _round_trip_lines(x, col, back, counts, kernel, s, p, out_hw) -> list[str]:
    lines = ["Step 2. col2im adds every row back onto the cells of its window (+=)", *say(
        "A cell copied into k rows gets k numbers back, so col2im(im2col(x)) is not x: every "
        "cell comes back multiplied by the number of windows it sits in. That number, for each "
        "cell (col2im of a col full of ones):", "  ")]
    lines += [*grid(counts), "", "  col2im(im2col(x)):", *grid(back), ""]
    lines += say("One cell of each count, written out:", "  ")
    for k in sorted({int(v) for v in counts.ravel()}):
        r, c = (int(v) for v in np.argwhere(counts == k)[0])
        holds = windows_holding(r + p[0], c + p[1], kernel, s, out_hw)
        rows = [(i * out_hw[1] + j, a * kernel[1] + b) for i, j, a, b in holds]
        worked = sum(col[row, m] for row, m in rows)
        assert np.isclose(worked, back[r, c]) and np.isclose(back[r, c], k * x[r, c]), \
            "the worked sum must equal tatamu's col2im"
        numbers = ", ".join(str(row) for row, _ in rows)
        where = f"row {numbers} of col" if k == 1 else f"rows {numbers} of col"
        lines += say(cell_sentence(f"x[{r}, {c}]", [str(row) for row, _ in rows], where), "  ")
        lines += sum_lines(f"col2im(im2col(x))[{r}, {c}]", [f"col[{row}, {m}]" for row, m in rows],
                           [format_number(col[row, m]) for row, m in rows], back[r, c])
        if k > 1:
            lines += say(f"It comes back {k} times as large: {k} × {format_number(x[r, c])} = "
                         f"{format_number(back[r, c])}.", "    ")
        elif k == 1:
            lines += say("It comes back unchanged.", "    ")
    if p != (0, 0):
        lines += say("The windows also cover the border of padding; what col2im adds there is "
                     "cut off at the end, as the padding itself was never part of x.", "  ")
    return [*lines, ""]


def _adjoint_lines(x, col, kernel, s, p, rounding) -> list[str]:
    g = np.arange(col.size, dtype=np.float64).reshape(col.shape)  # any matrix of col's shape
    h, w = x.shape
    left = float((col * g).sum())
    right = float((x * col2im(g, (1, 1, h, w), kernel, s, p, rounding=rounding)[0, 0]).sum())
    assert np.isclose(left, right), "col2im must be the adjoint of im2col"
    lines = ["Step 3. Why adding is right: col2im is the adjoint (transpose) of im2col, not its "
             "inverse", *say(
                 "im2col is a big matrix M of 0s and 1s times x (each 1 copies one cell into one "
                 "place of col), and col2im is Mᵀ. For any x and any g of col's shape, "
                 "sum(im2col(x) * g) = sum(x * col2im(g)). With these x and g = 0, 1, 2, ... "
                 f"({col.size} numbers in col's shape):", "  "),
             f"  sum(im2col(x) * g) = {format_number(left)}",
             f"  sum(x * col2im(g)) = {format_number(right)}"]
    lines += say("Backpropagation through y = M x sends dy back as Mᵀ dy: the gradient dcol "
                 "that reaches col goes back to x through col2im, and a cell used in k windows "
                 "collects the gradients of all k uses. That is what Convolution.backward and "
                 "Pooling.backward need (tatamu explain conv-backward works it through).", "  ")
    lines += say("col2im is an inverse only when no two windows share a cell and every cell is "
                 "in a window (every count 1). To undo im2col where windows overlap, divide by "
                 "the counts: col2im(col) / col2im(ones), where the count is not 0.", "  ")
    return [*lines, ""]


def margin_lines(input_hw, kernel, s, p, out_hw) -> list[str]:
    """The book's ``img = np.zeros((N, C, H + 2*pad + stride - 1, ...))``, slice by slice."""
    (h, w), (kh, kw), (oh, ow) = input_hw, kernel, out_hw
    height, width = h + 2 * p[0] + s[0] - 1, w + 2 * p[1] + s[1] - 1
    lines = ["Step 4. The book's stride - 1 margin", *say(
        f"The book's col2im starts from img = np.zeros((N, C, H + 2*pad + stride - 1, W + "
        f"2*pad + stride - 1)), {height}x{width} here, where the padded input is "
        f"{h + 2 * p[0]}x{w + 2 * p[1]}: a margin of stride - 1 = {s[0] - 1} at the bottom and "
        f"{s[1] - 1} on the right. For each row y of the filter it adds into rows "
        f"y:y_max:stride of img, with y_max = y + stride*out_h:", "  ")]
    for y in range(kh):
        stop = y + s[0] * oh
        written = [str(r) for r in range(y, stop, s[0])]
        if len(written) > 8:  # a long slice: its start and its end say enough
            written = [*written[:3], "...", written[-1]]
        rows = ", ".join(written)
        lines.append(f"    y = {y}: img[:, :, {y}:{stop}:{s[0]}, ...] -> rows {rows}")
    last_stop, last_row = kh - 1 + s[0] * oh, kh - 1 + s[0] * (oh - 1)
    if last_stop == height:
        lines += say(f"The largest stop, FH - 1 + S*OH = {kh - 1} + {s[0]}*{oh} = {last_stop}, "
                     f"is exactly the height of the book's img: the margin makes every slice's "
                     f"stop fit inside the array.", "  ")
    else:
        lines += say(f"The largest stop, FH - 1 + S*OH = {kh - 1} + {s[0]}*{oh} = {last_stop}, "
                     f"fits inside the height of the book's img ({height}).", "  ")
    lines += say(f"The last row written is {last_row} = FH - 1 + S*(OH - 1), inside the padded "
                 f"input (rows 0 to {h + 2 * p[0] - 1}): the margin rows stay 0 and are cut off "
                 f"with the padding by img[:, :, pad:H + pad, pad:W + pad]. Columns go the same "
                 f"way with FW = {kw}, OW = {ow}.", "  ")
    lines += say("NumPy clips a slice's stop that runs past the end of the array, so the margin "
                 "is never needed: the book's im2col reads the same slices from an input padded "
                 "by pad alone, and tatamu's col2im leaves the margin out. It is harmless, and "
                 "so it stayed (the book's repository, oreilly-japan/deep-learning-from-scratch, "
                 "issues #30 and #46).", "  ")
    if s == (1, 1):
        lines += say("With stride 1 the margin is empty (stride - 1 = 0); try --stride 2 to "
                     "see it.", "  ")
    return lines
