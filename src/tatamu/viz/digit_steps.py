"""``tatamu predict --show``: one picture of every step between a drawing and the answer.

A learner whose digit is misread needs to see what the network was given: the original, for a
photo of paper the light falling on it and the picture with that light evened out, the ink
found, the crop to the ink, the 20-px fit, the centred 28x28 input, and the probabilities.
Each panel is titled with the step that made it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..i18n import N_, _
from .figure import finish, new_figure
from .plots import use_japanese_font

#: The pictures of :class:`tatamu.digits.images.PreparedDigit` shown, with their titles.
PANELS = (("original", N_("original")), ("light", N_("the paper's light (estimated)")),
          ("evened", N_("light evened out")), ("marks", N_("ink over the threshold")),
          ("crop", N_("cropped to the ink")), ("stroke", N_("stroke width normalised")),
          ("fit", N_("fitted (longer side)")), ("input", N_("what the model sees")))
#: More panels than this (with the probabilities) are laid out in two rows.
ONE_ROW = 7


def plot_digit_steps(recognition, path: str | Path | None = None, title: str = ""):
    """The steps of one :class:`tatamu.digits.recognise.Recognition`: saved as a PNG at ``path``
    (returned), or the matplotlib Figure when no path is given (shown inline in a notebook).

    Shapes: the pictures are 2-D arrays of any size; the probabilities (classes,).
    """
    pictures = recognition.prepared.pictures
    panels = [(key, text) for key, text in PANELS if key in pictures]
    rows = 1 if len(panels) + 1 <= ONE_ROW else 2
    cols = -(-(len(panels) + 1) // rows)  # ceil
    fig = new_figure(figsize=(3.0 * cols, 3.4 * rows))
    axes = np.asarray(fig.subplots(rows, cols)).ravel()
    for ax in axes[len(panels): -1]:  # cells left over in a two-row layout
        ax.axis("off")
    for ax, (key, text) in zip(axes, panels, strict=False):
        picture = pictures[key]
        ax.imshow(picture, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"{_(text)}\n{picture.shape[1]}x{picture.shape[0]}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    bars = axes[-1]
    probs = recognition.probabilities
    names = [str(i) for i in range(len(probs))]
    for index, name, _probability in recognition.top:
        names[index] = name
    colours = ["#d62728" if i == recognition.prediction else "#7f7f7f" for i in range(len(probs))]
    bars.barh(np.arange(len(probs)), probs, color=colours)
    bars.set_yticks(np.arange(len(probs)), [n[:12] for n in names], fontsize=8)
    bars.invert_yaxis()
    bars.set_xlim(0, 1)
    verdict = _(" (unsure)") if recognition.unsure else ""
    if recognition.hint:
        bars.set_xlabel(recognition.hint, fontsize=7, wrap=True)
    best = recognition.top[0]
    bars.set_title(f"{best[1]}: {100 * best[2]:.1f}%{verdict}", fontsize=10)
    steps = ", ".join(recognition.prepared.steps) or _("none")
    steps_line = _("steps: {steps}", steps=steps)
    fig.suptitle(f"{title}\n{steps_line}" if title else steps_line, fontsize=8)
    use_japanese_font(fig)  # before the layout measures the texts
    fig.tight_layout()
    return finish(fig, path)
