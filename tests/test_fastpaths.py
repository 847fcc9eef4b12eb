"""The layers' fast paths equal the general path and the obvious loops.

What is fast and what it is checked against:

- ``Conv2D`` keeps its im2col matrix transposed (``col_t``, (C*FH*FW, N*OH*OW)) and computes
  one product per group landing channel-major, (FN, N, OH, OW), seen as NCHW (a 3x3
  stride-1 layer with 4+ channels takes the Winograd path: tests/layers/test_winograd.py).
  Checked against the book's layer,
  ``tatamu.layers.book.Convolution`` ((N*OH*OW, C*FH*FW) layout, ``col @ col_W``, col2im), and
  against naive loops for y, dx, dW and db.
- ``MaxPool2D``/``AvgPool2D`` visit the FH*FW window elements as strided slices instead of
  copying windows; max pooling keeps the *first* maximum on ties (as ``np.argmax`` and PyTorch).
  Checked against loops that stack every window and call ``np.argmax`` / ``mean``, and max
  pooling against the book's layer, ``tatamu.layers.book.Pooling`` (im2col, each row's max).
- Pooling backward writes in place when windows are disjoint; the general path (overlapping
  windows) adds. Forcing the general path on disjoint windows must give the same arrays, and
  sizes the windows do not tile (odd sizes, floor/ceil rounding) must still be right.
- ``MaxPool2D`` in eval mode skips the winner bookkeeping: same output, nothing cached.

float32 stays float32 everywhere (outputs, gradients, caches); float64 is checked too.
"""

from __future__ import annotations

import numpy as np
import pytest
from reference import conv2d_ref, maxpool2d_ref, source_index

from tatamu.layers import AvgPool2D, Conv1D, Conv2D, MaxPool2D
from tatamu.layers.book import Convolution, Pooling
from tatamu.layers.layout import axis_order

DTYPES = [np.float32, np.float64]


def close(dtype):
    return {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-10}


# -- convolution ----------------------------------------------------------------------------

CONV_CASES = [  # (x shape, out channels, kernel, keyword arguments)
    ((2, 1, 7, 7), 3, 3, {}),
    ((2, 3, 8, 6), 4, (3, 2), {"padding": 1}),
    ((1, 2, 9, 9), 2, 3, {"stride": 2, "dilation": 2, "padding": 2}),
    ((3, 4, 6, 6), 6, 3, {"groups": 2, "padding": 1}),
    ((2, 4, 5, 5), 4, 1, {"groups": 4}),  # depthwise 1x1: col_t is a view of x
    ((2, 2, 6, 7), 3, 3, {"stride": 2, "rounding": "floor", "bias": False}),
]


