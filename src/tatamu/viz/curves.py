"""Training curves: loss and accuracy per epoch, train and test (``tatamu show curves``).

The first picture to look at after a run: a gap between the train and test curves that
grows is over-fitting; a test loss that rises while its accuracy still improves is a model
growing over-confident on the images it gets wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .figure import DPI, finish, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_curves(history: dict[str, Any], path: str | Path | None = None,
                 title: str = "") -> Figure | Path:
    """Loss and accuracy per epoch, training and validation, side by side.

    Saved to ``path`` (returned), or, with no path, returned as the Figure (a notebook cell
    shows it). ``history``: a :class:`tatamu.train.History` or its ``to_dict()``.
    """
    if hasattr(history, "to_dict"):
        history = history.to_dict()
    fig = new_figure(figsize=(10, 4), dpi=DPI)
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = history["epoch"]
    ax_loss.plot(epochs, history["train_loss"], "o-", label="train")
    ax_acc.plot(epochs, [100 * a for a in history["train_accuracy"]], "o-", label="train")
    val_epochs = [e for e, v in zip(epochs, history["val_loss"], strict=True) if v is not None]
    if val_epochs:
        ax_loss.plot(val_epochs, [v for v in history["val_loss"] if v is not None], "s-",
                     label="test")
        ax_acc.plot(val_epochs, [100 * v for v in history["val_accuracy"] if v is not None],
                    "s-", label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(True, alpha=0.3)
        ax.legend()
        if len(epochs) <= 20:
            ax.set_xticks(epochs)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return finish(fig, path)
