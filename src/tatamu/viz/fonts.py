"""Japanese in a figure: tatamu's own font for the texts that need it, so no font need be installed.

matplotlib's default font (DejaVu Sans) has no kana or kanji: a Japanese title would be drawn
as empty boxes, with a warning per missing glyph. tatamu ships the glyphs its Japanese uses
(:func:`tatamu.i18n.japanese_font`), and :func:`use_japanese_font` gives every text of a figure
that holds a wide character that font first, DejaVu Sans after it for anything it lacks. Texts
without Japanese keep the user's font settings. matplotlib is imported only when a figure is.
"""

from __future__ import annotations

import functools
import unicodedata
import warnings

FAMILY = "tatamu-ja"


@functools.cache
def _registered() -> bool:
    """Register the font with matplotlib once; False when this installation lacks it."""
    from matplotlib import font_manager

    from ..i18n import japanese_font

    try:
        with japanese_font().open("rb"):  # a file inside the package (an editable or a wheel)
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
    from matplotlib.text import Text

    texts = [t for t in fig.findobj(Text) if needs_japanese(t.get_text())]
    if texts and _registered():
        for text in texts:  # per glyph, matplotlib falls back along the list
            text.set_fontfamily([FAMILY, "DejaVu Sans"])