def book_path(x, W, b, kernel, stride, padding, dilation, groups, dout):
    """The book's algorithm, ``tatamu.layers.book.Convolution`` (im2col, col @ col_W, col2im),
    stretched to the cases it does not cover by exact rewrites rather than by other code:

    - groups: one book Convolution per group of channels, outputs stacked;
    - dilation D: the kernel spread out with zeros (a K-tap kernel becomes D*(K-1)+1 taps); dW
      is the spread kernel's gradient read back at the taps;
    - a (PH, PW) padding or a size that does not divide ("floor"): the input padded by hand and
      cropped to the part the windows cover; dx pasted back and the padding cut off.
    """
    n, c, h, w = x.shape
    fn, cg, fh, fw = W.shape
    d = dilation
    span_h, span_w = d * (fh - 1) + 1, d * (fw - 1) + 1
    spread = np.zeros((fn, cg, span_h, span_w), dtype=W.dtype)
    spread[:, :, ::d, ::d] = W  # the dilated kernel as a plain one with zeros between taps
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oh, ow = dout.shape[2:]
    cover_h, cover_w = (oh - 1) * stride + span_h, (ow - 1) * stride + span_w
    direct = isinstance(padding, int) and (cover_h, cover_w) == (h + 2 * ph, w + 2 * pw)
    xb = x if direct else np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))[:, :, :cover_h,
                                                                             :cover_w]
    bias = np.zeros(fn, dtype=x.dtype) if b is None else b
    ys, dxs, dws = [], [], []
    for g in range(groups):
        f = slice(g * fn // groups, (g + 1) * fn // groups)
        layer = Convolution(spread[f], bias[f], stride, padding if direct else 0)
        ys.append(layer.forward(xb[:, g * cg:(g + 1) * cg]))
        dxs.append(layer.backward(dout[:, f]))
        dws.append(layer.dW[:, :, ::d, ::d])
    y, dx = np.concatenate(ys, axis=1), np.concatenate(dxs, axis=1)
    if not direct:  # paste the covered part back into the padded input, cut the padding off
        full = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
        full[:, :, :cover_h, :cover_w] = dx
        dx = full[:, :, ph:ph + h, pw:pw + w]
    return y, dx, np.concatenate(dws)


def conv_loops(x, W, dout, stride, padding, dilation, groups, mode="zeros"):
    """dx and dW by scattering every output gradient through every kernel tap."""
    n, c, h, w = x.shape
    fn, cg, fh, fw = W.shape
    (sh, sw), (dh, dw) = np.broadcast_to(stride, 2), np.broadcast_to(dilation, 2)
    (ph, pw) = np.broadcast_to(padding, 2)
    dx, dW = np.zeros_like(x), np.zeros_like(W)
    for f in range(fn):
        g = f // (fn // groups)
        for ci in range(cg):
            for i in range(fh):
                for j in range(fw):
                    for oi in range(dout.shape[2]):
                        r = source_index(oi * sh + i * dh - ph, h, mode)
                        for oj in range(dout.shape[3]):
                            q = source_index(oj * sw + j * dw - pw, w, mode)
                            if r is None or q is None:
                                continue  # a zero of the padding
                            d = dout[:, f, oi, oj]
                            dW[f, ci, i, j] += (d * x[:, g * cg + ci, r, q]).sum()
                            dx[:, g * cg + ci, r, q] += d * W[f, ci, i, j]
    return dx, dW


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, fn, kernel, kw", CONV_CASES)
def test_conv_equals_book_path_and_loops(rng, dtype, shape, fn, kernel, kw):
    layer = Conv2D(shape[1], fn, kernel, rng=rng, dtype=dtype, **kw)
    if layer.b is not None:
        layer.b[...] = rng.standard_normal(fn)
    x = rng.standard_normal(shape).astype(dtype)
    y = layer.forward(x)
    dout = rng.standard_normal(y.shape).astype(dtype)
    dout_before = dout.copy()
    dx = layer.backward(dout)
    args = (kw.get("stride", 1), kw.get("padding", 0), kw.get("dilation", 1), kw.get("groups", 1))
    y_book, dx_book, dw_book = book_path(x, layer.W, layer.b, kernel, *args, dout)
    for got, want in ((y, y_book), (dx, dx_book), (layer.dW, dw_book)):
        np.testing.assert_allclose(got, want, **close(dtype))
        assert got.dtype == dtype
    np.testing.assert_allclose(y, conv2d_ref(x, layer.W, layer.b, *args, rounding="floor"),
                               **close(dtype))
    dx_loop, dw_loop = conv_loops(x, layer.W, dout, *args)
    np.testing.assert_allclose(dx, dx_loop, **close(dtype))
    np.testing.assert_allclose(layer.dW, dw_loop, **close(dtype))
    if layer.b is not None:
        np.testing.assert_allclose(layer.db, dout.sum(axis=(0, 2, 3)), **close(dtype))
    np.testing.assert_array_equal(dout, dout_before)  # backward never writes into dout
    # dx: plain NCHW for the layer below; y: an (N, FN, OH, OW) view of channel-major memory
    # (FN, N, OH, OW) from im2col's one product per group, or of HWNC from the Winograd path
    assert dx.flags.c_contiguous or layer._tiles is not None
    assert axis_order(y) in ((1, 0, 2, 3), (2, 3, 0, 1)) or y.shape[0] == 1  # N = 1: any


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv_padding_modes_equal_loops(rng, mode):
    layer = Conv2D(2, 3, 3, padding=2, padding_mode=mode, rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 2, 5, 6))
    dout = rng.standard_normal(layer.forward(x).shape)
    dx = layer.backward(dout)
    np.testing.assert_allclose(layer.forward(x), conv2d_ref(x, layer.W, layer.b, padding=2,
                                                           padding_mode=mode), **close(np.float64))
    dx_loop, dw_loop = conv_loops(x, layer.W, dout, 1, 2, 1, 1, mode)
    np.testing.assert_allclose(dx, dx_loop, **close(np.float64))
    np.testing.assert_allclose(layer.dW, dw_loop, **close(np.float64))


