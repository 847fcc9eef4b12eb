"""Where a wrong gradient is wrong: a map of relative errors and the pattern it makes.

When a learner's ``dx`` or ``dW`` disagrees with the numerical gradient (or tatamu's), the
*place* of the disagreement usually names the mistake:

- only where windows overlap (input cells in two or more windows): col2im overwrites (``=``)
  instead of adding (``+=``);
- only on the border (cells reached by windows that hang over the padding): the padding is
  mishandled in backward;
- whole channels wrong, the rest right: the channel axis is mixed up (a loop or a reshape over
  the wrong axis);
- the right numbers in the wrong places: axes mixed (a transpose or reshape in the wrong
  order);
- everything scaled by the batch size: a mean where the book sums (or the reverse).

:func:`locate` returns that as one text: the pattern's name and fix, then the map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...im2col import conv_output_size

#: an element is wrong when its relative error is above this
WRONG = 1e-5


@dataclass(frozen=True)
class Windows:
    """The window geometry behind an input: (FH, FW), stride, padding (an input of (N, C, L)
    uses FH = 1)."""

    kernel: tuple[int, int]
    stride: int
    pad: int


@dataclass(frozen=True)
class Located:
    pattern: str  # "overlap", "border", "channels", "places", "scale", "everywhere"
    text: str  # the pattern named, with its likely fix
    map: str  # the relative errors of one slice, as a grid

    def __str__(self) -> str:
        return f"{self.text}\n{self.map}"


def relative_errors(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """|got - want| / max(|got|, |want|), each element; values near 0 against the array's
    scale, so rounding next to a zero is no error."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    floor = 1e-3 * max(float(np.abs(want).max(initial=0.0)), 1e-12)
    scale = np.maximum(np.maximum(np.abs(got), np.abs(want)), floor)
    return np.abs(got - want) / scale


def locate(name: str, got, want, *, windows: Windows | None = None,
           batch: int | None = None) -> Located | None:
    """The pattern of ``got``'s disagreement with ``want`` (same shape), or None when they
    agree or cannot be compared. ``windows``: the geometry of the layer whose input ``got``
    is the gradient of (dx); ``batch``: N, for a gradient summed over the batch (dW, db)."""
    try:
        got = np.asarray(got, np.float64)
    except (TypeError, ValueError):
        return None
    want = np.asarray(want, np.float64)
    if got.shape != want.shape or not got.size or not np.isfinite(got).all():
        return None
    rel = relative_errors(got, want)
    wrong = rel > WRONG
    if not wrong.any():
        return None
    grid = error_map(name, rel, wrong)
    text = (_scaled(name, got, want, batch, wrong)
            or _windows_pattern(name, wrong, windows)
            or _channels(name, wrong)
            or _places(name, got, want))
    if text:
        return Located(text[0], text[1], grid)
    share = wrong.mean()
    return Located("everywhere", f"{name}: {wrong.sum()} of {wrong.size} values wrong "
                                 f"({share:.0%}), with no pattern of place", grid)


def _scaled(name, got, want, batch, wrong):
    """Everything off by one factor: the batch size, a sign, or another number."""
    norm = float(np.sum(want * want))
    if norm == 0 or wrong.mean() < 0.5:
        return None
    ratio = float(np.sum(got * want)) / norm
    if not np.allclose(got, ratio * want, rtol=1e-4, atol=1e-8 * np.abs(want).max()):
        return None
    for n, text in ((batch, f"{name} is divided by the batch size N = {batch}: a mean where "
                            f"the book sums (the loss already averages over the batch)"),):
        if n and np.isclose(ratio, 1 / n, rtol=1e-3):
            return "scale", text
        if n and np.isclose(ratio, n, rtol=1e-3):
            return "scale", (f"{name} is multiplied by the batch size N = {n}: a sum where a "
                             f"mean belongs (or dout multiplied by N)")
    if np.isclose(ratio, -1, rtol=1e-3):
        return "scale", f"{name} has the wrong sign everywhere"
    if abs(ratio) < 1e-6:
        return "scale", f"{name} is zero everywhere: the gradient was never computed"
    return "scale", f"{name} is the right gradient times {ratio:.6g} everywhere"


