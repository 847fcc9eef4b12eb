"""The backward walkthroughs as pictures (``tatamu explain ... --png``).

Each picture is a row or two of number tables, the book's way: the cell whose gradient has the
most terms is marked, and the windows that hold it are outlined in colours, on the input and
again on the arrays its gradient comes from (col2im's counts, the spread dout under the filter
turned 180°, the pooled winners). The arrays come from the walkthrough itself (its ``extra``):
nothing is computed here except where to draw the boxes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..display import format_number
from .figure import finish, new_figure
from .tables import CELL_IN, COLOURS, draw_table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..learn.explain import Walkthrough

KINDS = ("conv-backward", "col2im", "pool-backward")


def plot_backward(walk: Walkthrough, path: str | Path | None = None) -> Figure | Path:
    """Draw a backward walkthrough: saved to ``path`` (returned), or returned as its Figure."""
    draw = {"conv-backward": _conv, "col2im": _col2im, "pool-backward": _pool}[walk.kind]
    return finish(draw(walk), path)


def _panels(walk: Walkthrough, tables: list[tuple], cols: int):
    """A figure of ``tables`` = [(title, array, mask, boxes)], ``cols`` to a row."""
    rows = -(-len(tables) // cols)
    tallest = max(t[1].shape[0] for t in tables)
    widest = max(t[1].shape[1] for t in tables)
    fig = new_figure(figsize=(cols * (widest * CELL_IN + 0.5),
                              rows * (tallest * CELL_IN + 0.8) + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, (title, table, mask, boxes) in zip(axes, tables, strict=False):
        draw_table(ax, table, mask, boxes)
        ax.set_title(title, fontsize=9)
    fig.suptitle(walk.lines[0], fontsize=10)
    return fig


def _most_shared(counts: np.ndarray) -> tuple[int, int]:
    """The first cell sitting in the most windows: the one whose gradient has the most terms."""
    r, c = np.unravel_index(int(np.argmax(counts)), counts.shape)
    return int(r), int(c)


def _holding_boxes(walk: Walkthrough, r: int, c: int, shift=(0, 0)) -> list[tuple]:
    """One coloured box per window holding input cell (r, c) (padded coordinates + shift)."""
    (kh, kw), (pr, pc) = walk.kernel_size, walk.extra["padding"]
    boxes = []
    for win in walk.windows:
        if win.top <= r + pr < win.top + kh and win.left <= c + pc < win.left + kw:
            colour = COLOURS[len(boxes) % len(COLOURS)]
            boxes.append((win.top + shift[0], win.left + shift[1], kh, kw, colour))
    return boxes


def _cell_box(r: int, c: int) -> tuple:
    return (r, c, 1, 1, "tab:red")


def _conv(walk: Walkthrough):
    e = walk.extra
    r, c = _most_shared(e["counts"])
    pr, pc = e["padding"]
    kh, kw = walk.kernel_size
    holding = _holding_boxes(walk, r, c)
    n = len(holding)
    tables = [
        (f"x: the {n} windows holding x[{r}, {c}]", walk.padded, walk.is_pad,
         [*holding, _cell_box(r + pr, c + pc)]),
        ("W", walk.weights, None, []),
        (f"dout (db = sum = {format_number(e['db'])})", e["dout"], None, []),
        ("dW = colᵀ · dout", e["dW"], None, []),
        ("windows per cell of x", e["counts"], None, [_cell_box(r, c)]),
        (f"dx = col2im(dcol): dx[{r}, {c}] has {n} terms", walk.output, None, [_cell_box(r, c)]),
        ("W turned 180°", e["rotated"], None, []),
        (f"spread dout ⊛ turned W: dx[{r}, {c}] = {format_number(walk.output[r, c])}",
         e["spread"], e["inserted"], [(r, c, kh, kw, "tab:orange")]),
    ]
    return _panels(walk, tables, 4)


def _col2im(walk: Walkthrough):
    e = walk.extra
    r, c = _most_shared(e["counts"])
    x, (pr, pc), (mh, mw) = e["x"], e["padding"], e["margin"]
    holding = _holding_boxes(walk, r, c)
    hp, wp = walk.padded.shape
    # the book's img: the padded input's sums (padding included) plus the stride - 1 margin
    img = np.zeros((hp + mh, wp + mw))
    kh, kw = walk.kernel_size
    for win, row in zip(walk.windows, e["col"], strict=True):
        img[win.top : win.top + kh, win.left : win.left + kw] += row.reshape(kh, kw)
    outside = np.ones(img.shape, dtype=bool)
    outside[pr : pr + x.shape[0], pc : pc + x.shape[1]] = False
    tables = [
        (f"x: the {len(holding)} windows holding x[{r}, {c}]", walk.padded, walk.is_pad,
         [*holding, _cell_box(r + pr, c + pc)]),
        ("windows per cell (col2im of ones)", e["counts"], None, [_cell_box(r, c)]),
        (f"col2im(im2col(x)) = x × count: {format_number(walk.output[r, c])} = "
         f"{int(e['counts'][r, c])} × {format_number(x[r, c])}", walk.output, None,
         [_cell_box(r, c)]),
        (f"the book's img: + stride - 1 = {mh} margin (grey: cut off)", img, outside,
         [(pr, pc, x.shape[0], x.shape[1], "tab:green")]),
    ]
    return _panels(walk, tables, 4)


def _pool(walk: Walkthrough):
    e = walk.extra
    kh, kw = walk.kernel_size
    (pr, pc), oh_ow = e["padding"], e["dout"].shape
    shown = walk.windows[:4]  # more overlapping outlines would hide the numbers
    boxes = [(w.top, w.left, kh, kw, COLOURS[k]) for k, w in enumerate(shown)]
    dout_boxes = [(w.out[0], w.out[1], 1, 1, COLOURS[k]) for k, w in enumerate(shown)]
    if e["mode"] == "max":
        won = [divmod(k, kw) for k in e["winners"]]
        winners = [(w.top + a, w.left + b, 1, 1, "tab:red") for w, (a, b) in
                   zip(walk.windows, won, strict=True)]
        tables = [("x: the first windows; each maximum in red", walk.padded, walk.is_pad,
                   [*boxes, *winners]),
                  (f"dout ({oh_ow[0]}x{oh_ow[1]})", e["dout"], None, dout_boxes),
                  ("dx: each dout at its window's maximum", walk.output, None,
                   [(t - pr, left - pc, 1, 1, "tab:red") for t, left, *_ in winners])]
    else:
        tables = [("x: windows (each cell gets dout / k)", walk.padded, walk.is_pad, boxes),
                  (f"dout ({oh_ow[0]}x{oh_ow[1]})", e["dout"], None, dout_boxes),
                  ("dx: the shares each cell received, added", walk.output, None, [])]
    return _panels(walk, tables, 3)