def test_conv_float32_path_stays_float32(rng):
    layer = Conv2D(3, 4, 3, padding=1, groups=1, rng=rng)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    dx = layer.backward(np.ones_like(layer.forward(x)))
    for array in (layer._col_t, dx, layer.dW, layer.db):
        assert array.dtype == np.float32


def test_conv1d_runs_the_same_fast_path(rng):
    layer = Conv1D(3, 4, 5, stride=2, padding=2, rng=rng, dtype=np.float64)
    x = rng.standard_normal((2, 3, 17))
    y = layer.forward(x)
    dout = rng.standard_normal(y.shape)
    dx = layer.backward(dout)
    W4 = layer.W[:, :, None, :]  # (FN, C, K) -> (FN, C, 1, K)
    # stride 2 on both axes: along H (size 1, kernel 1) any stride gives one output row
    y_book, dx_book, dw_book = book_path(x[:, :, None, :], W4, layer.b, (1, 5), 2,
                                         (0, 2), 1, 1, dout[:, :, None, :])
    np.testing.assert_allclose(y, y_book[:, :, 0], **close(np.float64))
    np.testing.assert_allclose(dx, dx_book[:, :, 0], **close(np.float64))
    np.testing.assert_allclose(layer.dW, dw_book[:, :, 0], **close(np.float64))


# -- pooling --------------------------------------------------------------------------------

POOL_CASES = [  # (x shape, kernel, stride, padding, dilation, rounding); disjoint ones first
    ((2, 3, 8, 8), 2, None, 0, 1, "strict"),  # the nets' 2x2: the reshape-able case
    ((2, 2, 5, 7), 2, None, 0, 1, "floor"),  # odd sizes: last row/column in no window
    ((1, 2, 5, 5), 2, None, 0, 1, "ceil"),  # a last window that overruns the input
    ((2, 2, 6, 9), (2, 3), (2, 3), 0, 1, "strict"),
    ((1, 2, 9, 9), 2, 3, 0, 2, "strict"),  # dilated but still disjoint (span 3 = stride)
    ((2, 2, 7, 7), 3, 2, 0, 1, "strict"),  # overlapping 3x3 stride 2
    ((2, 2, 6, 6), 3, 1, 1, 1, "strict"),  # overlapping, padded
    ((1, 2, 7, 7), 2, 1, 0, 2, "strict"),  # dilated and overlapping
]


def pool_windows(x, kernel, stride, padding, dilation, rounding):
    """Every window as a stack of its elements in row-major order: (FH*FW, N, C, OH, OW),
    padding as -inf, plus the input index of each element (None in the padding)."""
    layer = MaxPool2D(kernel, stride, padding, dilation, rounding)  # for its geometry only
    win = layer.window
    oh, ow = win.output_size(x.shape[2:])
    (fh, fw), (sh, sw), ((top, _), (left, _)), (dh, dw) = (win.kernel, win.stride, win.padding,
                                                           win.dilation)
    n, c, h, w = x.shape
    stack = np.full((fh * fw, n, c, oh, ow), -np.inf, dtype=x.dtype)
    where = {}
    for i in range(oh):
        for j in range(ow):
            for t in range(fh):
                for u in range(fw):
                    r, q = i * sh + t * dh - top, j * sw + u * dw - left
                    if 0 <= r < h and 0 <= q < w:
                        stack[t * fw + u, :, :, i, j] = x[:, :, r, q]
                        where[t * fw + u, i, j] = (r, q)
    return stack, where


