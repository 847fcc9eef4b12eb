"""Where a trained model goes wrong: its misclassified test images and its confusion matrix.

The seeds looped over the test set printing "正解:4 推論結果:9" and showing each image with
matplotlib, one window at a time. Here the mistakes are one grid, the most confident first
(those are the interesting ones: a wrong answer given with 99% certainty is either a strange
digit or a wrong label), and the confusion matrix says which classes are mixed up how often.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..backend.arrays import as_numpy
from ..errors import ShapeError
from ..i18n import _
from ..training.metrics import class_indices, confusion_matrix
from .figure import draw_sample, finish, grid_shape, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CELL_IN = 1.45  # inches per mistake tile


def most_confident_mistakes(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Indices of the misclassified samples, the most confident (highest probability) first.

    Shapes: probs (N, classes), labels (N,) -> (M,) indices into the N samples.
    """
    probs, labels = as_numpy(probs), as_numpy(labels)
    if probs.ndim != 2 or len(probs) != len(labels):
        raise ShapeError(_("expected probabilities (N, classes) and labels (N,); got {shape} "
                           "and {labels_shape}", shape=probs.shape, labels_shape=labels.shape))
    pred = class_indices(probs)
    wrong = np.flatnonzero(pred != labels)
    order = np.argsort(-probs[wrong, pred[wrong]], kind="stable")
    return wrong[order]


def plot_errors(x: np.ndarray, labels: np.ndarray, probs: np.ndarray,
                path: str | Path | None = None, *, class_names: list[str] | None = None,
                count: int = 25, index_offset: int = 0) -> Figure | Path:
    """A grid of up to ``count`` misclassified samples, the most confident mistakes first.

    Each tile shows the sample's index in the test set (``index_offset`` + position), its true
    label, the predicted label with its probability, and the probability given to the truth.

    Shapes: x (N, C, H, W) or (N, C, L), labels (N,), probs (N, classes).
    """
    probs, labels = as_numpy(probs), as_numpy(labels)
    names = class_names or [str(i) for i in range(probs.shape[1])]
    wrong = most_confident_mistakes(probs, labels)
    shown = wrong[:count]
    rows, cols = grid_shape(max(1, len(shown)), max_cols=5)
    long_names = max(len(n) for n in names) > 5  # "Ankle boot": one fact per title line
    title_in = 0.5 if long_names else 0.35
    fig = new_figure(figsize=(max(6.0, cols * CELL_IN + 0.3),
                              rows * (CELL_IN + title_in) + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    for ax in axes:
        ax.set_axis_off()
    for ax, i in zip(axes, shown, strict=False):
        pred, true = int(probs[i].argmax()), int(labels[i])
        ax.set_axis_on()
        draw_sample(ax, x[i])
        where = f"#{index_offset + i}" + ("\n" if long_names else ": ")
        ax.set_title(where + _("true {true} ({true_p})\npredicted {pred} ({pred_p})",
                               true=names[true], true_p=_percent(probs[i, true]),
                               pred=names[pred], pred_p=_percent(probs[i, pred])),
                     fontsize=7 if long_names else 8, color="firebrick")
    total = len(labels)
    if len(wrong) == 0:
        axes[0].text(0.5, 0.5, _("no mistakes"), ha="center", va="center", fontsize=12)
    shown_text = (_("; the {count} most confident mistakes, most confident first",
                    count=len(shown))
                  if len(wrong) else "")
    fig.suptitle(_("{wrong:,} of {total:,} test images misclassified ({percent:.1f}%)"
                   "{shown_text}", wrong=len(wrong), total=total,
                   percent=100 * len(wrong) / total, shown_text=shown_text), fontsize=10)
    return finish(fig, path)


def plot_confusion(probs: np.ndarray, labels: np.ndarray, path: str | Path | None = None, *,
                   class_names: list[str] | None = None, title: str = "") -> Figure | Path:
    """The confusion matrix: row = true class, column = predicted class, each cell a count.

    Colours are on a log scale so the few off-diagonal mistakes stay visible next to the
    thousands of correct answers on the diagonal; empty cells are white.
    """
    from matplotlib.colors import LogNorm

    probs, labels = as_numpy(probs), as_numpy(labels)
    k = probs.shape[1]
    names = class_names or [str(i) for i in range(k)]
    matrix = confusion_matrix(probs, labels, k)
    fig = new_figure(figsize=(max(6.0, 0.62 * k + 2.6), max(5.2, 0.55 * k + 2.4)),
                     layout="constrained")
    ax = fig.add_subplot()
    shown = np.where(matrix > 0, matrix, np.nan)
    image = ax.imshow(shown, cmap="Blues", norm=LogNorm(vmin=0.6, vmax=max(2, matrix.max())))
    for (r, c), v in np.ndenumerate(matrix):
        if v:
            dark = v > np.sqrt(max(2, matrix.max()))  # past the middle of the log scale
            ax.text(c, r, str(v), ha="center", va="center", fontsize=8,
                    color="white" if dark else ("black" if r == c else "firebrick"))
    long_names = max(len(n) for n in names) > 3
    ax.set_xticks(range(k), names, rotation=45 if long_names else 0,
                  ha="right" if long_names else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel(_("predicted class"))
    ax.set_ylabel(_("true class"))
    fig.colorbar(image, ax=ax, shrink=0.85, label=_("images (log scale)"))
    accuracy = np.trace(matrix) / max(1, matrix.sum())
    ax.set_title(title or _("confusion matrix: {images:,} test images, accuracy "
                            "{accuracy:.2f}%\n(diagonal = correct; red numbers = mistakes)",
                            images=matrix.sum(), accuracy=100 * accuracy),
                 fontsize=10)
    return finish(fig, path)


def _percent(p: float) -> str:
    """A probability as a percentage that never rounds a small one to a flat 0% or 100%."""
    if 0 < p < 0.01:
        return "<1%"
    if 0.99 < p < 1:
        return ">99%"
    return f"{100 * p:.0f}%"
