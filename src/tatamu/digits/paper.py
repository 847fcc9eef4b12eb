"""A digit photographed on paper: the paper's light evened out, the ink told from the paper.

A phone photo of a sheet is lit unevenly: a lamp to one side makes the paper 0.9 bright at one
end and 0.5 at the other, the lens darkens the corners, a hand or the phone casts a shadow with
a straight edge across the sheet. One background level for the whole picture (the frame's, as
:func:`tatamu.digits.steps.border_level` takes it) then reads the dark end as ink, or the ink at
the bright end as paper. These steps, run by :func:`tatamu.digits.images.prepare_digit` before
and after the picture is inverted, work as a scanner would:

1. :func:`paper_light`: the light falling on the paper at every pixel, estimated from the paper
   itself (a greyscale closing: strokes are narrow, the light is broad);
2. :func:`even_out_light`: the picture divided by it, so the paper is 1 everywhere and a stroke
   is the fraction of light its ink takes, wherever it lies;
3. :func:`ink_contrast`: how far the marks found stand out from the paper, and the paper's
   grain, so that "blank" and "faint" are measured, not guessed;
4. :func:`ink_threshold`: the level above which a pixel is ink, picked from the picture
   (Otsu), within bounds that keep paper grain out and faint strokes in.

Which way the ink goes when the frame is half in shadow (:func:`light_background`,
:func:`marks_are_dark`) and the evened paper's level (:func:`paper_level`) are decided here too.

Notation as in :mod:`tatamu.digits.steps`: ``grey`` 0 black .. 1 white, ``ink`` 0 .. 1.
"""

from __future__ import annotations

import numpy as np

from . import steps

#: The closing's window as a fraction of the picture's shorter side: wider than a pen's
#: stroke (a felt-tip a third as thick as a digit half the picture tall), narrower than most
#: shadows, whose straight edges it keeps anyway.
LIGHT_WINDOW = 1 / 5
#: Where the frame shows the light even (:func:`light_is_even`: a canvas, a scan, an evenly
#: lit sheet), the window is doubled while that erases more ink: a fat marker on a small
#: canvas. (Under uneven light, a wider window fills more of a shadow, which then reads as
#: ink.) "More ink": brighter by over LIGHT_CHANGE of the light in over LIGHT_STABLE_SHARE of
#: the pixels.
LIGHT_CHANGE = 0.1
LIGHT_STABLE_SHARE = 0.002
#: Where the closing lifted the light over paper that is lit like its darker neighbour (a
#: shadow's wedge, see :func:`_restore_shadows`), it is brought back down: to a neighbour's
#: light more than SHADOW_STEP lower, over pixels at least SHADOW_LIKE of that light (paper
#: in the same shadow; ink is darker than that).
SHADOW_STEP = 0.02
SHADOW_LIKE = 0.85
#: The window telling dark marks from light ones (:func:`marks_are_dark`), as a fraction of the
#: shorter side: about a pen stroke's width, so the paper inside a loop is not a "mark".
MARK_WINDOW = 1 / 15
#: ... and the share of the pixels its marks must cover to say anything (a thin pen's digit
#: a third of the picture tall covers 3-10 times as much).
MARKS_AT_LEAST = 0.002
#: The paper's light is estimated on a copy reduced (by block means) to at most this many
#: pixels a side: light changes over tens of pixels, and the means average away the grain
#: that would otherwise lift the closing's maxima.
LIGHT_WORK_SIZE = 256
#: A picture whose marks differ from the paper by less than this fraction of its light (see
#: :func:`ink_contrast`) is blank, or as good as: a pencil line barely touched, a smudge.
#: The specks left on photographed blank sheets measure up to 5-6%, a dark pen's strokes
#: 50-90%, a pencil 10-30%.
BLANK_BELOW = 0.07
#: ... and so is one whose marks stand out by less than this many times the paper's grain
#: (:func:`ink_contrast`): the strongest specks of grain on an empty sheet reach 4-5.
GRAIN_TIMES = 6.0
#: Marks fainter than this are read, but the answer is called unsure and a hint given.
FAINT_BELOW = 0.15
#: Otsu's split of the ink, as a fraction of the strongest ink (see :func:`ink_threshold`):
#: never lower (grain and JPEG ringing stay out of the marks), never higher (a faint or
#: blurred stroke keeps its thin parts).
THRESHOLD_RANGE = (0.15, 0.5)