def maxpool_loops(x, dout, *geometry):
    """y and dx by np.argmax over stacked windows (first maximum on ties)."""
    stack, where = pool_windows(x, *geometry)
    winner = stack.argmax(axis=0)  # (N, C, OH, OW)
    dx = np.zeros_like(x)
    n, c, oh, ow = dout.shape
    for a in range(n):
        for b in range(c):
            for i in range(oh):
                for j in range(ow):
                    r, q = where[winner[a, b, i, j], i, j]
                    dx[a, b, r, q] += dout[a, b, i, j]
    return stack.max(axis=0), dx


def avgpool_loops(x, dout, kernel, stride, padding, rounding):
    """dx: every window's gradient shared by its divisor (count_include_pad) over its pixels."""
    stack, where = pool_windows(x, kernel, stride, padding, 1, rounding)
    layer = AvgPool2D(kernel, stride, padding, rounding)
    layer.forward(x)
    share = dout / layer._divisor
    dx = np.zeros_like(x)
    for (_, i, j), (r, q) in where.items():
        dx[:, :, r, q] += share[:, :, i, j]
    return dx


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, kernel, stride, padding, dilation, rounding", POOL_CASES)
def test_maxpool_first_maximum_on_ties(rng, dtype, shape, kernel, stride, padding, dilation,
                                       rounding):
    x = rng.integers(0, 3, shape).astype(dtype)  # three values: ties in nearly every window
    x[0, 0] = 1.0  # and one channel that is a tie everywhere
    layer = MaxPool2D(kernel, stride, padding, dilation, rounding)
    y = layer.forward(x)
    dout = rng.standard_normal(y.shape).astype(dtype)
    dx = layer.backward(dout)
    y_loop, dx_loop = maxpool_loops(x, dout, kernel, stride, padding, dilation, rounding)
    np.testing.assert_array_equal(y, y_loop)
    np.testing.assert_allclose(dx, dx_loop, **close(dtype))
    assert y.dtype == dx.dtype == dtype
    if rounding == "floor":  # the naive reference of tests/reference.py agrees too
        np.testing.assert_array_equal(y, maxpool2d_ref(x, kernel, stride, padding, dilation))
    if dilation == 1 and isinstance(kernel, int) and (
            rounding == "strict" or (rounding == "floor" and padding == 0)):
        # the book's Pooling (one stride for both axes), on the rows and columns the windows
        # cover (all of them unless "floor" dropped some)
        s = kernel if stride is None else stride
        covered = [min(size, (o - 1) * s + kernel - padding)
                   for size, o in zip(x.shape[2:], y.shape[2:], strict=True)]
        book = Pooling(kernel, kernel, s, padding)
        np.testing.assert_array_equal(book.forward(x[:, :, :covered[0], :covered[1]]), y)
        dx_book = np.zeros_like(x)
        dx_book[:, :, :covered[0], :covered[1]] = book.backward(dout)
        # where windows overlap a pixel's gradient is a sum, added in another order (the fast
        # path's bincount against col2im): equal to rounding; elsewhere a copy, exact
        if s >= kernel:
            np.testing.assert_array_equal(dx_book, dx)
        else:
            np.testing.assert_allclose(dx_book, dx, **close(dtype))


DISJOINT = [(MaxPool2D, case) for case in POOL_CASES[:5]] + [
    (AvgPool2D, case) for case in POOL_CASES[:5] if case[4] == 1]  # AvgPool2D has no dilation


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls, case", DISJOINT)
def test_pool_in_place_backward_equals_general_path(rng, dtype, cls, case):
    shape, kernel, stride, padding, dilation, rounding = case
    args = (kernel, stride, padding, dilation, rounding) if cls is MaxPool2D else (
        kernel, stride, padding, rounding)
    fast, general = cls(*args), cls(*args)
    assert not fast._overlapping
    general._overlapping = True  # force the adding path on disjoint windows
    x = rng.standard_normal(shape).astype(dtype)
    dout = rng.standard_normal(fast.forward(x).shape).astype(dtype)
    general.forward(x)
    dout_before = dout.copy()
    np.testing.assert_array_equal(fast.backward(dout), general.backward(dout))
    np.testing.assert_array_equal(dout, dout_before)


