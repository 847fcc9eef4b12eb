"""Pictures of a run, saved as PNG files (matplotlib's Agg backend; never a window).

matplotlib is imported inside the functions, so ``import tatamu`` stays fast and works on a
machine with no display. The training curves live here (``tatamu train`` draws them); the
pictures of filters, feature maps, mistakes and gradients live in :mod:`tatamu.viz`
(``tatamu.viz.plot_filters``...). This module imports nothing from ``viz`` (``viz.show`` draws
curves with it), so the two never import each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)  # files only: works over SSH and in CI
    import matplotlib.pyplot as plt

    return plt


def plot_history(history: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """Loss and accuracy per epoch, training and validation, side by side; saved to ``path``."""
    plt = _pyplot()
    epochs = history["epoch"]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
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
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
