"""Where every picture starts and ends, and the first one to look at: the training curves.

Every picture (here and in :mod:`tatamu.viz`) is a ``matplotlib.figure.Figure`` made by
:func:`new_figure`, never through pyplot: no window can open, the user's pyplot backend and
figure list are left alone, and nothing is kept once a picture is saved or dropped. Given a
path, :func:`finish` saves the PNG, releases the figure and returns the path; given none, it
returns the Figure, which a notebook cell shows inline. matplotlib is imported only when a
picture is drawn, so ``import tatamu`` stays fast and works on a machine with no display.
This module imports nothing from ``viz`` (``viz`` builds on it), so the two never import
each other. ``tatamu train`` draws the curves; ``tatamu.viz.plot_curves`` is the same function.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Pixels per inch of every saved picture.
DPI = 100


def new_figure(**kwargs):
    """A ``matplotlib.figure.Figure(**kwargs)`` that belongs to no pyplot window.

    In a Jupyter kernel the Figure is shown inline as a PNG when a cell returns it, even if
    the user never imported pyplot (which is what registers matplotlib's inline display).
    """
    from matplotlib.figure import Figure

    _show_figures_inline_in_a_notebook(Figure)
    return Figure(**kwargs)


def finish(fig, path: str | Path | None):
    """The picture as asked: saved to ``path`` (returned), or the Figure itself if no path."""
    return fig if path is None else save(fig, path)


def save(fig, path: str | Path) -> Path:
    """Save ``fig`` to ``path`` (a PNG) at :data:`DPI`, release it and return the path.

    No ``bbox_inches="tight"``: the pixel size stays exactly ``figsize * DPI``. The figure
    is cleared after saving: its axes and images refer back to it, and breaking that cycle
    frees the memory now rather than at the next garbage collection.
    """
    path = Path(path)
    if path.parent != Path(""):
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(path, dpi=DPI)
    finally:
        fig.clear()
    return path


def _show_figures_inline_in_a_notebook(figure_class) -> None:
    """Register a PNG display for Figures in a running IPython kernel, if none is registered.

    matplotlib registers one only when pyplot loads its inline backend; tatamu never imports
    pyplot, so a learner's first ``viz.plot_filters(model)`` would otherwise print
    ``<Figure size ...>``. Outside IPython (scripts, the CLI) nothing happens.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return
    png = shell.display_formatter.formatters["image/png"]
    try:
        png.lookup_by_type(figure_class)
    except KeyError:
        from IPython.core.pylabtools import print_figure

        png.for_type(figure_class, lambda fig: print_figure(fig, "png", dpi=DPI))


def plot_history(history: dict[str, Any], path: str | Path | None = None,
                 title: str = "") -> Figure | Path:
    """Loss and accuracy per epoch, training, validation and test (where measured), side by side.

    Saved to ``path`` (returned), or, with no path, returned as the Figure (a notebook cell
    shows it). ``history``: a :class:`tatamu.training.history.History` or its ``to_dict()``.
    """
    if hasattr(history, "to_dict"):
        history = history.to_dict()
    fig = new_figure(figsize=(10, 4), dpi=DPI)
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = history["epoch"]
    ax_loss.plot(epochs, history["train_loss"], "o-", label="train")
    ax_acc.plot(epochs, [100 * a for a in history["train_accuracy"]], "o-", label="train")
    for kind, label, style in (("val", "validation", "s-"), ("test", "test", "^--")):
        losses, accuracies = history.get(f"{kind}_loss"), history.get(f"{kind}_accuracy")
        if not losses or len(losses) != len(epochs):  # (test lists: not in older histories)
            continue
        measured = [(e, loss, a) for e, loss, a in zip(epochs, losses, accuracies, strict=True)
                    if loss is not None]
        if measured:
            at, loss, accuracy = zip(*measured, strict=True)
            ax_loss.plot(at, loss, style, label=label)
            ax_acc.plot(at, [100 * a for a in accuracy], style, label=label)
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


#: The same function under the name ``tatamu show curves`` and the other ``viz.plot_*`` use.
plot_curves = plot_history