def _windows_pattern(name, wrong, windows):
    """Wrong only where windows overlap, or only on the border (windows over the padding)."""
    if windows is None or wrong.ndim < 3:
        return None
    size = wrong.shape[2:] if wrong.ndim == 4 else (1, wrong.shape[2])
    counts, border = coverage(size, windows)
    flat = wrong.reshape(wrong.shape[:2] + size).any(axis=(0, 1))  # (H, W): wrong anywhere
    overlap = counts >= 2
    if overlap.any() and (~overlap).any() and not (flat & ~overlap).any():
        return "overlap", (f"{name} is wrong only where windows overlap (input cells in 2 or more "
                           f"windows): col2im overwrites where it must add; a cell in several "
                           f"windows gets the sum of their gradients (img[...] += col[...])")
    if border.any() and (~border).any() and not (flat & ~border).any():
        return "border", (f"{name} is wrong only on the border (cells reached by windows that "
                          f"hang over the padding): the padding is mishandled in backward (pad "
                          f"the same as forward, and cut exactly pad cells off each side)")
    return None


def coverage(size: tuple[int, int], windows: Windows) -> tuple[np.ndarray, np.ndarray]:
    """(how many windows hold each input cell, which cells a window over the padding holds)."""
    per_axis = []
    for length, k in zip(size, windows.kernel, strict=True):
        pad = windows.pad if k > 1 or length > 1 else 0
        stride = windows.stride if length > 1 else 1
        out = conv_output_size(length, k, stride, pad, rounding="floor")
        counts, edge = np.zeros(length, int), np.zeros(length, bool)
        for i in range(out):
            start = i * stride - pad
            cells = [r for r in range(start, start + k) if 0 <= r < length]
            counts[cells] += 1
            if start < 0 or start + k > length:
                edge[cells] = True
        per_axis.append((counts, edge))
    (rows, row_edge), (cols, col_edge) = per_axis
    return np.outer(rows, cols), row_edge[:, None] | col_edge[None, :]


def _channels(name, wrong):
    """Whole (sample, channel) slices wrong, the others right."""
    if wrong.ndim < 3:
        return None
    per = wrong.reshape(wrong.shape[0], wrong.shape[1], -1)
    whole = per.all(axis=2) | ~per.any(axis=2)
    if whole.all() and per.any(axis=2).any() and not per.all():
        bad = sorted({int(c) for c in np.argwhere(per.all(axis=2))[:, 1]})
        shown = ", ".join(map(str, bad[:6])) + (", ..." if len(bad) > 6 else "")
        return "channels", (f"{name} is wrong in whole channels (axis 1: {shown}) and right in "
                            f"the others: the channel axis is mixed up (a loop over the wrong "
                            f"range, or a reshape/transpose that moves channels)")
    return None


def _places(name, got, want):
    """The right numbers, in the wrong places."""
    if np.allclose(np.sort(got, axis=None), np.sort(want, axis=None), rtol=1e-6,
                   atol=1e-9 * np.abs(want).max()):
        return "places", (f"{name} holds the right numbers in the wrong places: axes mixed (a "
                          f"transpose or reshape in the wrong order, e.g. dout reshaped without "
                          f"transpose(0, 2, 3, 1))")
    return None


def error_map(name: str, rel: np.ndarray, wrong: np.ndarray, limit: int = 12) -> str:
    """The relative errors of the first wrong 2-D slice, '.' where right."""
    if rel.ndim <= 2:
        index, plane = (), rel.reshape(1, -1) if rel.ndim < 2 else rel
    else:
        lead = np.argwhere(wrong.reshape(*wrong.shape[:-2], -1).any(axis=-1))[0]
        index = tuple(int(i) for i in lead)
        plane = rel[index]
    shown = plane[:limit, :limit]
    cells = [["." if v <= WRONG else f"{v:.0e}" for v in row] for row in shown]
    width = max(len(c) for row in cells for c in row)
    where = f"{name}[{', '.join(map(str, index))}]" if index else name
    cut = " (cut)" if plane.shape[0] > limit or plane.shape[1] > limit else ""
    lines = [f"relative error of {where}{cut}, '.' where right:"]
    lines += ["  " + " ".join(c.rjust(width) for c in row) for row in cells]
    return "\n".join(lines)