def paper_light(grey: np.ndarray) -> np.ndarray:
    """The paper's brightness at every pixel, as if nothing were written on it: (H, W).

    Why a closing: strokes are narrow dark lines, the light falling on the sheet is broad. A
    greyscale closing (each pixel the brightest value within a square window, then the darkest
    of those) with a window wider than any stroke erases the strokes and keeps the light:
    a linear fall-off and a straight shadow edge pass through it unchanged, and so does
    vignetting (brighter in the middle); only dark shapes narrower than the window are filled.
    A median or a smooth fitted surface would blur the shadow's edge into a line of "ink".
    The window is LIGHT_WINDOW of the shorter side; under even light (the frame says so) it is
    doubled while that erases more ink (strokes wider than it, on a canvas).

    Shapes: grey (H, W) in [0, 1] -> (H, W) in (0, 1].
    """
    small, step = _reduced(grey)
    window = max(3, round(LIGHT_WINDOW * min(grey.shape) / step)) | 1
    light = _closing(small, window)
    even = light_is_even(grey)
    while even and window < max(small.shape):
        wider = _closing(small, 2 * window + 1)
        if np.mean(wider - light > LIGHT_CHANGE * wider) < LIGHT_STABLE_SHARE:
            break
        light, window = wider, 2 * window + 1
    light = _restore_shadows(light, small, 4 * window)
    light = np.maximum(_enlarge(light, step, grey.shape), grey)
    if step > 1:  # a sharp shadow edge, blurred by the reduction, sharpened again
        light = _restore_shadows(light, grey, 2 * step)
    return np.maximum(light, 1 / 255)  # never divide by 0


def even_out_light(grey: np.ndarray, light: np.ndarray) -> np.ndarray:
    """The picture divided by the paper's light: paper 1 everywhere, ink its own darkness.

    Why divide, not subtract: a photo records reflectance times light (and sRGB's power curve
    keeps a product a product), so in a shadow the ink is as much darker than the paper
    *relatively* as in full light. Dividing makes a stroke's contrast the same across the
    sheet; subtracting would leave it half as strong where the light is half as bright.

    Shapes: grey (H, W), light (H, W) -> (H, W) in [0, 1].
    """
    return np.clip(grey / light, 0.0, 1.0).astype(np.float32)


def light_is_even(grey: np.ndarray) -> bool:
    """Whether the frame shows one paper level: nearly all of it within 5% of its median, or
    much darker (ink running off the edge). A shadow's or a gradient's frame is neither.

    Shapes: grey (H, W) -> bool.
    """
    frame = steps.frame_pixels(grey)
    level = float(np.median(frame))
    paper_or_ink = (np.abs(frame - level) <= 0.05 * level) | (frame < 0.5 * level)
    return bool(np.mean(paper_or_ink) >= 0.97)


def light_background(grey: np.ndarray) -> bool:
    """Whether the picture is dark marks on a light background (paper), or light on dark.

    The frame decides when it is clearly on one side of mid-grey (a canvas, an evenly lit
    sheet, even with a stroke running off the edge: :func:`tatamu.digits.steps.border_level`'s
    median, further from 0.5 than three of its spreads). A photographed sheet whose frame runs
    from light into a deep shadow is asked which way its marks go (:func:`marks_are_dark`);
    if they do not say (no marks: a blank sheet), it is paper when a tenth of its frame is
    light: a sheet half in shadow is still a sheet.

    Shapes: grey (H, W) -> bool.
    """
    level, spread = steps.border_level(grey)
    if abs(level - 0.5) > 0.1 + 3 * spread:
        return level > 0.5
    dark_marks = marks_are_dark(grey)
    if dark_marks is None:
        return bool(np.percentile(steps.frame_pixels(grey), 90) > 0.5)
    return dark_marks


def marks_are_dark(grey: np.ndarray) -> bool | None:
    """Whether the picture's marks are darker than what surrounds them (None: unclear).

    Why not the frame's brightness alone: under a lamp to one side, or in a shadow, the
    border of a photographed sheet may be darker than 0.5 in places, and a frame mostly in
    shadow would call white paper black. A mark is thin and departs from its surroundings:
    a dark mark is erased by a closing (see :func:`paper_light`) and is darker than the local
    median (the background is what most of a neighbourhood is); a light mark is erased by an
    opening and is lighter than the median. Both tests together: the paper inside a 0's loop
    is erased by an opening but is no lighter than its surroundings' median; a shadow's edge
    departs from a coarse median but survives both closing and opening. The ink's side is the
    side with many more marked pixels; with nothing marked, or as much light as dark, the
    caller asks the frame.

    Shapes: grey (H, W) -> True, False or None.
    """
    small, step = _reduced(grey)
    window = max(3, round(MARK_WINDOW * min(grey.shape) / step)) | 1  # odd: centred
    closed = _closing(small, window)
    opened = _running(_running(small, window, np.min), window, np.max)
    median = _local_median(small, window)
    grain = 1.4826 * float(np.median(np.abs(small - median)))  # a standard deviation, robustly
    floor = 3 * grain + 0.02
    # Near the edge, a shadow's or the light's own tip is thin too: only the middle counts.
    middle = np.zeros(small.shape, dtype=bool)
    middle[2 * window: -2 * window, 2 * window: -2 * window] = True
    dark = int(np.sum((closed - small > floor) & (median - small > floor) & middle))
    light = int(np.sum((small - opened > floor) & (small - median > floor) & middle))
    if max(dark, light) < MARKS_AT_LEAST * small.size:  # a few grains: nothing to go by
        return None
    if dark > 2 * light:
        return True
    return False if light > 2 * dark else None


