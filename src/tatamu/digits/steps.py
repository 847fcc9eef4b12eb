"""The steps that turn a person's drawing of one digit into what an MNIST model was trained on.

MNIST digits were not photographed: each was cropped to its ink, its longer side fitted into a
20x20 box keeping the aspect ratio (with anti-aliased grey edges), and pasted into 28x28 so that
its centre of mass lies at pixel (14, 14) (LeCun et al., "The MNIST database"). A drawing made
on a 400x300 canvas is nothing like that, and a model trained on MNIST gets it wrong with
confidence unless the same steps are applied. Each step is one small function here, working on
2-D float arrays in [0, 1]; :func:`tatamu.digits.images.prepare_digit` runs them in order.

Notation: ``grey`` is a picture's brightness (0 black, 1 white); ``ink`` is how much ink a
pixel holds (0 background, 1 full stroke), MNIST's white-on-black convention.
"""

from __future__ import annotations

from collections import deque

import numpy as np

#: Below this (after the background is removed) a pixel is not ink: paper grain, JPEG noise,
#: the faint halo of a scanned stroke.
INK_THRESHOLD = 0.3
#: A mark with less than this fraction of the largest mark's area is a speck (dust, a stray
#: tap of the pen), left out of the crop. The second stroke of a 4 or the bar of a 5 is bigger.
SPECK_FRACTION = 0.04
#: A mark touching the picture's edge further than this fraction of the largest mark's size
#: from it, or lying within this fraction of the picture's shorter side from an edge, is not
#: part of the digit (see ``_digit_marks``).
EDGE_MARK_GAP = 0.25
#: ... and any mark further than this (a dot, a scribble, grain on an empty sheet).
FAR_MARK_GAP = 1.0
#: Size at which stroke width is measured and changed (longer side, pixels): 4x the 20-px box,
#: so a one-pixel change there is a quarter pixel in the final picture, and a 12-megapixel
#: photo costs no more than a small canvas.
WORK_SIZE = 80
#: MNIST's stroke width as a fraction of the digit's longer side: ``stroke_width`` below on the
#: first 5,000 shipped training digits has median 2.48 px in the 20-px box (10% are under 1.8,
#: 10% over 3.4). ``tests/test_digits.py`` measures it again on the shipped files.
MNIST_STROKE_FRACTION = 2.5 / 20
#: A stroke within these factors of the target is left alone (people's pens differ, and so
#: did the MNIST writers'); outside, it is thickened or thinned to the target.
STROKE_TOLERANCE = (0.75, 1.35)


