"""Feature maps: what each conv and pool layer outputs for one input (the book's §7.6).

"CNNは何を見ているか": the first layer's maps are the input filtered by each filter (edges,
strokes, blobs); pooling halves them; deeper maps grow coarser and more abstract. Drawing one
image's maps layer after layer makes the shapes of the book's (N, C, H, W) arrays visible.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError
from ..i18n import _
from ..model import Sequential
from .figure import draw_mosaic, draw_sample, finish, grid_shape, new_figure, symmetric_limit
from .probe import layer_outputs, map_layers

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TILE_IN = 0.62  # inches per feature map tile


def plot_feature_maps(model: Sequential, x: np.ndarray, path: str | Path | None = None, *,
                      caption: str | None = None, class_names: list[str] | None = None,
                      max_channels: int = 32) -> Figure | Path:
    """Draw the input ``x`` and every conv/pool layer's output channels for it.

    ``x`` is one sample (C, H, W) (or (C, L) for a 1-D model). Each layer's maps share one
    colour scale: red/blue around white 0 where the maps have negative values (a convolution
    before its ReLU), black to white where they are all >= 0 (after ReLU and pooling).
    At most ``max_channels`` channels per layer are drawn.

    Shapes: x (C, H, W) -> one picture; the layer ``name``'s maps are outputs[name][0].
    """
    names = map_layers(model)
    if not names:
        raise ConfigError(_("this model has no convolution or pooling layer (its layers: "
                            "{layers}): it makes no feature maps", layers=', '.join(model.layers)))
    outputs = layer_outputs(model, x[None])
    probs = _softmax(outputs[list(model.layers)[-1]][0])
    pred = int(np.argmax(probs))
    label = class_names[pred] if class_names else str(pred)
    maps = {n: outputs[n][0][:max_channels] for n in names}  # (C, H, W) or (C, L) each
    heights, width = [1.9], 6.0
    for m in maps.values():
        rows, cols = grid_shape(len(m)) if m.ndim == 3 else (1, 1)
        heights.append(rows * TILE_IN * 1.35 + 0.5 if m.ndim == 3 else 0.25 * len(m) + 0.9)
        width = max(width, cols * TILE_IN + 1.8)
    fig = new_figure(figsize=(width, sum(heights) + 0.4), layout="constrained")
    axes = fig.subplots(len(heights), 1, height_ratios=heights)
    caption = _("input") if caption is None else caption
    draw_sample(axes[0], x, caption + "  ->  " + _("predicted {name} ({percent:.1f}%)",
                                                   name=label, percent=100 * probs[pred]),
                fontsize=10)
    for ax, name in zip(axes[1:], names, strict=True):
        _draw_layer(fig, ax, model, name, maps[name])
    fig.suptitle(_("feature maps: each conv/pool layer's output channels for this input"),
                 fontsize=11)
    return finish(fig, path)


def _draw_layer(fig, ax, model: Sequential, name: str, m: np.ndarray) -> None:
    layer = model.layers[name]
    shape = model.output_shapes[list(model.layers).index(name)]
    size = "x".join(str(s) for s in shape[1:])
    shown = "" if len(m) == shape[0] else _(", first {count} shown", count=len(m))
    signed = bool(np.min(m) < 0)
    cmap, vmin, vmax = ("RdBu_r", -symmetric_limit(m), symmetric_limit(m)) if signed else (
        "gray", 0.0, max(float(np.max(m)), 1e-12))
    if m.ndim == 3:
        _rows, cols = grid_shape(len(m))
        image = draw_mosaic(ax, m, cols, [str(i) for i in range(len(m))], cmap=cmap,
                            vmin=vmin, vmax=vmax, fontsize=6)
    else:  # (C, L): one row per channel
        image = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto",
                          interpolation="nearest")
        ax.set_ylabel(_("channel"))
        ax.set_xlabel(_("position"))
    ax.set_title(_("{name} ({type}{after}): {shape} channels of {size}{shown}",
                   name=name, type=type(layer).__name__, after=_after(model, name),
                   shape=shape[0], size=size, shown=shown), fontsize=10)
    fig.colorbar(image, ax=ax, shrink=0.9, label=_("activation"))


def _after(model: Sequential, name: str) -> str:
    """", after relu1" when layers that draw no maps (ReLU...) sit between this and the last."""
    names, drawn = list(model.layers), set(map_layers(model))
    between = []
    for previous in reversed(names[: names.index(name)]):
        if previous in drawn:
            break
        between.insert(0, previous)
    return _(", after {layers}", layers=", ".join(between)) if between else ""


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max())
    return e / e.sum()
