"""Memory layouts: an (N, C, H, W) array need not lie in memory in that order.

Every layer takes and returns arrays *shaped* (N, C, H, W), the book's and PyTorch's order.
How the numbers lie in memory is a separate matter, told by the strides. The Winograd
convolution (``layers/winograd.py``) computes in HWNC order, (H, W, N, C), and hands its output
on as a transposed *view*: shape (N, C, H, W), memory HWNC. NumPy's elementwise operations
(ReLU, Dropout) then allocate their results in the same order, and the next convolution reads
its input without a transpose. Pooling keeps the layout with the helpers below, so a whole run
of convolutions, activations and pools stays HWNC and is converted once at its end (the
``reshape`` of Flatten, or a ``Linear``).

``axis_order(a)`` names the layout: (0, 1, 2, 3) for plain NCHW, (2, 3, 0, 1) for HWNC.
"""

from __future__ import annotations


def axis_order(a) -> tuple[int, ...]:
    """The axes of ``a`` from outermost to innermost in memory (largest stride first).

    Ties (axes of length 1) keep their index order, so a C-contiguous array gives 0, 1, 2, ...
    """
    return tuple(sorted(range(a.ndim), key=lambda axis: (-abs(a.strides[axis]), axis)))


def dense_strides(shape: tuple[int, ...], order: tuple[int, ...]) -> tuple[int, ...]:
    """Strides in elements of a dense array of ``shape`` laid out in ``order``."""
    strides = [0] * len(shape)
    step = 1
    for axis in reversed(order):
        strides[axis] = step
        step *= shape[axis]
    return tuple(strides)


def empty_ordered(xp, shape: tuple[int, ...], order: tuple[int, ...], dtype, *,
                  zeros: bool = False):
    """A new array of ``shape`` whose memory is laid out in ``order`` (see :func:`axis_order`).

    Returns a transposed view of a dense 1-D buffer.
    """
    size = 1
    for extent in shape:
        size *= extent
    return ordered_view((xp.zeros if zeros else xp.empty)(size, dtype=dtype), shape, order)


def ordered_view(flat, shape: tuple[int, ...], order: tuple[int, ...]):
    """View a flat buffer as an array of ``shape`` laid out in ``order`` (no copy)."""
    inverse = sorted(range(len(order)), key=order.__getitem__)
    return flat.reshape(tuple(shape[a] for a in order)).transpose(inverse)