# -- colour and background ---------------------------------------------------------------------
def composite_alpha(grey: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Lay a picture with transparency over a plain background of the contrasting shade.

    Why: a browser canvas saved as PNG keeps the ink only in the alpha channel (often black
    RGB under alpha 0 *and* under the ink); dropping alpha leaves a blank picture. Whatever
    colour lies under alpha 0 is background. The opaque pixels' mean brightness says whether
    the ink is dark (laid over white) or light (laid over black), so ink stays visible.

    Shapes: grey (H, W), alpha (H, W) in [0, 1] -> (H, W).
    """
    weight = float(alpha.sum())
    ink_shade = float((grey * alpha).sum() / weight) if weight > 0 else 0.0
    backdrop = 1.0 if ink_shade < 0.5 else 0.0
    return grey * alpha + backdrop * (1.0 - alpha)


def border_level(grey: np.ndarray) -> tuple[float, float]:
    """The background's brightness and its noise: median and spread of the outer frame.

    Why: the mean of the whole picture depends on how much was drawn, and a thick digit on a
    small canvas is "mostly ink". The frame is background almost always; the median ignores
    a stroke that runs off the edge. The spread (the median absolute deviation, scaled to a
    standard deviation) says how grainy the paper or the photo is.
    """
    frame = frame_pixels(grey)
    level = float(np.median(frame))
    return level, 1.4826 * float(np.median(np.abs(frame - level)))


def frame_pixels(grey: np.ndarray) -> np.ndarray:
    """The pixels of the picture's outer frame, 2% of the shorter side wide (at least one).

    Shapes: (H, W) -> (n,).
    """
    h, w = grey.shape
    k = max(1, min(h, w) // 50)
    return np.concatenate([grey[:k].ravel(), grey[-k:].ravel(),
                           grey[:, :k].ravel(), grey[:, -k:].ravel()])


def invert_light_background(grey: np.ndarray, background: float) -> tuple[np.ndarray, float]:
    """Dark ink on light paper -> light ink on dark, like MNIST (returns picture, background).

    Why: MNIST is white on black; the network has only ever seen bright strokes.
    """
    return 1.0 - grey, 1.0 - background


def subtract_background(grey: np.ndarray, background: float, noise: float = 0.0) -> np.ndarray:
    """Ink = brightness above the background, stretched so the strokes reach 1.

    Why: grey paper, a photo's uneven light or a pencil's grey stroke would otherwise give the
    network a dim digit on a grey field, unlike MNIST's full-strength strokes on 0. The
    stretch divides by a high percentile of the ink rather than its maximum, so one bright
    noisy pixel cannot dim the whole digit. What stays under INK_THRESHOLD / 2, or under four
    times the paper's ``noise`` (grain that stroke thickening would otherwise spread), is 0.
    """
    ink = np.clip(grey - background, 0.0, None)
    peak = float(ink.max())
    if peak <= max(0.05, 4 * noise):  # nothing stands out from the background: empty
        return np.zeros_like(ink)
    scale = float(np.percentile(ink[ink > 0.5 * peak], 90))
    ink = np.clip(ink / scale, 0.0, 1.0)
    ink[ink < max(INK_THRESHOLD / 2, 4 * noise / scale)] = 0.0
    return ink


# -- where the digit is ------------------------------------------------------------------------
def ink_marks(ink: np.ndarray, threshold: float = INK_THRESHOLD) -> tuple[np.ndarray, int]:
    """The mask of ink pixels (over ``threshold``) that belong to real marks (not specks), and
    the number of marks.

    Marks are 8-connected groups of ink pixels, found on a copy reduced to at most 128 px so
    a 12-megapixel photo costs milliseconds; the mask returned is full resolution.

    Shapes: ink (H, W) -> (mask (H, W) bool, count).
    """
    mask = ink > threshold
    h, w = mask.shape
    step = max(1, -(-max(h, w) // 128))  # ceil: the reduction factor
    hh, ww = -(-h // step), -(-w // step)
    padded = np.zeros((hh * step, ww * step), dtype=bool)
    padded[:h, :w] = mask
    coarse = padded.reshape(hh, step, ww, step).any(axis=(1, 3))  # (hh, ww): any ink per block
    labels, sizes = _label(coarse)
    keep = _digit_marks(labels, sizes)
    kept = np.isin(labels, keep)
    full = np.repeat(np.repeat(kept, step, axis=0), step, axis=1)[:h, :w]  # back to (H, W)
    return mask & full, len(keep)


def _digit_marks(labels: np.ndarray, sizes: list[int]) -> list[int]:
    """The labels of the marks that make the digit: not specks, not strays.

    Why: a photo is aimed at the digit, and a digit's marks lie close together (a 4's two
    strokes, a 5's bar). A mark touching the picture's edge further than EDGE_MARK_GAP of the
    largest mark's size from it is the edge of the page or the table, the tip of a shadow, a
    finger; any mark further than FAR_MARK_GAP is a dot or a scribble beside the digit (a
    drawing that runs off the edge is one mark with its body). A mark under SPECK_FRACTION of
    the largest's area is a speck.

    Shapes: labels (h, w) 1..K (0 none), sizes K -> labels kept.
    """
    if not sizes:
        return []
    h, w = labels.shape
    rows, cols = np.nonzero(labels)
    index = labels[rows, cols] - 1
    top, left = np.full(len(sizes), h), np.full(len(sizes), w)
    bottom, right = np.full(len(sizes), -1), np.full(len(sizes), -1)
    np.minimum.at(top, index, rows)
    np.minimum.at(left, index, cols)
    np.maximum.at(bottom, index, rows)
    np.maximum.at(right, index, cols)
    inner = range(len(sizes))
    big = max(inner, key=sizes.__getitem__)
    size = max(bottom[big] - top[big], right[big] - left[big]) + 1
    keep = []
    for i in inner:
        touches = top[i] == 0 or left[i] == 0 or bottom[i] == h - 1 or right[i] == w - 1
        gap = max(top[i] - bottom[big], top[big] - bottom[i], left[i] - right[big],
                  left[big] - right[i])
        if sizes[i] >= SPECK_FRACTION * sizes[big] and gap <= FAR_MARK_GAP * size and not (
                touches and gap > EDGE_MARK_GAP * size):
            keep.append(i + 1)
    return keep


def _label(mask: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """8-connected components of a small boolean mask: (labels 1..K, 0 elsewhere; sizes)."""
    labels = np.zeros(mask.shape, dtype=np.int32)
    sizes = []
    h, w = mask.shape
    for start in zip(*np.nonzero(mask), strict=True):
        if labels[start]:
            continue
        sizes.append(0)
        labels[start] = len(sizes)
        queue = deque([start])
        while queue:
            r, c = queue.popleft()
            sizes[-1] += 1
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < h and 0 <= cc < w and mask[rr, cc] and not labels[rr, cc]:
                        labels[rr, cc] = len(sizes)
                        queue.append((rr, cc))
    return labels, sizes


def crop_to_ink(ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The smallest rectangle holding every real mark, cut at full resolution.

    Why: MNIST digits were cropped to their ink before being scaled; a digit drawn small in a
    corner of a large canvas must fill the same box. Specks are left out of ``mask`` so a
    dust spot far away cannot stretch the box. Several separate marks (a 4 in two strokes)
    are one digit: the box holds them all.

    Shapes: ink (H, W), mask (H, W) bool -> (h, w) with h <= H, w <= W.
    """
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return ink[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]


# -- stroke width ------------------------------------------------------------------------------
def resize(ink: np.ndarray, height: int, width: int) -> np.ndarray:
    """Anti-aliased resize of a float picture (Pillow's Lanczos on 32-bit floats), in [0, 1].

    Why Lanczos: MNIST's edges are grey, from anti-aliased scaling; nearest-neighbour or
    bilinear shrinking would give jagged or blurred strokes the network never saw.
    """
    from PIL import Image

    if ink.shape == (height, width):
        return ink.astype(np.float32)
    img = Image.fromarray(np.ascontiguousarray(ink, dtype=np.float32), mode="F")
    out = np.asarray(img.resize((width, height), Image.Resampling.LANCZOS), dtype=np.float32)
    return np.clip(out, 0.0, 1.0)  # Lanczos rings slightly below 0 / above 1 at sharp edges


def fitted_size(shape: tuple[int, int], longer: int) -> tuple[int, int]:
    """(h, w) scaled so the longer side is ``longer``, aspect kept, at least 1 px each."""
    h, w = shape
    scale = longer / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def stroke_width(ink: np.ndarray) -> float:
    """Estimated stroke width in pixels: 2 * area / perimeter of the ink (> 0.5).

    A stroke of length L and width t has area L*t and perimeter about 2L, so the ratio is t
    whatever the digit's shape. The perimeter counts pixel edges between ink and background;
    such a staircase overestimates a slanted edge's length by 4/pi on average, hence the
    correction. Returns 0 for no ink.
    """
    mask = np.pad(ink > 0.5, 1)
    area = int(mask.sum())
    edges = int((mask[1:] != mask[:-1]).sum() + (mask[:, 1:] != mask[:, :-1]).sum())
    return 0.0 if edges == 0 else 2.0 * area / (edges * np.pi / 4)


def normalise_stroke(ink: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Thicken a thin pen's strokes or thin a marker's, towards MNIST's width for this size.

    Why: the MNIST writers used pens whose strokes, once the digit was fitted to 20 px, are
    about 2.5 px wide. A 1-px line drawn on a 400-px canvas becomes a faint hairline at 20 px,
    and a fat marker fills the loops of a 6 or 8; the network reads both badly. Works at
    WORK_SIZE (grey dilation / erosion with a disk, then the contrast restored).

    Shapes: ink (h, w) -> (ink (h', w') at WORK_SIZE, width before, width after) in work px.
    """
    h, w = fitted_size(ink.shape, WORK_SIZE)
    work = resize(ink, h, w)
    # A hairline shrunk 10x is a faint grey line; its width is measured before it fades:
    # the full-resolution width, scaled.
    before = stroke_width(ink) * (WORK_SIZE / max(ink.shape))
    target = MNIST_STROKE_FRACTION * WORK_SIZE
    low, high = STROKE_TOLERANCE
    radius = round(abs(target - before) / 2)
    if before == 0 or radius == 0 or low * target <= before <= high * target:
        return work, before, before
    if before < target:
        work = _disk_filter(work, radius, np.maximum)
    else:
        thinner = _disk_filter(work, radius, np.minimum)
        # Never erase the digit: a stroke thinner in places than the rest would vanish there.
        if (thinner > 0.5).sum() >= 0.5 * (work > 0.5).sum() * target / before:
            work = thinner
    peak = float(work.max())
    if peak > 0:
        work = np.clip(work / min(1.0, np.percentile(work[work > 0.5 * peak], 90)), 0, 1)
        # Thinning shortens each stroke by the radius at both ends: crop again, so the
        # longer side still fills the box.
        work = crop_to_ink(work, work > INK_THRESHOLD / 2)
    return work, before, stroke_width(work)


def _disk_filter(a: np.ndarray, radius: int, op) -> np.ndarray:
    """Grey dilation (op=np.maximum) or erosion (np.minimum) with a disk of ``radius``.

    Shapes: (h, w) -> (h, w); the picture is padded with background (0) first.
    """
    padded = np.pad(a, radius)
    out = a.copy()
    h, w = a.shape
    for dr in range(-radius, radius + 1):
        for dc in range(-radius, radius + 1):
            if dr * dr + dc * dc <= radius * radius + radius:  # a round disk, not a square
                shifted = padded[radius + dr: radius + dr + h, radius + dc: radius + dc + w]
                out = op(out, shifted)
    return out


# -- into the model's frame --------------------------------------------------------------------
def paste_centred(ink: np.ndarray, height: int, width: int) -> np.ndarray:
    """Paste into a black (height, width) frame, centred by its bounding box.

    Shapes: (h, w) with h <= height, w <= width -> (height, width).
    """
    frame = np.zeros((height, width), dtype=np.float32)
    top, left = (height - ink.shape[0]) // 2, (width - ink.shape[1]) // 2
    frame[top: top + ink.shape[0], left: left + ink.shape[1]] = ink
    return frame


def centre_of_mass(ink: np.ndarray) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass, pixel centres at whole numbers."""
    total = float(ink.sum())
    rows, cols = np.indices(ink.shape)
    return float((rows * ink).sum() / total), float((cols * ink).sum() / total)


def centre_by_mass(ink: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Shift by whole pixels so the centre of mass lands on the frame's centre (14, 14).

    Why: MNIST was centred this way (every shipped digit's centre of mass lies within half a
    pixel of (14, 14)), not by its bounding box: a 7's mass sits high, a 6's low, and the
    network learned those positions. Whole pixels, as MNIST did, so no extra blur. The shift
    is limited so that no ink leaves the frame.

    Shapes: (H, W) -> ((H, W), (rows, columns) shifted).
    """
    h, w = ink.shape
    cy, cx = centre_of_mass(ink)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    dy = int(np.clip(round(h // 2 - cy), -rows[0], h - 1 - rows[-1]))
    dx = int(np.clip(round(w // 2 - cx), -cols[0], w - 1 - cols[-1]))
    out = np.zeros_like(ink)
    out[max(dy, 0): h + min(dy, 0), max(dx, 0): w + min(dx, 0)] = \
        ink[max(-dy, 0): h + min(-dy, 0), max(-dx, 0): w + min(-dx, 0)]
    return out, (dy, dx)
