"""Pictures of convolution filters: the book's Fig. 7-24, before and after training (§7.6.1).

Before training the first layer's filters are noise; after training many are edge and blob
detectors ("where is it bright, where dark"). Deeper layers' filters have one slice per input
channel, drawn as a grid: a row per filter, a column per input channel.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..backend.arrays import as_numpy
from ..errors import ConfigError
from ..i18n import _
from ..model import Sequential
from .figure import draw_mosaic, finish, grid_shape, new_figure, symmetric_limit
from .probe import conv_layers, find_layer

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Inches per filter tile, and per grid cell of the per-channel view.
TILE_IN = 0.6
CELL_IN = 0.42
CMAP = "RdBu_r"  # red positive, white zero, blue negative


def plot_filters(model: Sequential, path: str | Path | None = None, *, layer: str | None = None,
                 initial: Sequential | None = None, after: str | None = None,
                 max_filters: int = 64, max_channels: int = 16, title: str = "") -> Figure | Path:
    """Draw the filters of ``layer`` (default: the first convolution): saved to ``path``
    (returned), or, with no path, returned as the Figure.

    For a layer whose input has one channel (the first layer on MNIST) every filter is one
    tile. With ``initial`` (the model before training: ``initial.npz`` of a run) the picture
    has three panels: the filters before training, after (labelled ``after``, by default
    "after training" in the current language), and the change
    that training made. With He initialisation the random start is large and the change is
    where the learned strokes show; with the book's small ``init=0.01`` "after" looks like the
    change. For more input channels the grid has a row per filter and a column per channel
    (up to ``max_filters`` x ``max_channels``). Red is positive, blue negative, white zero.
    """
    after = _("after training") if after is None else after  # in the language of the call
    name = layer or _first_conv(model)
    weights = _filter_weights(model, name)
    before = _filter_weights(initial, name) if initial is not None else None
    if before is not None and before.shape != weights.shape:
        raise ConfigError(_("the initial model's {name} has filters of shape {shape}, not "
                            "{expected}: it is from another architecture",
                            name=name, shape=before.shape, expected=weights.shape))
    fn, c, fh, fw = weights.shape
    spec = (_("{fn} filters of {c}x{fh}x{fw}", fn=fn, c=c, fh=fh, fw=fw) if fh > 1 else
            _("{fn} filters of {c}x{fw}", fn=fn, c=c, fw=fw))
    if c == 1:
        return _plot_single_channel(weights, before, path, name, spec, after, title)
    return _plot_per_channel(weights[:max_filters, :max_channels], path, name, spec, title,
                             shown=(min(fn, max_filters), min(c, max_channels)))


def _plot_single_channel(weights, before, path, name, spec, after, title) -> Figure | Path:
    fn, _c, fh, fw = weights.shape
    rows, cols = grid_shape(fn)
    panels = [(after, weights)]
    if before is not None:
        panels = [(_("before training: random initial weights (std {std:.2f})",
                     std=before.std()), before),
                  (after, weights),
                  (_("the change training made (after - before), its own colour scale"),
                   weights - before)]
    tile_w, tile_h = TILE_IN * max(1.0, fw / fh / 3), TILE_IN * max(1.0, fh / fw)
    panel_h = rows * tile_h * 1.45 + 0.45
    fig = new_figure(figsize=(cols * tile_w + 1.7, len(panels) * panel_h + 0.5),
                     layout="constrained")
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    shared = symmetric_limit(*(w for _label, w in panels[:2]))
    labels = [f"#{i}" for i in range(fn)]
    images = []
    for i, (ax, (label, w)) in enumerate(zip(axes, panels, strict=True)):
        vmax = shared if i < 2 else symmetric_limit(w)
        images.append(draw_mosaic(ax, w[:, 0], cols, labels, cmap=CMAP, vmin=-vmax, vmax=vmax))
        ax.set_title(label, fontsize=10)
    weight_axes = list(axes[:2]) if len(panels) == 3 else list(axes)
    fig.colorbar(images[0], ax=weight_axes, shrink=0.8, label=_("weight (red +, blue -, white 0)"))
    if len(panels) == 3:
        fig.colorbar(images[2], ax=axes[2], shrink=0.9, label=_("change in weight"))
    fig.suptitle(title or f"{name}: {spec}", fontsize=11)
    return finish(fig, path)


def _plot_per_channel(weights, path, name, spec, title, shown) -> Figure | Path:
    fn, c, fh, fw = weights.shape
    vmax = symmetric_limit(weights)
    cell_w, cell_h = CELL_IN * max(1.0, fw / fh / 3), CELL_IN
    fig = new_figure(figsize=(c * cell_w + 2.4, fn * cell_h + 1.3), layout="constrained")
    ax = fig.add_subplot()
    tiles = weights.reshape(fn * c, fh, fw)  # (F, C, FH, FW) -> (F*C, FH, FW), row = filter
    image = draw_mosaic(ax, tiles, c, None, cmap=CMAP, vmin=-vmax, vmax=vmax)
    gap = max(1, round(max(fh, fw) / 10))
    ax.set_xticks([j * (fw + gap) + (fw - 1) / 2 for j in range(c)], [str(j) for j in range(c)],
                  fontsize=7)
    ax.set_yticks([i * (fh + gap) + (fh - 1) / 2 for i in range(fn)],
                  [str(i) for i in range(fn)], fontsize=7)
    ax.set_xlabel(_("input channel (one slice of each filter per channel)"))
    ax.set_ylabel(_("filter (output channel)"))
    fig.colorbar(image, ax=ax, shrink=0.8, label=_("weight (red +, blue -, white 0)"))
    more = "" if shown == (fn, c) else _(" (first {filters} filters x {channels} channels)",
                                         filters=shown[0], channels=shown[1])
    fig.suptitle(title or f"{name}: {spec}{more}", fontsize=11)
    return finish(fig, path)


def _first_conv(model: Sequential) -> str:
    names = conv_layers(model)
    if not names:
        raise ConfigError(_("this model has no convolution layer (its layers: {layers}): it has "
                            "no filters to draw", layers=', '.join(model.layers)))
    return names[0]


def _filter_weights(model: Sequential, name: str) -> np.ndarray:
    """The filters of ``name`` as (FN, C, FH, FW) floats; a Conv1D's (FN, C, K) as (FN, C, 1, K)."""
    layer = find_layer(model, name)
    if name not in conv_layers(model):
        raise ConfigError(_("{name} is a {type}, not a convolution: it has no filters; conv "
                            "layers: {conv_layers}",
                            name=name, type=type(layer).__name__,
                            conv_layers=', '.join(conv_layers(model)) or 'none'))
    w = as_numpy(layer.W).astype(np.float64)
    return w[:, :, None, :] if w.ndim == 3 else w
