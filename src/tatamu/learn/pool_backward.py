"""Pooling's backward pass worked through with numbers (the book's §7.4.4, Fig. 7-14).

Max pooling learns nothing, but its backward pass routes: each output's gradient goes to the one
cell that was its window's maximum, and every other cell gets 0. :func:`explain_pool_backward`
writes out which cell won each window (a tie goes where ``MaxPool2D`` sends it: the first
maximum in reading order, as ``np.argmax`` and PyTorch choose), where each dout goes, and every
cell's sum where overlapping windows add. Average pooling shares each dout out equally.

dx comes from ``MaxPool2D.backward`` / ``AvgPool2D.backward``; the worked sums printed beside it
are checked against it (an ``assert`` per cell), never computed instead of it.
"""

from __future__ import annotations

import numpy as np

from ..display import format_number
from ..errors import ConfigError
from ..im2col import im2col
from ..layers.pooling import AvgPool2D, MaxPool2D
from .explain import (
    POOL_INPUT,
    Walkthrough,
    Window,
    _default,
    _fits,
    _padded,
    _pair,
    _side_by_side,
)
from .worked import and_list, cell_sentence, counting, geometry, grid, more_line, say, sum_lines


def explain_pool_backward(input_size=(4, 4), kernel_size=(2, 2), stride=None, padding=0, *,
                          values=None, dout=None, mode: str = "max", rounding: str = "strict",
                          max_cells: int = 16) -> Walkthrough:
    """The backward pass of max (or average) pooling of one 2-D input, with its numbers.

    Defaults: the book's Fig. 7-14 (4x4 input, 2x2 windows, stride 2 -> [[2, 3], [4, 2]]) and
    dout = 1, 2, 3, ...; ``stride=None`` means stride = kernel size. ``max_cells`` bounds how
    many windows and cells are written out.

    Shapes: input (H, W), dout (OH, OW); the walkthrough's ``output`` is dx (H, W); ``extra``
    holds dout, the forward output and, for max pooling, each window's winner.
    """
    if mode not in ("max", "avg"):
        raise ConfigError(f"pooling mode is 'max' or 'avg'; got {mode!r}")
    (h, w), kernel, s, p, (oh, ow) = geometry(input_size, kernel_size, stride, padding, rounding)
    x = _default(values, (h, w), POOL_INPUT, "values")
    g = _default(dout, (oh, ow), counting((oh, ow)), "dout values")
    layer = (MaxPool2D if mode == "max" else AvgPool2D)(kernel, s, p, rounding=rounding)
    out = layer.forward(x[None, None])[0, 0]  # (1, 1, H, W) -> (OH, OW)
    dx = layer.backward(g[None, None])[0, 0]  # (1, 1, OH, OW) -> (H, W)
    fill = -np.inf if mode == "max" else 0.0  # padding never wins a max
    col = im2col(x[None, None], kernel, s, p, rounding=rounding, pad_value=fill)  # (OH*OW, FH*FW)
    padded, is_pad = _padded(x, kernel, s, p, rounding, fill)
    if mode == "max":
        title = (f"Max pooling backward: a {h}x{w} input, {kernel[0]}x{kernel[1]} windows, "
                 f"stride {_pair(s)}, padding {_pair(p)} -> a {oh}x{ow} output")
    else:
        title = (f"Average pooling backward: a {h}x{w} input, {kernel[0]}x{kernel[1]} windows, "
                 f"stride {_pair(s)}, padding {_pair(p)} -> a {oh}x{ow} output")
    lines = [title, ""]
    blocks = [[f"input x ({h}x{w})", *grid(x)], [f"output ({oh}x{ow})", *grid(out)],
              [f"dout ({oh}x{ow})", *grid(g)]]
    if _fits(padded) and _fits(out):
        lines += _side_by_side(_side_by_side(blocks[0], blocks[1]), blocks[2])
    else:
        lines += [line for block in blocks for line in block]
    lines += ["", *say("dout is what the next layer sends back: one number per output, ∂L/∂out. "
                       "Pooling has no weights, so its backward pass only sends dout on to x."),
              ""]
    windows = [Window(divmod(r, ow), divmod(r, ow)[0] * s[0], divmod(r, ow)[1] * s[1],
                      row.reshape(kernel), float(out.flat[r])) for r, row in enumerate(col)]
    if mode == "max":
        winners = [int(np.flatnonzero(row == row.max())[0]) for row in col]  # the first maximum
        lines += _winner_lines(col, winners, g, kernel, s, p, max_cells)
        sources = [[((r // ow, r % ow), g.flat[r], "dout[{}, {}]".format(*divmod(r, ow)),
                     format_number(g.flat[r]))] for r in range(len(col))]
        targets = [[_cell(r, winners[r], kernel, s, p, ow)] for r in range(len(col))]
        extra = {"winners": winners}
    else:
        divisors = [_divisor(r, kernel, s, p, (h, w), ow) for r in range(len(col))]
        lines += _share_lines(col, divisors, g, ow, max_cells, p != (0, 0))
        sources = [[((r // ow, r % ow), g.flat[r] / k, "dout[{}, {}]/{}".format(*divmod(r, ow), k),
                     f"{format_number(g.flat[r])}/{k}")] * int(np.prod(kernel))
                   for r, k in enumerate(divisors)]
        targets = [[_cell(r, k, kernel, s, p, ow) for k in range(int(np.prod(kernel)))]
                   for r in range(len(col))]
        extra = {"divisors": divisors}
    heading = ("Step 3. dx: every cell adds what it received" if mode == "max" else
               "Step 2. dx: every cell adds the shares it received")
    lines += _sum_lines(heading, sources, targets, dx, mode, max_cells)
    extra.update({"mode": mode, "dout": g, "forward": out, "stride": s, "padding": p})
    return Walkthrough("pool-backward", lines, padded, is_pad, kernel, windows, dx, None, extra)


def _cell(r: int, k: int, kernel, s, p, ow: int) -> tuple[int, int]:
    """Element k of window r, as a cell of x (negative or past the end: padding)."""
    (i, j), (a, b) = divmod(r, ow), divmod(k, kernel[1])
    return i * s[0] + a - p[0], j * s[1] + b - p[1]


def _divisor(r: int, kernel, s, p, input_hw, ow: int) -> int:
    """How many cells AvgPool2D divides window r by: padding counts (PyTorch's default); a ceil
    window's overrun past the padding does not."""
    (i, j), sizes = divmod(r, ow), []
    for start, k, size, pad in ((i * s[0], kernel[0], input_hw[0], p[0]),
                                (j * s[1], kernel[1], input_hw[1], p[1])):
        sizes.append(min(start + k, size + 2 * pad) - start)
    return sizes[0] * sizes[1]


def _winner_lines(col, winners, g, kernel, s, p, max_cells) -> list[str]:
    ow = g.shape[1]
    lines = ["Step 1. Which cell gave each window's maximum (MaxPool2D remembers it from the "
             "forward pass)"]
    tied = False
    for r, (row, k) in enumerate(zip(col[:max_cells], winners, strict=False)):
        i, j = divmod(r, ow)
        seen = ", ".join("." if np.isinf(v) else format_number(v) for v in row)
        best = format_number(row[k])
        name = "x[{}, {}]".format(*_cell(r, k, kernel, s, p, ow))
        ties = [int(t) for t in np.flatnonzero(row == row[k])]
        if len(ties) == 1:
            lines += say(f"out[{i}, {j}] = max({seen}) = {best}: the maximum is {name}.", "  ")
            continue
        tied = True
        names = and_list(["x[{}, {}]".format(*_cell(r, t, kernel, s, p, ow)) for t in ties])
        lines += say(f"out[{i}, {j}] = max({seen}) = {best}: a tie between {names}. MaxPool2D "
                     f"gives the whole gradient to the first of them in reading order (left to "
                     f"right, then top to bottom), {name}, as np.argmax and PyTorch do; the "
                     f"others get 0.", "  ")
    lines += more_line(min(max_cells, len(col)), len(col), "--max-cells")
    if not tied:
        lines += say("No window here has a tie. When two cells share a window's maximum, "
                     "MaxPool2D sends the gradient to the first of them in reading order (left "
                     "to right, then top to bottom), as np.argmax and PyTorch do, and to it "
                     "alone (give --values with two equal largest numbers in a window to see "
                     "it).", "  ")
    if np.isinf(col).any():
        lines += say("Padding (.) is -inf, so it never wins a maximum.", "  ")
    lines += ["", "Step 2. Each dout goes to its window's maximum, and only there", *say(
        "Nudging a cell that is not the maximum does not move the output, so its gradient is "
        "0; nudging the maximum moves the output by as much, so it gets all of dout.", "  ")]
    for r, k in enumerate(winners[:max_cells]):
        i, j = divmod(r, ow)
        lines.append("  dout[{}, {}] = {} -> x[{}, {}]".format(
            i, j, format_number(g[i, j]), *_cell(r, k, kernel, s, p, ow)))
    lines += more_line(min(max_cells, len(col)), len(col), "--max-cells")
    return [*lines, ""]


def _share_lines(col, divisors, g, ow, max_cells, padded: bool) -> list[str]:
    lines = ["Step 1. Each output is the mean of its window's k cells, so each cell gets "
             "dout / k", *say("Raising one cell by 1 raises the mean of its k cells by 1/k: "
                              "that is the cell's share of the window's dout.", "  ")]
    for r, (row, k) in enumerate(zip(col[:max_cells], divisors, strict=False)):
        i, j = divmod(r, ow)
        terms = " + ".join(format_number(v) for v in row)
        lines += say(f"out[{i}, {j}] = ({terms}) / {k}: each cell of its window gets "
                     f"dout[{i}, {j}] / {k} = {format_number(g[i, j])} / {k} = "
                     f"{format_number(g[i, j] / k)}.", "  ")
    lines += more_line(min(max_cells, len(col)), len(col), "--max-cells")
    if padded:
        lines += say("Padding counts as 0 and is counted in k (PyTorch's default, "
                     "count_include_pad=True); the shares sent to it are dropped.", "  ")
    return [*lines, ""]


def _sum_lines(heading, sources, targets, dx, mode, max_cells) -> list[str]:
    """The last step: each cell of x adds what the windows sent it (checked: the layer's dx)."""
    h, w = dx.shape
    received: dict[tuple[int, int], list] = {}
    for window_sources, window_targets in zip(sources, targets, strict=True):
        for source, cell in zip(window_sources, window_targets, strict=True):
            if 0 <= cell[0] < h and 0 <= cell[1] < w:  # what reaches padding is dropped
                received.setdefault(cell, []).append(source)
    lines = [heading]
    shown = 0
    for r, c in np.ndindex(h, w):
        got = received.get((r, c), [])
        assert np.isclose(sum(v for _, v, _, _ in got), dx[r, c]), "must equal the layer's dx"
        if not got or shown == max_cells:
            continue
        shown += 1
        holders = [f"out[{i}, {j}]" for (i, j), _, _, _ in got]
        sentence = (_won_sentence if mode == "max" else cell_sentence)(f"x[{r}, {c}]", holders)
        lines += say(sentence, "  ")
        lines += sum_lines(f"dx[{r}, {c}]", [symbol for _, _, symbol, _ in got],
                           [number for _, _, _, number in got], dx[r, c])
    lines += more_line(shown, len(received), "--max-cells")
    most = max((len(v) for v in received.values()), default=0)
    if mode == "max":
        lines += say("Every other cell won no window: its dx is 0.", "  ")
        if most < 2:
            lines += say("Here no cell won two windows, so nothing adds. When windows overlap "
                         "(stride smaller than the window) one cell can be the maximum of "
                         "several windows, and then its gradients add, as col2im adds (with the "
                         "default input, try --kernel 3 --stride 1).", "  ")
    if most > 1:
        lines += say("That is why the book's Pooling.backward folds its gradients back with "
                     "col2im, which adds (+=): a cell that several windows sent a gradient to "
                     "keeps all of them.", "  ")
    if mode == "max":
        lines.append(f"  dx ({h}x{w}), as MaxPool2D.backward computes it:")
    else:
        lines.append(f"  dx ({h}x{w}), as AvgPool2D.backward computes it:")
    return [*lines, *grid(dx)]


def _won_sentence(name: str, holders: list[str]) -> str:
    """One whole sentence per case: how many windows a cell won."""
    if len(holders) == 1:
        return f"{name} won 1 window, {holders[0]}: it gets that window's dout."
    return f"{name} won {len(holders)} windows ({', '.join(holders)}), so {len(holders)} " \
           f"terms add."

