"""Padding an input before its windows are taken, and the adjoint that backward needs.

Zero padding (the book's only kind) just adds a border; its gradient is a crop. The other
modes copy input pixels into the border (``reflect``, ``replicate``, ``circular``, as in
PyTorch's ``padding_mode``), so a border pixel's gradient belongs to the pixel it copies:
:func:`pad_adjoint` sends it back there.
"""

from __future__ import annotations

from .backend.arrays import get_array_module
from .errors import ConfigError
from .i18n import _

#: PyTorch's padding_mode names -> numpy.pad's mode names.
PADDING_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}

Pads = tuple[tuple[int, int], tuple[int, int]]


def check_padding_mode(mode: str, pads: Pads, input_hw: tuple[int, int] | None = None) -> None:
    """Refuse an unknown mode, or a border wider than the mode can fill (PyTorch's limits)."""
    if mode not in PADDING_MODES:
        raise ConfigError(_("padding_mode must be one of {padding_modes}; got {mode!r}",
                            padding_modes=tuple(PADDING_MODES), mode=mode))
    if input_hw is None or mode == "zeros":
        return
    for (before, after), size, axis in zip(pads, input_hw, "HW", strict=True):
        widest = max(before, after)
        if mode == "reflect" and widest >= size:
            raise ConfigError(
                _("padding_mode='reflect' needs padding < input size; got padding {widest} for "
                  "{axis}={size}. Use less padding or padding_mode='replicate'.",
                  widest=widest, axis=axis, size=size)
            )
        if mode == "circular" and widest > size:
            raise ConfigError(
                _("padding_mode='circular' needs padding <= input size; got padding {widest} "
                  "for {axis}={size}.", widest=widest, axis=axis, size=size)
            )


def pad(x, pads: Pads, mode: str = "zeros", value: float = 0.0):
    """Pad the last two axes of ``x`` (N, C, H, W) by ``((top, bottom), (left, right))``."""
    if not any(p for pp in pads for p in pp):
        return x
    xp = get_array_module(x)
    width = ((0, 0), (0, 0), *pads)
    if mode == "zeros":
        return xp.pad(x, width, mode="constant", constant_values=value)
    return xp.pad(x, width, mode=PADDING_MODES[mode])


def pad_adjoint(dpadded, pads: Pads, mode: str = "zeros"):
    """Gradient w.r.t. the unpadded input, given the gradient w.r.t. the padded one.

    Shapes: dpadded (N, C, H + t + b, W + l + r) -> (N, C, H, W).
    """
    (top, bottom), (left, right) = pads
    hp, wp = dpadded.shape[-2:]
    h, w = hp - top - bottom, wp - left - right
    if mode == "zeros":
        # A constant border has no input behind it: its gradient is dropped.
        return dpadded[..., top : top + h, left : left + w]
    xp = get_array_module(dpadded)
    # Which input row/column each padded row/column copies, by padding the indices themselves
    # with the same mode; then one-hot matrices route each border gradient to its source.
    rows = xp.pad(xp.arange(h), (top, bottom), mode=PADDING_MODES[mode])  # (H + t + b,)
    cols = xp.pad(xp.arange(w), (left, right), mode=PADDING_MODES[mode])  # (W + l + r,)
    route_h = (rows[:, None] == xp.arange(h)[None, :]).astype(dpadded.dtype)  # (Hp, H)
    route_w = (cols[:, None] == xp.arange(w)[None, :]).astype(dpadded.dtype)  # (Wp, W)
    # (H, Hp) @ (N, C, Hp, Wp) @ (Wp, W) -> (N, C, H, W)
    return route_h.T @ dpadded @ route_w
