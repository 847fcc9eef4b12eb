"""Pictures for the recipes (issue 15): what augmentation does to digits, and runs compared.

``plot_augmented`` shows a few training images next to the disturbed copies a network sees
in successive epochs; ``plot_runs`` draws the accuracy of several runs on one pair of axes
(``tatamu show curves RUN RUN...``), so the book's recipe, a schedule and augmentation can be
told apart at a glance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..datasets.augment import Augment
from ..i18n import _
from .figure import DPI, draw_mosaic, finish, new_figure
from .plots import use_japanese_font


def plot_augmented(images: np.ndarray, augment: Augment, path: str | Path | None = None, *,
                   copies: int = 6, seed: int = 0):
    """Each image of ``images`` (K, 1, H, W) in a row: the original, then ``copies`` disturbed.
    Saved as a PNG at ``path`` (returned), or the Figure when no path is given.

    Copy ``j`` is what batch 0 of epoch ``j + 1`` would show with ``seed`` (all K in one batch).
    """
    images = np.asarray(images)
    k, _c, h, w = images.shape
    tiles = [images[:, 0]]
    for epoch in range(1, copies + 1):
        tiles.append(augment.for_batch(images, seed, epoch, 0)[:, 0])
    grid = np.stack(tiles, axis=1).reshape(k * (copies + 1), h, w)  # rows: one image each
    labels = ([_("original")] + [_("epoch {epoch}", epoch=e) for e in range(1, copies + 1)]) * k
    fig = new_figure(figsize=(0.6 + 1.0 * (copies + 1), 0.6 + 1.25 * k), dpi=DPI)
    ax = fig.subplots()
    image = draw_mosaic(ax, grid, copies + 1, labels, cmap="gray_r", vmin=0, vmax=1)
    height, width = image.get_array().shape
    ax.set_xlim(-1, width)  # a pixel of room, so the outer tiles' frames are not cut
    ax.set_ylim(height, -1)
    ax.set_axis_off()
    settings = ", ".join(f"{name}={value:g}" for name, value in augment.config().items()
                         if not isinstance(value, bool) and name != "elastic_sigma")
    ax.set_title(_("augmentation ({settings})", settings=settings), fontsize=8)
    use_japanese_font(fig)  # before the layout measures the texts
    fig.tight_layout()
    return finish(fig, path)


def plot_runs(histories: dict[str, dict[str, Any]], path: str | Path | None = None, *,
              title: str = "", ymin: float | None = None):
    """Accuracy per epoch of several runs (``{label: history dict}``), on one axes; saved as a
    PNG at ``path`` (returned), or the Figure when no path is given.

    Each run's validation accuracy where it has one (solid), its test accuracy where that was
    measured (dashed; a single point when measured at the end only): a curve is always named
    for the data it was measured on. ``ymin`` (percent) cuts off the first epochs' climb, so
    the last epochs' gaps show.
    """
    from matplotlib.ticker import MaxNLocator  # (import tatamu never imports matplotlib)

    fig = new_figure(figsize=(6.4, 4.0), dpi=DPI)
    ax = fig.subplots()
    kinds = set()
    for index, (label, history) in enumerate(histories.items()):
        colour = f"C{index % 10}"
        for kind, style in (("val", "-"), ("test", "--")):
            values = history.get(f"{kind}_accuracy") or [None] * len(history["epoch"])
            pairs = [(e, 100 * a) for e, a in zip(history["epoch"], values, strict=True)
                     if a is not None]
            if not pairs:
                continue
            kinds.add(kind)
            name = _("validation") if kind == "val" else _("test")
            ax.plot(*zip(*pairs, strict=True), style, color=colour,
                    marker="." if len(pairs) <= 30 else None,
                    label=_("{label}: {data} (last {accuracy:.2f}%)", label=label, data=name,
                            accuracy=pairs[-1][1]))
    if ymin is not None:
        ax.set_ylim(bottom=ymin)
    ax.set_xlabel(_("epoch"))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    data = " / ".join(n for k, n in (("val", _("validation")), ("test", _("test")))
                      if k in kinds)
    ax.set_ylabel(_("{data} accuracy (%)", data=data))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title)
    use_japanese_font(fig)  # before the layout measures the texts
    fig.tight_layout()
    return finish(fig, path)
