"""Arrays drawn as tables of numbers, the way the book draws its worked examples (Fig. 7-4).

Shared by the forward pictures (``windows.py``) and the backward ones (``backward.py``): each
cell shows its number, padding is grey, and boxes tint and outline the cells they cover.
"""

from __future__ import annotations

import numpy as np

from ..display import format_number

CELL_IN = 0.34  # inches per table cell
COLOURS = ("tab:orange", "tab:blue", "tab:green", "tab:purple", "tab:red", "tab:brown")


def draw_table(ax, a: np.ndarray, is_pad: np.ndarray | None = None, boxes=(),
               fontsize: float = 9) -> None:
    """Draw ``a`` as a table of numbers; padding grey; each box (top, left, h, w, colour)
    tinted and outlined in its colour."""
    from matplotlib.patches import Rectangle

    h, w = a.shape
    shade = np.zeros((h, w)) if is_pad is None else is_pad.astype(float) * 0.25
    ax.imshow(shade, cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
    for top, left, bh, bw, colour in boxes:
        for fill, alpha in ((True, 0.3), (False, 1.0)):
            ax.add_patch(Rectangle((left - 0.5, top - 0.5), bw, bh, fill=fill, alpha=alpha,
                                   facecolor=colour if fill else "none", edgecolor=colour,
                                   linewidth=0 if fill else 2.2))
    for (r, c), v in np.ndenumerate(a):
        padding = is_pad is not None and is_pad[r, c]
        ax.text(c, r, format_number(v), ha="center", va="center", fontsize=fontsize,
                color="grey" if padding else "black")
    ax.set_xticks(np.arange(-0.5, w), minor=True)
    ax.set_yticks(np.arange(-0.5, h), minor=True)
    ax.grid(which="minor", color="lightgrey", linewidth=0.6)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_axis_on()
