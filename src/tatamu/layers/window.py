"""Where a layer's windows sit: kernel, stride, padding, dilation and the rounding rule.

A convolution or pooling layer settles its window arguments once, in ``__init__`` (``"same"``
padding resolved, ints made pairs, a 1-D layer's (K,) made (1, K)), and keeps the result as
``layer.window``, a frozen :class:`WindowGeometry`. Everything outside the layer that needs the
geometry (export to PyTorch and ONNX, the drawing page's worked sums, the learner's tools) reads
it there, so no one re-derives it and no one reads a layer's privates. The output size still
comes from the one formula, :func:`tatamu.im2col.conv_output_size`, through ``output_size``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..im2col import Rounding, window_geometry

Pair = tuple[int, int]


@dataclass(frozen=True)
class WindowGeometry:
    """A layer's window in 2-D form (a 1-D layer's H entries are a kernel of 1, no padding).

    Attributes
    ----------
    kernel : (FH, FW)
    stride : (SH, SW)
    padding : ((top, bottom), (left, right)), as asked for (a ``ceil`` overrun comes on top:
        see :meth:`applied_padding`)
    dilation : (DH, DW)
    rounding : ``"strict"``, ``"floor"`` or ``"ceil"`` (see ``conv_output_size``)
    dims : 2 for a layer on (N, C, H, W); 1 for one on (N, C, L), run as (N, C, 1, L)

    Example
    -------
    >>> from tatamu.layers import Conv2D
    >>> window = Conv2D(1, 8, 5, stride=2, padding=2).window
    >>> window.kernel, window.stride, window.padding, window.output_size((28, 28))
    ((5, 5), (2, 2), ((2, 2), (2, 2)), (14, 14))
    """

    kernel: Pair
    stride: Pair
    padding: tuple[Pair, Pair]
    dilation: Pair = (1, 1)
    rounding: Rounding = "strict"
    dims: int = 2

    @property
    def span(self) -> Pair:
        """How many input pixels one window covers per axis: ``D*(K-1) + 1``."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation, strict=True))

    @property
    def overlapping(self) -> bool:
        """Whether neighbouring windows share pixels (a step shorter than a window's span)."""
        return any(s < span for s, span in zip(self.stride, self.span, strict=True))

    def output_size(self, input_hw: Pair, *, layer: str | None = None) -> Pair:
        """(OH, OW) for an input of (H, W) (a 1-D layer: (1, L) -> (1, OL)).

        A size that does not divide is refused (``rounding="strict"``) in the words of
        ``conv_output_size``; ``layer`` names the layer in that message.
        """
        return self._geometry(input_hw, layer)[0]

    def applied_padding(self, input_hw: Pair) -> tuple[Pair, Pair]:
        """The padding actually applied: :attr:`padding` plus a ``ceil`` window's overrun,
        which goes to the bottom/right so the last window stays inside the array."""
        return self._geometry(input_hw, None)[1]

    def overrun(self, input_hw: Pair) -> tuple[Pair, Pair]:
        """Only the zeros a ``ceil`` window adds beyond :attr:`padding` (none otherwise)."""
        return tuple((0, applied[1] - asked[1]) for applied, asked in
                     zip(self.applied_padding(input_hw), self.padding, strict=True))

    def own_axes(self) -> tuple[tuple, tuple, tuple, tuple]:
        """(kernel, stride, padding, dilation) on the layer's own axes: (H, W) for 2-D, (L,)
        for 1-D, as PyTorch's and ONNX's layers take them."""
        keep = slice(2 - self.dims, 2)
        return self.kernel[keep], self.stride[keep], self.padding[keep], self.dilation[keep]

    def _geometry(self, input_hw, layer):
        # Asked two or three times per layer per step with the same input size: the answer is
        # kept per size (a refused size raises every time, in the language of that moment).
        # Python work on the hot path holds the GIL that the other shard's thread waits for.
        input_hw = tuple(input_hw)
        known = _GEOMETRY.get((self, input_hw))
        if known is None:
            known = window_geometry(input_hw, self.kernel, self.stride, self.padding,
                                    self.dilation, self.rounding, layer=layer)
            if len(_GEOMETRY) >= _GEOMETRY_MAX:
                _GEOMETRY.clear()
            _GEOMETRY[(self, input_hw)] = known
        return known


#: (window, input (H, W)) -> ((OH, OW), applied padding); a frozen window is its own key.
_GEOMETRY: dict = {}
_GEOMETRY_MAX = 4096
