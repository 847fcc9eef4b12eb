"""User-style drawings made from MNIST test digits: what a person draws on a canvas.

A person draws with a pen of one width, large, anywhere on the canvas. So each MNIST digit is
enlarged (bicubic), thresholded, thinned to its centre line (Zhang-Suen thinning) and redrawn
with a round pen of the chosen width on a canvas of the chosen size and colours. The label is
MNIST's, so accuracy on these drawings is measured against truth, not against tatamu.

Used by the tests in this folder and by ``benchmarks/digit_drawings.py`` (before/after table).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

#: Drawing styles: canvas (H, W), digit height as a fraction of the canvas, pen width as a
#: fraction of the digit's height, colours, and whether the canvas is saved transparent.
STYLES = {
    "black-on-white off-centre": dict(canvas=(400, 400), height=0.6, pen=0.09, ink=0, paper=255),
    "transparent canvas PNG": dict(canvas=(300, 400), height=0.7, pen=0.09, ink=0, paper=None),
    "white-on-black small in corner": dict(canvas=(300, 300), height=0.2, pen=0.1, ink=255,
                                           paper=0, corner=True),
    "thin pen": dict(canvas=(400, 400), height=0.6, pen=0.012, ink=0, paper=255),
    "thick marker": dict(canvas=(400, 400), height=0.6, pen=0.22, ink=0, paper=255),
}


def centre_line(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning (1984): a one-pixel-wide centre line of a boolean mask."""
    img = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for first in (True, False):
            p = [np.roll(np.roll(img, -dr, 0), -dc, 1) for dr, dc in
                 ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))]
            neighbours = sum(p)  # p2..p9 clockwise from north
            transitions = sum(((p[k] == 0) & (p[(k + 1) % 8] == 1)) for k in range(8))
            if first:
                cond = (p[0] * p[2] * p[4] == 0) & (p[2] * p[4] * p[6] == 0)
            else:
                cond = (p[0] * p[2] * p[6] == 0) & (p[0] * p[4] * p[6] == 0)
            remove = (img == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & cond
            if remove.any():
                img[remove] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1].astype(bool)


def pen_stroke(line: np.ndarray, scale: float, width: float) -> np.ndarray:
    """A centre line, enlarged ``scale`` times, drawn with a round pen ``width`` px wide.

    Each line pixel joins its 8 neighbours with a straight segment (as a pen moving through
    them), drawn 4x larger and shrunk for anti-aliased edges.
    Shapes: (h, w) bool -> (round(h * scale), round(w * scale)) float in [0, 1].
    """
    from PIL import ImageDraw

    up = 4
    line = np.pad(line, int(np.ceil(width / (2 * scale))) + 1)  # room for the pen's edge
    h, w = round(line.shape[0] * scale), round(line.shape[1] * scale)
    big = Image.new("L", (w * up, h * up), 0)
    pen = ImageDraw.Draw(big)
    k, r = scale * up, max(width, 1.0) * up / 2
    on = set(zip(*np.nonzero(line), strict=True))
    for y, x in on:
        cy, cx = (y + 0.5) * k, (x + 0.5) * k
        pen.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
        for dy, dx in ((0, 1), (1, 1), (1, 0), (1, -1)):
            if (y + dy, x + dx) in on:
                pen.line((cx, cy, cx + dx * k, cy + dy * k), fill=255, width=round(2 * r))
    return np.asarray(big.resize((w, h), Image.Resampling.BOX), dtype=np.float64) / 255


def draw(digit: np.ndarray, style: str, rng: np.random.Generator) -> Image.Image:
    """An MNIST digit (28, 28) in [0, 1] redrawn in ``style`` as a Pillow image."""
    s = STYLES[style]
    ch, cw = s["canvas"]
    height = int(s["height"] * ch)
    rows, cols = np.flatnonzero(digit.max(1) > 0.3), np.flatnonzero(digit.max(0) > 0.3)
    crop = digit[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    # The centre line is found at 4x MNIST's size (cheap), then drawn at the canvas's.
    size = (crop.shape[1] * 4, crop.shape[0] * 4)
    big = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize(
        size, Image.Resampling.BICUBIC)) > 100
    ink = pen_stroke(centre_line(big), height / size[1], max(1.0, s["pen"] * height))
    canvas = np.zeros((ch, cw))
    h, w = ink.shape
    if s.get("corner"):
        top, left = rng.integers(2, 12), rng.integers(2, 12)
    else:
        top, left = rng.integers(0, max(1, ch - h)), rng.integers(0, max(1, cw - w))
    h, w = min(h, ch - top), min(w, cw - left)
    canvas[top: top + h, left: left + w] = ink[:h, :w]
    if s["paper"] is None:  # a browser canvas: black ink, colour only in the alpha channel
        rgba = np.zeros((ch, cw, 4), dtype=np.uint8)
        rgba[..., 3] = np.round(canvas * 255)
        return Image.fromarray(rgba, mode="RGBA")
    grey = s["paper"] + (s["ink"] - s["paper"]) * canvas
    return Image.fromarray(np.round(grey).astype(np.uint8), mode="L")
