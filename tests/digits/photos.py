"""Synthetic phone photographs of a digit written on paper, made from MNIST test digits.

What a learner does after drawing on a screen: writes a digit on paper with a pen and
photographs it with a phone, often under a desk lamp. So each MNIST digit is written as pen
strokes (its centre line, ``drawings.centre_line``, drawn with a round pen, ``drawings.pen_stroke``)
120-200 px tall on a 360x480 (width x height) picture of a sheet of paper, and the picture is
spoiled the ways a phone photo is:

- the light: even, or falling off across the sheet at a random angle (a lamp to one side, the
  phone held at an angle), vignetting (darker corners), the straight edge of a shadow (a hand,
  the phone) across the sheet at a random angle and place, with a soft edge;
- the paper's colour (white, warm under a tungsten lamp, bluish in shade) and its texture;
- the ink (black or blue ballpoint, black felt-tip), the pen's width;
- the camera: slight blur, sensor noise, JPEG at quality 60-85.

The light and the ink multiply (a photo records paper reflectance times light, and the sRGB
curve keeps a product a product), written directly in pixel values: "0.92 -> 0.52" is the
paper's grey level at the bright and the dark end. Labels are MNIST's, so accuracy measured
on these photos is measured against truth. Used by ``test_photo_accuracy.py`` and
``measure_photos.py``; nothing in tatamu reads this file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from drawings import centre_line, pen_stroke
from PIL import Image

#: (height, width) of a photograph: a phone held upright, scaled down to 360x480.
PHOTO = (480, 360)


@dataclass(frozen=True)
class Light:
    """How the sheet is lit. ``gradient``: the paper's grey level at the bright and the dark
    side (None: even, 0.86-0.94); ``vignetting``: how much darker the corners are than the
    centre (0.25: 75% of the centre's light); ``shadow``: the light left in a shadow's half of
    the sheet (None: no shadow)."""

    gradient: tuple[float, float] | None = None
    vignetting: float = 0.0
    shadow: float | None = None


#: The lighting conditions measured (``measure_photos.py``) and tested.
CONDITIONS = {
    "even light": Light(),
    "light 0.92 -> 0.72 across the sheet": Light(gradient=(0.92, 0.72)),
    "light 0.92 -> 0.52 across the sheet": Light(gradient=(0.92, 0.52)),
    "vignetting (corners at 70%)": Light(vignetting=0.3),
    "a shadow edge across the sheet (60% light)": Light(shadow=0.6),
    "all at once: 0.92 -> 0.52, vignetting, shadow edge": Light(gradient=(0.92, 0.52),
                                                                 vignetting=0.3, shadow=0.6),
}

#: Paper colours (reflectance per R, G, B): white, warm (a tungsten lamp), cool (shade).
PAPERS = ((1.0, 1.0, 1.0), (1.0, 0.92, 0.78), (0.86, 0.93, 1.0))
#: Inks as a fraction of the paper's pixel value per channel: black ballpoint, blue
#: ballpoint, black felt-tip (as they come out in phone photos: ballpoint is mid-grey).
INKS = ((0.30, 0.30, 0.32), (0.30, 0.36, 0.62), (0.16, 0.16, 0.17))


def light_field(light: Light, rng: np.random.Generator, shape=PHOTO) -> np.ndarray:
    """The paper's grey level at every pixel under ``light``: (H, W) float in (0, 1]."""
    h, w = shape
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    # centre 0, in half-heights
    y, x = (rows - (h - 1) / 2) / (h / 2), (cols - (w - 1) / 2) / (h / 2)
    if light.gradient is None:
        field = np.full(shape, rng.uniform(0.86, 0.94))
    else:  # linear across the sheet, at a random angle, from bright to dark end to end
        bright, dark = light.gradient
        angle = rng.uniform(0, 2 * np.pi)
        along = x * np.cos(angle) + y * np.sin(angle)
        t = (along - along.min()) / (along.max() - along.min())
        field = bright + (dark - bright) * t
    if light.vignetting:  # darker towards the corners, as a phone lens makes it
        r2 = (x ** 2 + y ** 2) / (x ** 2 + y ** 2).max()
        field = field * (1 - light.vignetting * r2)
    if light.shadow is not None:  # the straight, soft edge of a hand's or phone's shadow
        angle = rng.uniform(0, 2 * np.pi)
        cy, cx = rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6) * w / h
        distance = ((x - cx) * np.cos(angle) + (y - cy) * np.sin(angle)) * (h / 2)  # px
        soft = rng.uniform(3, 15)  # the penumbra's width in pixels
        shade = 1 / (1 + np.exp(-distance / (soft / 4)))  # 0 in the shadow, 1 in the light
        field = field * (light.shadow + (1 - light.shadow) * shade)
    return field