def paper_level(grey: np.ndarray) -> tuple[float, float]:
    """The evened-out paper's level and grain (a robust standard deviation): the frame's
    (:func:`tatamu.digits.steps.border_level`) or the whole picture's median and spread,
    whichever is brighter. Why both: the paper is most of a photo, and its frame is where
    the light was estimated least surely; but a fat digit may cover most of a small canvas,
    whose frame is still paper. Evened out, the paper is the bright one either way.

    Shapes: grey (H, W) -> (level, spread).
    """
    level = float(np.median(grey))
    whole = (level, 1.4826 * float(np.median(np.abs(grey - level))))
    return max(steps.border_level(grey), whole)


def ink_threshold(ink: np.ndarray) -> float:
    """The level above which a pixel of ``ink`` belongs to a mark: Otsu's split, within bounds.

    Why from the picture: a fixed level is too high for a faint, blurred photo (its thin
    strokes break apart) or too low for a grainy one (the grain joins the marks). Otsu's split
    of the histogram sits between the paper and the ink whatever their levels. It is kept
    within THRESHOLD_RANGE of the strongest ink (the 99.5th percentile of the pixels over
    half the maximum: one bright speck cannot set it); the floor keeps grain and JPEG ringing
    out of the marks (:func:`tatamu.digits.steps.subtract_background` has already set what
    lies under a few grain deviations to 0).

    Shapes: ink (H, W) in [0, 1] -> float.
    """
    peak = float(ink.max())
    if peak <= 0:
        return THRESHOLD_RANGE[0]
    strong = float(np.percentile(ink[ink > 0.5 * peak], 99.5))
    low, high = (f * strong for f in THRESHOLD_RANGE)
    return float(np.clip(otsu_threshold(ink), low, high))


