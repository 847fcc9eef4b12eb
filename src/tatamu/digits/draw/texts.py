"""Every word the drawing page shows, in each language tatamu speaks, and the font for Japanese.

The page (``page.html``) is written in English; ``/api/info`` sends it these texts in every
language, and the page shows the ones of its language: the browser's (``navigator.languages``)
unless ``tatamu draw --lang`` chose one. What the server writes itself (the preprocessing notes,
a conv1 pixel's multiply-add, an error) comes in the language each request asks for.

Debian's Chromium showed 積和演算 as empty boxes where no Japanese font is installed, so the
page does not rely on one: the server sends tatamu's own small Japanese font
(:func:`tatamu.i18n.japanese_font`), which the page's CSS uses for Japanese characters only.
"""

from __future__ import annotations

from ...i18n import LANGUAGES, N_, _, using_language

#: element key -> its text (the page's elements carry ``data-text="key"``).
TEXTS = {
    "about": N_("Draw one digit in the white box (mouse, finger or pen)."),
    "about_framing": N_("Draw one {item} in the white box (mouse, finger or pen). Framing: "
                        "{framing}."),
    "digit": N_("digit"),
    "item": N_("item"),
    "pad": N_("drawing area"),
    "clear": N_("Clear"),
    "pen": N_("pen"),
    "steps": N_("Preprocessing steps"),
    "steps_why": N_("(switch one off to see why it is there)"),
    "sees": N_("What the model sees"),
    "maps": N_("Feature maps"),
    "hover": N_("Hover over a pixel of {layer}'s maps to see its multiply-add (積和演算)."),
    "first_conv": N_("the first convolution"),
    "unsure": N_("unsure: "),
    "no_answer": N_("the server did not answer: "),
    "channel": N_("{layer} channel {channel}"),
    # a photo instead of a drawing
    "photo": N_("or a photo of a digit on paper:"),
    "hint": N_("hint: {hint}"),
    "not_picture": N_("{name} is not a picture this browser can open"),
    # over time: the epoch slider and the runs beside
    "overTime": N_("Training over time"),
    "filters": N_("First-layer filters"),
    "epoch": N_("epoch"),
    "epoch_of": N_("epoch {epoch} of {last}"),
    "initial": N_(" (the initial weights)"),
    "val_acc": N_("validation {accuracy}"),
    "test_acc": N_("test {accuracy}"),
    "list": N_(", "),
    "one_checkpoint": N_("one checkpoint"),
    "epoch_of_run": N_("epoch of {run}"),
    "filter_title": N_("{layer} filter {filter}"),
}
#: preprocessing step -> what its switch says.
STEP_NAMES = {
    "composite_alpha": N_("transparent background -> plain background"),
    # photos of paper (issue 27)
    "even_out_light": N_("even out the paper's light (a lamp to one side, a shadow)"),
    "threshold_ink": N_("pick the ink's threshold from the picture (Otsu)"),
    "invert_light_background": N_("invert a light background (MNIST is white on black)"),
    "subtract_background": N_("subtract the background's level"),
    "crop_to_ink": N_("crop to the ink"),
    "normalise_stroke": N_("normalise the stroke width"),
    "fit_longer_side": N_("fit the longer side to the box (20 px for MNIST), keep the aspect"),
    "centre_by_mass": N_("centre by centre of mass"),
}


def page_texts() -> dict[str, dict[str, dict[str, str]]]:
    """``{language: {"text": {key: words}, "steps": {step: words}}}`` for every language."""
    out = {}
    for language in LANGUAGES:
        with using_language(language):
            out[language] = {"text": {key: _(text) for key, text in TEXTS.items()},
                             "steps": {step: _(text) for step, text in STEP_NAMES.items()}}
    return out