def paper_texture(rng: np.random.Generator, shape=PHOTO) -> np.ndarray:
    """Paper's mottling: a smooth random field around 1, +-2% (H, W)."""
    coarse = rng.normal(0, 0.01, (shape[0] // 24 + 2, shape[1] // 24 + 2)).astype(np.float32)
    img = Image.fromarray(coarse, mode="F").resize(shape[::-1], Image.Resampling.BICUBIC)
    return 1 + np.asarray(img, dtype=np.float64)


def gaussian_blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of the first two axes, edges repeated. (H, W, ...) -> same."""
    r = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    for axis in (0, 1):
        padded = np.pad(a, [(r, r) if k == axis else (0, 0) for k in range(a.ndim)], mode="edge")
        n = a.shape[axis]
        a = sum(kernel[i] * np.take(padded, range(i, i + n), axis=axis)
                for i in range(2 * r + 1))
    return a


def written(digit: np.ndarray, height: int, pen: float) -> np.ndarray:
    """An MNIST digit (28, 28) written as pen strokes ``height`` px tall, ``pen`` px wide.

    Shapes: (28, 28) in [0, 1] -> (h, w) pen coverage in [0, 1], h about ``height``.
    """
    rows, cols = np.flatnonzero(digit.max(1) > 0.3), np.flatnonzero(digit.max(0) > 0.3)
    crop = digit[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    size = (crop.shape[1] * 4, crop.shape[0] * 4)
    big = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize(
        size, Image.Resampling.BICUBIC)) > 100
    return pen_stroke(centre_line(big), height / size[1], pen)


def photograph(digit: np.ndarray | None, light: Light, rng: np.random.Generator,
               quality: int | None = None, ink: tuple[float, float, float] | None = None
               ) -> bytes:
    """A JPEG photo of ``digit`` (28, 28) written on paper under ``light``; None: a blank sheet.

    ``ink``: the ink's factor on the paper per channel (default: one of INKS, at random; 0.9
    is a pencil barely touching the paper). Returns the JPEG file's bytes (RGB, 360x480).
    """
    h, w = PHOTO
    cover = np.zeros(PHOTO)
    if digit is not None:
        height = int(rng.integers(120, 201))
        strokes = written(digit, height, pen=max(2.0, rng.uniform(0.03, 0.09) * height))
        ih, iw = min(strokes.shape[0], h - 60), min(strokes.shape[1], w - 60)
        top, left = rng.integers(30, h - 30 - ih + 1), rng.integers(30, w - 30 - iw + 1)
        cover[top: top + ih, left: left + iw] = strokes[:ih, :iw]
    paper = np.array(PAPERS[rng.integers(len(PAPERS))])
    ink_colour = (np.array(INKS[rng.integers(len(INKS))]) * rng.uniform(0.85, 1.15)
                  if ink is None else np.array(ink))
    # per channel: the paper's colour, darkened where the pen went by the ink's factor
    reflect = paper * (1 - cover[..., None] * (1 - np.clip(ink_colour, 0, 1)))  # (H, W, 3)
    rgb = reflect * (light_field(light, rng) * paper_texture(rng))[..., None]
    blurred = gaussian_blur(rgb, rng.uniform(0.6, 1.4))  # a lens slightly out of focus
    noisy = blurred + rng.normal(0, rng.uniform(0.005, 0.015), blurred.shape)  # sensor noise
    pixels = np.clip(np.round(noisy * 255), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    q = int(rng.integers(60, 86)) if quality is None else quality
    Image.fromarray(pixels, mode="RGB").save(out, format="JPEG", quality=q)
    return out.getvalue()
