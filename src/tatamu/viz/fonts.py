"""Japanese in a figure: tatamu's own font for the texts that need it, so no font need be installed.

matplotlib's default font (DejaVu Sans) has no kana or kanji: a Japanese title would be drawn
as empty boxes, with a warning per missing glyph. tatamu ships the glyphs its Japanese uses
(:func:`tatamu.i18n.japanese_font`). Every figure tatamu makes is a :class:`TatamuFigure`,
which, before it is laid out or drawn, gives each text holding a wide character that font
first and DejaVu Sans after it for anything it lacks (:func:`use_japanese_font`). Texts without
Japanese keep the user's font settings. Imported only when a figure is made (it imports
matplotlib).
"""

from __future__ import annotations

import functools
import unicodedata
import warnings

from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text

from ..i18n import japanese_font

FAMILY = "tatamu-ja"


@functools.cache
def _registered() -> bool:
    """Register the font with matplotlib once; False when this installation lacks it."""
    try:
        with japanese_font().open("rb"):  # a file inside the installed package
            pass
        font_manager.fontManager.addfont(str(japanese_font()))
    except (OSError, RuntimeError, ValueError) as exc:
        warnings.warn(f"tatamu's Japanese font could not be loaded ({exc}); Japanese text in "
                      "figures may show as boxes: reinstall tatamu", stacklevel=3)
        return False
    return True


def needs_japanese(text: str) -> bool:
    """Whether ``text`` has a character DejaVu Sans lacks: kana, kanji, full-width forms."""
    return any(unicodedata.east_asian_width(c) in "WF" for c in text)


def use_japanese_font(fig) -> None:
    """Draw every text of ``fig`` that holds Japanese in tatamu's font (titles, labels, ticks)."""
    texts = [t for t in fig.findobj(Text) if needs_japanese(t.get_text())]
    if texts and _registered():
        for text in texts:  # per glyph, matplotlib falls back along the list
            text.set_fontfamily([FAMILY, "DejaVu Sans"])


class TatamuFigure(Figure):
    """A matplotlib Figure whose Japanese texts get tatamu's font before layout and drawing
    (saving and a notebook's display draw it too)."""

    def tight_layout(self, *args, **kwargs):
        use_japanese_font(self)
        return super().tight_layout(*args, **kwargs)

    def draw(self, renderer):
        use_japanese_font(self)
        return super().draw(renderer)