@pytest.mark.parametrize("shape, kernel, stride, padding, rounding", [
    ((2, 3, 8, 8), 2, None, 0, "strict"), ((2, 2, 5, 7), 2, None, 0, "floor"),
    ((1, 2, 5, 5), 2, None, 0, "ceil"), ((2, 2, 7, 7), 3, 2, 0, "strict"),
    ((2, 2, 6, 6), 3, 1, 1, "strict"),
])
def test_avgpool_backward_equals_loops(rng, shape, kernel, stride, padding, rounding):
    layer = AvgPool2D(kernel, stride, padding, rounding)
    x = rng.standard_normal(shape)
    y = layer.forward(x)
    dout = rng.standard_normal(y.shape)
    stack, _ = pool_windows(x, kernel, stride, padding, 1, rounding)
    np.testing.assert_allclose(y, np.where(np.isinf(stack), 0, stack).sum(0) / layer._divisor,
                               **close(np.float64))
    np.testing.assert_allclose(layer.backward(dout),
                               avgpool_loops(x, dout, kernel, stride, padding, rounding),
                               **close(np.float64))


def test_maxpool_eval_mode_skips_winners_same_output(rng):
    layer = MaxPool2D(3, 2)
    x = rng.integers(0, 3, (2, 3, 9, 9)).astype(np.float32)
    y_train = layer.forward(x)
    layer.eval()
    layer._winner = None
    np.testing.assert_array_equal(layer.forward(x), y_train)
    assert layer._winner is None


def test_maxpool_winner_index_fits_large_windows():
    """A 16x16 window has 256 elements: the winner index must not wrap around in uint8."""
    x = np.zeros((1, 1, 16, 16), dtype=np.float32)
    x[0, 0, 15, 15] = 1.0  # the last element, index 255... and one more to be sure
    layer = MaxPool2D(16)
    layer.forward(x)
    dx = layer.backward(np.ones((1, 1, 1, 1), dtype=np.float32))
    assert dx[0, 0, 15, 15] == 1.0 and dx.sum() == 1.0


@pytest.mark.parametrize("kernel, stride", [(2, None), (3, 2), (3, 1)])
def test_maxpool_keeps_the_input_layout_and_its_results(rng, kernel, stride):
    """An (N, C, H, W) view of HWNC memory (a Winograd convolution's output) is pooled into the
    same layout, its gradient comes back in it, and the numbers equal the NCHW input's."""
    from tatamu.layers.layout import axis_order

    x = rng.standard_normal((3, 4, 9, 9))
    x_hwnc = np.ascontiguousarray(x.transpose(2, 3, 0, 1)).transpose(2, 3, 0, 1)
    plain, other = MaxPool2D(kernel, stride, rounding="floor"), MaxPool2D(kernel, stride,
                                                                           rounding="floor")
    y, y_hwnc = plain.forward(x), other.forward(x_hwnc)
    assert axis_order(y_hwnc) == (2, 3, 0, 1) and axis_order(y) == (0, 1, 2, 3)
    np.testing.assert_array_equal(y, y_hwnc)
    dout = rng.standard_normal(y.shape)
    dx, dx_hwnc = plain.backward(dout), other.backward(dout)
    assert axis_order(dx_hwnc) == (2, 3, 0, 1)
    np.testing.assert_allclose(dx, dx_hwnc, rtol=1e-12, atol=1e-12)
    _, expected = maxpool_loops(x, dout, kernel, stride or kernel, 0, 1, "floor")
    np.testing.assert_allclose(dx, expected, rtol=1e-12, atol=1e-12)