def ink_contrast(ink: np.ndarray, marks: np.ndarray) -> tuple[float, float]:
    """How far the marks stand out from the background, and the background's grain.

    ``ink``: the picture the marks were found in, with the marks the brighter (evened out and
    inverted, *not* stretched: differences are fractions of the paper's light); ``marks``:
    the mask of the marks found. The contrast is the marks' mean less the
    background's median; the grain is the background's spread (a robust standard deviation).
    Paper with nothing on it leaves only specks of grain a few deviations strong; a stroke of
    a dark pen stands 0.5-0.9 above the paper, a pencil's 0.1-0.3.

    Shapes: ink (H, W), marks (H, W) bool -> (contrast, grain).
    """
    background = ink[~marks] if not marks.all() else ink.ravel()
    level = float(np.median(background))
    grain = 1.4826 * float(np.median(np.abs(background - level)))
    if not marks.any():
        return 0.0, grain
    return float(ink[marks].mean()) - level, grain


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold (1979): the split maximising the variance between the two classes.

    Shapes: values (...) -> float, between the smallest and the largest value.
    """
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return lo
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    p = counts / counts.sum()
    centres = (edges[:-1] + edges[1:]) / 2
    below = np.cumsum(p)[:-1]  # weight of the class at or under each candidate split
    mean_below = np.cumsum(p * centres)[:-1]
    total = float((p * centres).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total * below - mean_below) ** 2 / (below * (1 - below))
    return float(edges[1 + int(np.nanargmax(np.where(below * (1 - below) > 0, between, -1)))])


def _restore_shadows(light: np.ndarray, grey: np.ndarray, most: int) -> np.ndarray:
    """The closing's light, brought back down over shadowed paper it lifted.

    Why: where a shadow's edge meets the picture's edge at a sharp angle, or a finger's shadow
    ends in a point, the shadow is a dark wedge narrower than the window near its tip, and
    the closing fills it with the light around it: after dividing, the tip would read as
    ink. But the tip's paper is as bright as the shadow next to it, where the closing was
    right; ink is much darker than its paper. So the shadow's light spreads from pixel to
    pixel (a geodesic reconstruction, at most ``most`` steps) over pixels whose brightness
    is at least SHADOW_LIKE of it, and never into a stroke.

    Shapes: light (h, w) >= grey (h, w) -> (h, w), between the two.
    """
    for _ in range(most):
        lower = _darkest_neighbour(light)
        spread = np.maximum(lower, grey)
        spread = (spread < (1 - SHADOW_STEP) * light) & (grey >= SHADOW_LIKE * lower)
        if not spread.any():
            break
        light = np.where(spread, np.maximum(lower, grey), light)
    return light


def _darkest_neighbour(a: np.ndarray) -> np.ndarray:
    """The smallest value in each pixel's 3x3 neighbourhood (edges repeated): a fast erosion.

    Shapes: (h, w) -> (h, w).
    """
    p = np.pad(a, 1, mode="edge")
    rows = np.minimum(np.minimum(p[:-2], p[1:-1]), p[2:])  # (h, w + 2)
    return np.minimum(np.minimum(rows[:, :-2], rows[:, 1:-1]), rows[:, 2:])


def _local_median(a: np.ndarray, window: int) -> np.ndarray:
    """The median over a window x window square around each pixel, computed on a copy reduced
    2 times (the background changes slowly) and enlarged back. (H, W) -> (H, W).
    """
    coarse = _block_mean(a, 2)
    half = max(1, window // 4)
    windows = np.lib.stride_tricks.sliding_window_view(
        np.pad(coarse, half, mode="edge"), (2 * half + 1, 2 * half + 1))  # (h, w, win, win)
    return _enlarge(np.median(windows, axis=(-2, -1)), 2, a.shape)


def _reduced(grey: np.ndarray) -> tuple[np.ndarray, int]:
    """The block-mean copy the light is estimated on, and its reduction factor."""
    step = max(1, -(-max(grey.shape) // LIGHT_WORK_SIZE))  # ceil: the reduction factor
    return _block_mean(grey, step), step


def _closing(a: np.ndarray, window: int) -> np.ndarray:
    """Greyscale closing by a window x window square (odd: centred on its pixel, so the two
    passes cancel exactly on a ramp or a step). (H, W) -> (H, W), >= a (also by the edge,
    where the continuation beyond it may dip under the picture)."""
    return np.maximum(_running(_running(a, window, np.max), window, np.min), a)


def _block_mean(a: np.ndarray, step: int) -> np.ndarray:
    """Means of step x step blocks (the last ones partial). (H, W) -> (ceil(H/s), ceil(W/s))."""
    if step == 1:
        return a.astype(np.float32)
    h, w = a.shape
    hh, ww = -(-h // step), -(-w // step)
    padded = np.pad(a, ((0, hh * step - h), (0, ww * step - w)), mode="edge")
    return padded.reshape(hh, step, ww, step).mean(axis=(1, 3), dtype=np.float32)


def _running(a: np.ndarray, window: int, op) -> np.ndarray:
    """``op`` (np.max / np.min) over an odd window x window square centred on each pixel.
    Separable: along rows, then columns. (H, W) -> (H, W).

    Beyond the edge the picture is continued by odd reflection (2 * edge - mirror image) where
    that is darker than repeating the edge pixel: a light falling off towards the edge falls
    on, where repeating the edge would bend it into a corner that the closing fills (and the
    paper by the edge would read as faint ink); a shadow's edge or a stroke meeting the edge
    is not mirrored into a light brighter than the paper.
    """
    half = window // 2
    for axis in (0, 1):
        pads = [(half, half) if k == axis else (0, 0) for k in range(2)]
        padded = np.minimum(np.pad(a, pads, mode="reflect", reflect_type="odd"),
                            np.pad(a, pads, mode="edge"))
        windows = np.lib.stride_tricks.sliding_window_view(padded, window,
                                                           axis=axis)  # (H, W, window)
        a = op(windows, axis=-1)
    return a


def _enlarge(a: np.ndarray, step: int, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear enlargement of a block-mean copy back to ``shape`` (block centres aligned)."""
    from PIL import Image

    if step == 1:
        return a
    h, w = shape
    big = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), mode="F").resize(
        (a.shape[1] * step, a.shape[0] * step), Image.Resampling.BILINEAR)
    return np.asarray(big, dtype=np.float32)[:h, :w]
