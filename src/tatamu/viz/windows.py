"""The sliding window as a picture (``tatamu explain ... --png``), the book's Fig. 7-4 style.

Each panel is the (padded) input as a table of numbers with one window outlined and its
result in the title; the filter and the output follow. For im2col the first windows are
outlined in colours on the input and the same colours mark their rows in the matrix.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..display import format_number
from ..i18n import _
from .backward import KINDS as BACKWARD_KINDS
from .backward import plot_backward
from .figure import finish, grid_shape, new_figure
from .tables import CELL_IN, COLOURS
from .tables import draw_table as _table

if TYPE_CHECKING:  # explain makes the Walkthrough and draws it with this module: types only
    from matplotlib.figure import Figure

    from ..learn.explain import Walkthrough

def plot_walkthrough(walk: Walkthrough, path: str | Path | None = None,
                     max_windows: int = 9) -> Figure | Path:
    """Draw a :class:`tatamu.learn.explain.Walkthrough`: saved to ``path`` (returned), or, with no
    path, returned as its matplotlib Figure (a notebook cell shows it)."""
    if walk.kind in BACKWARD_KINDS:
        return plot_backward(walk, path)
    if walk.kind == "im2col":
        return _plot_im2col(walk, path)
    windows = walk.windows[:max_windows]
    extra = [(_("filter"), walk.weights)] if walk.weights is not None else []
    extra.append((_("output ({oh}x{ow})", oh=walk.output.shape[0], ow=walk.output.shape[1]),
                  walk.output))
    rows, cols = grid_shape(len(windows) + len(extra), max_cols=4)
    hp, wp = walk.padded.shape
    fig = new_figure(figsize=(cols * (wp * CELL_IN + 0.3), rows * (hp * CELL_IN + 0.6) + 0.5),
                     layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes:
        ax.set_axis_off()
    kh, kw = walk.kernel_size
    for ax, win in zip(axes, windows, strict=False):
        boxes = [(win.top, win.left, kh, kw, "tab:orange")]
        if walk.extra.get("mode") == "max":  # the winner (the first maximum, as MaxPool2D)
            r, c = divmod(int(np.argmax(win.values)), kw)
            boxes.append((win.top + r, win.left + c, 1, 1, "tab:red"))
        _table(ax, walk.padded, walk.is_pad, boxes)
        ax.set_title(f"out[{win.out[0]}, {win.out[1]}] = {format_number(win.result)}", fontsize=10)
    for ax, (title, table) in zip(axes[len(windows):], extra, strict=False):
        _table(ax, table)
        ax.set_title(title, fontsize=10)
    what = _("convolution: multiply-add under the window") if walk.kind == "conv" else (
        _("pooling: the largest value of each window (red)") if walk.extra.get("mode") == "max"
        else _("pooling: the mean of each window"))
    more = _(" (first {shown} of {count} windows)", shown=len(windows),
             count=len(walk.windows)) if len(walk.windows) > len(windows) else ""
    pad_note = _("; grey = padding") if walk.is_pad.any() else ""
    fig.suptitle(f"{walk.lines[0]}\n{what}{more}{pad_note}", fontsize=10)
    return finish(fig, path)


def _plot_im2col(walk: Walkthrough, path: str | Path | None) -> Figure | Path:
    col = walk.output
    hp, wp = walk.padded.shape
    oh = walk.output.shape[0] // max(1, walk.extra["input_shape"][0])  # windows per image
    ow = len([w for w in walk.windows if w.out[0] == 0])
    # A step right and a step down: the two ways the window moves.
    picks = [k for k in dict.fromkeys((0, 1, ow)) if k < min(oh, len(walk.windows))]
    shown = col[: max(picks[-1] + 1, min(len(col), 12))]
    width = max(len(picks) * (wp * CELL_IN + 0.4), shown.shape[1] * CELL_IN * 0.85 + 0.6)
    fig = new_figure(figsize=(width, hp * CELL_IN + len(shown) * CELL_IN * 0.85 + 1.6),
                     layout="constrained")
    grid = fig.add_gridspec(2, len(picks), height_ratios=[hp, len(shown) * 0.85])
    kh, kw = walk.kernel_size
    for k, pick in enumerate(picks):
        win = walk.windows[pick]
        ax = fig.add_subplot(grid[0, k])
        _table(ax, walk.padded, walk.is_pad, [(win.top, win.left, kh, kw, COLOURS[k])])
        ax.set_title(_("window {pick}: rows {top}-{bottom}, cols {left}-{right}", pick=pick,
                       top=win.top, bottom=win.top + kh - 1, left=win.left,
                       right=win.left + kw - 1), fontsize=9)
    ax_col = fig.add_subplot(grid[1, :])
    _table(ax_col, shown, None, [(pick, 0, 1, shown.shape[1], COLOURS[k])
                                 for k, pick in enumerate(picks)], fontsize=7)
    more = _(" (first {count} rows)", count=len(shown)) if len(shown) < len(col) else ""
    ax_col.set_title(_("col = im2col(x): {rows} x {cols}, row k = window k, read left to right, "
                       "top to bottom{more}", rows=col.shape[0], cols=col.shape[1], more=more),
                     fontsize=9)
    fig.suptitle(walk.lines[0], fontsize=10)
    return finish(fig, path)
