"""What every picture in ``tatamu.viz`` shares: tiling, colour scales, samples drawn.

A Figure is made, saved or returned by :mod:`tatamu.viz.plots` (re-exported here: ``new_figure``,
``finish``, ``save``, ``DPI``): never through pyplot, so no window opens; without a path a
picture is returned as its Figure, which a notebook cell shows by itself. Figures are sized in
inches at a fixed :data:`DPI`, so a picture's pixel size follows from its layout alone.
"""

from __future__ import annotations

import math

import numpy as np

from .plots import DPI as DPI
from .plots import finish as finish
from .plots import new_figure as new_figure
from .plots import save as save


def grid_shape(count: int, max_cols: int = 10) -> tuple[int, int]:
    """(rows, cols) for ``count`` tiles in rows of at most ``max_cols``.

    >>> grid_shape(30), grid_shape(6), grid_shape(64)
    ((3, 10), (1, 6), (7, 10))
    """
    cols = max(1, min(max_cols, count))
    return math.ceil(count / cols), cols


def mosaic(tiles: np.ndarray, cols: int, gap: int = 1, label_room: int = 0) -> np.ndarray:
    """Tile ``tiles`` (K, h, w) into one image, ``cols`` tiles wide, ``gap`` pixels apart.

    ``label_room`` blank rows sit above each row of tiles (for their labels). Gaps and unused
    tiles are NaN, which ``imshow`` leaves blank: one image instead of K axes draws fast and
    shares one colour scale.

    Shapes: (K, h, w) -> (rows*(label_room+h+gap) - gap, cols*(w+gap) - gap), rows = ceil(K/cols)
    """
    k, h, w = tiles.shape
    rows = math.ceil(k / cols)
    step_r, step_c = label_room + h + gap, w + gap
    out = np.full((rows * step_r - gap, cols * step_c - gap), np.nan, dtype=np.float64)
    for i in range(k):
        r, c = divmod(i, cols)
        top, left = r * step_r + label_room, c * step_c
        out[top : top + h, left : left + w] = tiles[i]
    return out


def draw_mosaic(ax, tiles: np.ndarray, cols: int, labels: list[str] | None = None, *,
                cmap: str = "gray", vmin: float | None = None, vmax: float | None = None,
                fontsize: float = 7):
    """Draw ``tiles`` (K, h, w) as a mosaic on ``ax``, each tile labelled above; return the image.

    The gap between tiles is a tenth of a tile (at least one pixel), so small tiles stay apart.
    """
    k, h, w = tiles.shape
    gap = max(1, round(max(h, w) / 10))
    label_room = max(2, round(h * 0.4)) if labels else 0
    big = mosaic(tiles, cols, gap, label_room)
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    image = ax.imshow(big, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    frames = []
    for i in range(k):
        r, c = divmod(i, cols)
        top, left = r * (label_room + h + gap) + label_room, c * (w + gap)
        # A thin frame, so a tile of the background's colour (all white) is still seen.
        frames.append(Rectangle((left - 0.5, top - 0.5), w, h))
        if labels and i < len(labels):  # just above the tile
            ax.text(left + (w - 1) / 2, top - 0.7, labels[i], ha="center", va="bottom",
                    fontsize=fontsize)
    ax.add_collection(PatchCollection(frames, facecolor="none", edgecolor="0.55",
                                      linewidth=0.6))
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    return image


def symmetric_limit(*arrays: np.ndarray) -> float:
    """The largest |value| over ``arrays``: a colour scale centred on 0 (white = 0)."""
    vmax = max(float(np.nanmax(np.abs(a))) for a in arrays)
    return vmax if vmax > 0 else 1.0


def draw_sample(ax, x: np.ndarray, title: str = "", *, fontsize: float = 9, color="black"):
    """Draw one input sample: an image (C, H, W) in grey (RGB for C = 3), a signal (1, L) as
    a line. Pixel values in [0, 1]: 0 black, 1 white, as MNIST stores them."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:  # (C, L): a 1-D signal
        for channel in x:
            ax.plot(channel, lw=1)
        ax.set_xticks([])
        ax.set_yticks([])
    else:
        if x.shape[0] == 3:
            ax.imshow(np.clip(x.transpose(1, 2, 0), 0, 1), interpolation="nearest")
        else:  # one channel (or the mean of several: a rough picture of the input)
            ax.imshow(x.mean(axis=0), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize, color=color)
