"""Pictures made from gradients with respect to the input: saliency maps and "dreams".

Training asks "how should the weights change to lower the loss?"; the same backward pass can
ask "how should the *input* change to raise a score?". Where that gradient is large is what
the decision depends on (saliency); climbing it produces an input a channel likes most
(activation maximisation: "what this filter looks for").
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..i18n import _
from ..model import Sequential
from .figure import draw_mosaic, draw_sample, finish, grid_shape, new_figure, symmetric_limit
from .probe import dream, find_layer, saliency_map

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PANEL_IN = 3.0  # inches per saliency panel
TILE_IN = 0.95  # inches per dreamed input


def plot_saliency(model: Sequential, x: np.ndarray, path: str | Path | None = None, *,
                  target: int | None = None, smooth: int = 0, caption: str | None = None,
                  class_names: list[str] | None = None) -> Figure | Path:
    """Three panels: the input, how much each pixel moves the class score, and which way.

    ``target`` is the class whose score (logit) is differentiated; default: the predicted
    class; ``smooth=N`` averages N noisy copies' gradients (SmoothGrad: less speckle).
    Shapes: x (C, H, W) one sample (or (C, L) for a 1-D model).
    """
    grad, target, probs = saliency_map(model, x, target, smooth=smooth)
    names = class_names or [str(i) for i in range(len(probs))]
    pred = int(np.argmax(probs))
    fig = new_figure(figsize=(3 * PANEL_IN + 1.2, PANEL_IN + 0.9), layout="constrained")
    ax_in, ax_mag, ax_sign = fig.subplots(1, 3)
    caption = _("input") if caption is None else caption
    draw_sample(ax_in, x, caption + "\n" + _("predicted {name} ({percent:.1f}%)",
                                             name=names[pred], percent=100 * probs[pred]),
                fontsize=9)
    score = f"score({names[target]})"
    if grad.ndim == 2:  # (C, L): a 1-D signal, gradients as curves
        for ax, values, label in ((ax_mag, np.abs(grad).max(axis=0), f"|d {score} / d x|"),
                                  (ax_sign, grad.sum(axis=0), f"d {score} / d x")):
            ax.plot(values)
            ax.set(xlabel=_("position"), ylabel=label)
    else:
        magnitude = np.abs(grad).max(axis=0)  # (C, H, W) -> (H, W): the strongest channel
        signed = grad.sum(axis=0)
        image = ax_mag.imshow(magnitude, cmap="inferno", interpolation="nearest")
        fig.colorbar(image, ax=ax_mag, shrink=0.8, label=f"|d {score} / d pixel|")
        vmax = symmetric_limit(signed)
        image = ax_sign.imshow(signed, cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                               interpolation="nearest")
        fig.colorbar(image, ax=ax_sign, shrink=0.8, label=f"d {score} / d pixel")
        for ax in (ax_mag, ax_sign):
            ax.set_xticks([])
            ax.set_yticks([])
    if grad.ndim == 2:
        ax_mag.set_title(_("where the score is sensitive\n(high = changing this value matters)"),
                         fontsize=9)
        ax_sign.set_title(_("which way: > 0 = a larger value here\nraises the score for {names}",
                            names=names[target]), fontsize=9)
    else:
        ax_mag.set_title(_("where the score is sensitive\n(bright = changing this pixel matters)"),
                         fontsize=9)
        ax_sign.set_title(_("which way: red = brighter here raises\nthe score for {names}, blue "
                            "= lowers it", names=names[target]), fontsize=9)
    how = _(", averaged over {smooth} noisy copies (SmoothGrad)", smooth=smooth) if smooth else ""
    fig.suptitle(_("saliency: gradient of the class score for {names} with respect to the "
                   "input{how}", names=names[target], how=how), fontsize=11)
    return finish(fig, path)


def plot_dream(model: Sequential, layer: str, channels: list[int] | None = None,
               path: str | Path | None = None, *,
               steps: int = 100, seed: int = 0,
               class_names: list[str] | None = None) -> Figure | Path:
    """Inputs optimised to excite each of ``channels`` of ``layer`` (default: all of them).

    See :func:`tatamu.viz.probe.dream` for the objective. For the last layer the channels
    are the classes, labelled with ``class_names``.
    """
    find_layer(model, layer)
    index = list(model.layers).index(layer)
    width = model.output_shapes[index][0]
    channels = list(range(width)) if channels is None else list(channels)
    x, score = dream(model, layer, channels, steps=steps, seed=seed)
    last = index == len(model.layers) - 1
    names = class_names if last and class_names else None
    labels = [f"{names[c] if names else c}: {s:.2g}" for c, s in zip(channels, score,
                                                                       strict=True)]
    rows, cols = grid_shape(len(channels))
    tile = max(TILE_IN, min(2.4, 6.0 / cols))  # a few channels get bigger tiles
    fig = new_figure(figsize=(max(7.0, cols * tile + 1.6), max(3.0, rows * tile * 1.3 + 1.1)),
                     layout="constrained")
    ax = fig.add_subplot()
    if x.ndim == 4 and x.shape[1] == 1:
        image = draw_mosaic(ax, x[:, 0], cols, labels, vmin=0, vmax=1, fontsize=7)
        fig.colorbar(image, ax=ax, shrink=0.8, label=_("pixel (0 black, 1 white)"),
                     panchor=False)  # keep the tiles centred, not pushed to the colour bar
    else:  # several input channels or a 1-D signal: one small plot per channel
        ax.remove()
        sub = fig.subplots(rows, cols, squeeze=False).ravel()
        for a in sub:
            a.set_axis_off()
        for a, xi, label in zip(sub, x, labels, strict=False):
            a.set_axis_on()
            draw_sample(a, xi, label, fontsize=7)
    title = (_("what excites each class of {layer}: inputs found by gradient ascent ({steps} "
               "steps from dark noise)\nlabel = class: its final score") if last else
             _("what excites each channel of {layer}: inputs found by gradient ascent ({steps} "
               "steps from dark noise)\nlabel = channel: its final mean positive activation"))
    fig.suptitle(title.format(layer=layer, steps=steps), fontsize=10)
    return finish(fig, path)
