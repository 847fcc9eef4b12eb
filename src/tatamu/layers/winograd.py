"""Winograd's F(2x2, 3x3): a 3x3 stride-1 convolution with 2.25x fewer multiplications.

Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (CVPR 2016). Read
``layers/book.py`` first: there a convolution is im2col and one matrix product, 9 multiply-adds
per output pixel and input channel. Here it is 4.

**One dimension first.** Two outputs of a 3-tap filter g over four inputs d,

    y0 = d0*g0 + d1*g1 + d2*g2
    y1 = d1*g0 + d2*g1 + d3*g2,

take 6 multiplications. Winograd's minimal algorithm takes 4:

    m0 = (d0 - d2) * g0                  y0 = m0 + m1 + m2
    m1 = (d1 + d2) * (g0 + g1 + g2) / 2  y1 = m1 - m2 - m3
    m2 = (d2 - d1) * (g0 - g1 + g2) / 2
    m3 = (d1 - d3) * g2

(expand y0 and y1 to check). In matrices: ``y = A^T [(G g) * (B^T d)]``, with ``*`` elementwise,

    B^T = [[1,  0, -1,  0],     G = [[1,    0,   0],     A^T = [[1, 1,  1,  0],
           [0,  1,  1,  0],          [1/2, 1/2, 1/2],           [0, 1, -1, -1]]
           [0, -1,  1,  0],          [1/2,-1/2, 1/2],
           [0,  1,  0, -1]]          [0,    0,   1]]

**Two dimensions** nest it: a 4x4 input *tile* d gives a 2x2 output tile
``Y = A^T [(G g G^T) * (B^T d B)] A``: 16 multiplications instead of 4*9 = 36, hence 2.25x.
Tiles step by 2 (their outputs tile the output map) and overlap by 2 input rows and columns.

**Many channels** are where it pays: the 16 products of a tile are summed over the input
channels, so for each of the 16 positions (k, l) of the 4x4 tile the sum over channels is a
matrix product, ``M[k,l] = V[k,l] @ U[k,l]`` with V (tiles, C) and U (C, FN). A convolution
becomes: transform the input tiles (only additions), 16 matrix products, transform back
(only additions).

**Backward** runs the same three steps transposed (each is linear): ``dM`` from ``dout`` by
``A``'s transpose, then ``dU = V^T @ dM`` and ``dV = dM @ U^T`` (16 products each), ``dW`` from
``dU`` by ``G``'s transpose, ``dx`` from ``dV`` by ``B``'s transpose (tiles overlap, so their
contributions add up, as in col2im).

**Layout.** Arrays here are HWNC, (H, W, N, C): picking tile rows and columns then slices the
two outer axes, and every addition runs over whole contiguous (N, C) planes; ``V[k, l]`` is a
(tiles, C) matrix as it lies, and the product lands in HWNC again, ready for the next
convolution. The layers see it as an ordinary (N, C, H, W) array (a transposed *view*; see
``Conv2D``). Inside, the padded input (and its gradient) keep even and odd columns apart
(``padded_input``), so that the every-other-column reads of the column transform are
contiguous blocks. The work is done a few tile rows at a time, so that a chunk's transformed
tiles are still in the CPU cache when its product reads them.

Float32 error: each output is the same sum reordered, plus exact scalings by 1/2; measured
against float64 it stays ~3e-7 of the output's largest value (tests/layers/test_winograd.py).
The larger tile F(4x4, 3x3) multiplies by 4 and 5 and divides by 24; it was not kept (see
benchmarks/README.md).
"""

from __future__ import annotations

import math
import threading

import numpy as np

#: G of F(2, 3): the filter transform (4, 3).
G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])

#: A chunk of tile rows is sized so that its transformed tiles take about this many bytes
#: (at least one tile row). CPU time of DeepConvNet's five Winograd layers at batch 100 was the
#: same for 0.5, 1 and 2 MiB and 13% longer for 4 MiB; at batch 50 (a shard at 2 threads) 1 MiB
#: was the best by a little, and 4 MiB 56% longer.
CHUNK_BYTES = 1 << 20

# Each thread's scratch memory for one chunk's temporaries (the row-transformed tiles, the 16
# products, ...), kept from call to call. Allocated afresh for every chunk, they were a few
# megabytes that glibc returned to the system and the next chunk faulted in again, page by
# page: 1,700 page faults per forward of a 16->32 layer at batch 100, which then took 7.3 ms
# instead of 3.0 (issue 25). The layers of a model run one after another on a thread, so one
# buffer per thread and kind serves them all (a few MB); shards run on threads of their own.
_scratch = threading.local()


def _scratch_array(kind: str, shape: tuple[int, ...], dtype):
    """An uninitialised array of ``shape`` in this thread's scratch buffer ``kind``.

    Valid until the next request of the same kind on the same thread; the buffer only grows.
    """
    buffers = _scratch.__dict__.setdefault("buffers", {})
    size = math.prod(shape)
    flat = buffers.get((kind, np.dtype(dtype)))
    if flat is None or flat.size < size:
        flat = buffers[(kind, np.dtype(dtype))] = np.empty(size, dtype=dtype)
    return flat[:size].reshape(shape)


#: np.kron(G, G) in each dtype asked for, (16, 9): row 4k + l, column 3i + j. Kept: np.kron is
#: Python work worth ~0.2 ms per call, twice per layer per step.
_KRON: dict = {}


def _kron(dtype):
    kron = _KRON.get(np.dtype(dtype))
    if kron is None:
        kron = _KRON[np.dtype(dtype)] = np.kron(G, G).astype(dtype)
    return kron


def kernel_transform(W):
    """``U = G g G^T`` for every (filter, channel): (FN, C, 3, 3) -> (16, C, FN).

    Position (k, l) of the 4x4 transformed kernel is ``U[4*k + l]``, a (C, FN) matrix. One
    product: ``U[k, l] = sum_ij G[k, i] G[l, j] g[i, j]`` is the Kronecker product of G with
    itself applied to the 9 taps.
    """
    fn, c = W.shape[:2]
    kron = _kron(W.dtype)  # (16, 9): row 4k + l, column 3i + j
    # (16, 9) @ (9, C*FN) -> (16, C*FN) -> (16, C, FN); the taps (FN, C, 3, 3) -> (9, C, FN)
    return (kron @ W.transpose(2, 3, 1, 0).reshape(9, c * fn)).reshape(16, c, fn)


def kernel_transform_grad(dU):
    """The adjoint of :func:`kernel_transform`: ``dW = G^T dU G``; (16, C, FN) -> (FN, C, 3, 3)."""
    _, c, fn = dU.shape
    kron = _kron(dU.dtype)  # (16, 9)
    # (9, 16) @ (16, C*FN) -> (9, C*FN) -> (3, 3, C, FN) -> (FN, C, 3, 3)
    return (kron.T @ dU.reshape(16, c * fn)).reshape(3, 3, c, fn).transpose(3, 2, 0, 1)


def tile_counts(out_hw: tuple[int, int]) -> tuple[int, int]:
    """(TH, TW): 2x2 output tiles covering an (OH, OW) map; an odd size gets a cropped half."""
    return (out_hw[0] + 1) // 2, (out_hw[1] + 1) // 2


def padded_input(x, before: tuple[int, int], out_hw, *, scratch: bool = False):
    """x (N, C, H, W), any strides -> zero-padded HWNC, columns split by parity:
    (2*TH + 2, 2, TW + 1, N, C), where ``xq[h, q, j]`` is padded column 2j + q.

    ``before`` is the (top, left) padding; the rest is zeros up to the size that covers every
    tile, including the extra row/column that an odd output size's last tile reads. Rows and
    columns of ``x`` beyond that size are read by no window and left out.

    Why split the columns: the column transform reads every other column (tile column l of all
    tiles is padded column 2*tw + l). On plain HWNC memory that is a slice with a step, which
    NumPy's arithmetic reads ~2x slower than a contiguous block when the (N, C) planes are small
    (C = 16); split by parity, the columns 2*tw + l of all tiles of a row lie side by side.

    ``scratch``: write it into this thread's scratch memory (see :func:`_scratch_array`), for a
    caller that is done with it before the next layer's forward on this thread.
    """
    n, c, h, w = x.shape
    th, tw = tile_counts(out_hw)
    top, left = before
    shape = (2 * th + 2, 2, tw + 1, n, c)
    if scratch:
        xq = _scratch_array("xq", shape, x.dtype)
        xq.fill(0)  # the padding; a memset, where fresh zeroed pages cost a fault each
    else:
        xq = np.zeros(shape, dtype=x.dtype)
    h, w = min(h, 2 * th + 2 - top), min(w, 2 * tw + 2 - left)
    rows = x[:, :, :h].transpose(2, 3, 0, 1)  # (N, C, H, W) -> (H, W, N, C), a view
    for q in range(2):  # input column w lands on padded column left + w: parity q, index j
        first = (q - left) % 2  # the first input column of parity q
        j0 = (left + first) // 2
        count = len(range(first, w, 2))
        xq[top : top + h, q, j0 : j0 + count] = rows[:, first:w:2]
    return xq


def unpadded_gradient(dxq, before: tuple[int, int], out):
    """Write the gradient of :func:`padded_input`'s ``x`` into ``out``: the padding cropped
    off, the columns back in order. One copy, into ``out``'s own layout (any strides), so
    the gradient goes back in the layout the input came in.

    Shapes: dxq (2*TH + 2, 2, TW + 1, N, C); out (N, C, H, W), the part of x the tiles read.
    """
    top, left = before
    h, w = out.shape[2:]
    for q in range(2):  # input column w came from padded column left + w: parity q, index j
        first = (q - left) % 2
        j0 = (left + first) // 2
        count = len(range(first, w, 2))
        # (H, count, N, C) -> (N, C, H, count)
        out[:, :, :, first:w:2] = dxq[top : top + h, q, j0 : j0 + count].transpose(2, 3, 0, 1)
    return out


def _rows_per_chunk(th: int, row_bytes: int) -> int:
    return max(1, min(th, CHUNK_BYTES // max(row_bytes, 1)))


def forward(xp, U, out_hw, bias=None, keep_tiles: bool = True, reuse=None):
    """The convolution of a padded HWNC input: returns (y, V).

    Shapes
    ------
    xp: (2*TH + 2, 2, TW + 1, N, C) from :func:`padded_input`; U: (16, C, FN);
    y: (OH, OW, N, FN), HWNC; V: (16, TH, TW, N, C), the transformed input tiles that
    backward needs (None when ``keep_tiles`` is False: inference keeps nothing). ``reuse``:
    the previous call's V, whose memory is written again when its shape and dtype fit. A
    fresh multi-megabyte array costs its page faults on every step (a layer's forward took
    7 ms instead of 2.5 that way); the layer's cache holds the old one until then anyway.
    """
    n, c = xp.shape[-2:]
    fn = U.shape[2]
    th, tw = tile_counts(out_hw)
    out = np.empty((th, 2, tw, 2, n, fn), dtype=xp.dtype)  # tile row, its 2 rows, ...
    V = None
    if keep_tiles:
        shape = (16, th, tw, n, c)
        fits = reuse is not None and reuse.shape == shape and reuse.dtype == xp.dtype
        V = reuse if fits else np.empty(shape, dtype=xp.dtype)
    rows = _rows_per_chunk(th, 16 * tw * n * c * xp.itemsize)
    for r0 in range(0, th, rows):
        r1 = min(th, r0 + rows)
        v = (V[:, r0:r1] if keep_tiles
             else _scratch_array("v", (16, r1 - r0, tw, n, c), xp.dtype))
        _input_transform(xp[2 * r0 : 2 * r1 + 2], v)
        # 16 products, one per tile position (k, l), summing over the input channels:
        # (16, R*TW*N, C) @ (16, C, FN) -> (16, R*TW*N, FN), written into scratch memory
        m = _scratch_array("m", (16, (r1 - r0) * tw * n, fn), xp.dtype)
        np.matmul(v.reshape(16, -1, c), U, out=m)
        m = m.reshape(16, r1 - r0, tw, n, fn)
        if bias is not None:
            # A^T E A is all ones for E the unit matrix at (1, 1): adding b to m[1, 1] adds it
            # to all four outputs of the tile, at a quarter of the cost.
            m[5] += bias
        _output_transform(m, out[r0:r1])
    oh, ow = out_hw
    return out.reshape(2 * th, 2 * tw, n, fn)[:oh, :ow], V


def backward(dout, V, U, need_dx: bool = True):
    """Gradients of :func:`forward`: returns (dxp, dU, db).

    Shapes
    ------
    dout: (OH, OW, N, FN), any strides; V: (16, TH, TW, N, C); U: (16, C, FN);
    dxq: the gradient of the padded input, columns split by parity like :func:`padded_input`'s,
    (2*TH + 2, 2, TW + 1, N, C) (None unless ``need_dx``; :func:`unpadded_gradient` crops it);
    it lies in this thread's scratch memory, valid until the next backward on this thread;
    dU: (16, C, FN); db: (FN,).
    """
    oh, ow, n, fn = dout.shape
    _, th, tw, _, c = V.shape
    # dout in tiles, each tile's 2x2 outputs apart: dy[th, a, b, tw] = dout[2th + a, 2tw + b],
    # (TH, 2, 2, TW, N, FN); an odd size's cropped half gets zeros. One copy, which also makes
    # a dout of any layout contiguous, and each dy[:, a, b] one block per tile row.
    dy = _scratch_array("dy", (th, 2, 2, tw, n, fn), dout.dtype)
    dy.fill(0)
    for a in range(2):
        for b in range(2):
            rows, cols = len(range(a, oh, 2)), len(range(b, ow, 2))
            dy[:rows, a, b, :cols] = dout[a::2, b::2]
    dU = np.zeros((16, c, fn), dtype=dout.dtype)
    db = np.zeros(fn, dtype=dout.dtype)
    # the padded input's gradient, columns split by parity like padded_input's (2TH+2, 2, TW+1)
    # (in this thread's scratch memory: the caller crops it into dx before anything else runs)
    dxq = None
    if need_dx:
        dxq = _scratch_array("dxq", (2 * th + 2, 2, tw + 1, n, c), dout.dtype)
        dxq.fill(0)
    rows = _rows_per_chunk(th, 16 * tw * n * max(c, fn) * dout.itemsize)
    for r0 in range(0, th, rows):
        r1 = min(th, r0 + rows)
        dm = _output_transform_adjoint(dy[r0:r1])  # (16, R, TW, N, FN)
        dm = dm.reshape(16, -1, fn)  # (16, R*TW*N, FN)
        # the bias went in at position (1, 1): db sums its rows; as a product with a vector
        # of ones, (R*TW*N,) @ (R*TW*N, FN) -> (FN,), 10-20x faster than sum(axis=0) here
        db += np.ones(dm.shape[1], dtype=dm.dtype) @ dm[5]
        v = V[:, r0:r1].reshape(16, -1, c)  # (16, R*TW*N, C)
        # (16, C, R*TW*N) @ (16, R*TW*N, FN) -> (16, C, FN), summed over the chunks
        dU += np.matmul(v.transpose(0, 2, 1), dm)
        if need_dx:
            # (16, R*TW*N, FN) @ (16, FN, C) -> (16, R*TW*N, C)
            dv = _scratch_array("v", (16, dm.shape[1], c), dout.dtype)
            np.matmul(dm, U.transpose(0, 2, 1), out=dv)
            dv = dv.reshape(16, r1 - r0, tw, n, c)
            _input_transform_adjoint(dv, dxq[2 * r0 : 2 * r1 + 2])
    return dxq, dU, db


# -- the transforms: additions only, on whole (..., N, C) planes --------------------------------
def _bt(d0, d1, d2, d3, out):
    """``out[i] = (B^T d)[i]``, i = 0..3, for four arrays d0..d3 (one 1-D transform)."""
    np.subtract(d0, d2, out=out[0])
    np.add(d1, d2, out=out[1])
    np.subtract(d2, d1, out=out[2])
    np.subtract(d1, d3, out=out[3])


def _input_transform(xs, v):
    """``V = B^T d B`` for a chunk of R tile rows.

    xs: (2R + 2, 2, TW + 1, N, C), the padded input rows the chunk reads, columns split by
    parity (see :func:`padded_input`); v: (16, R, TW, N, C), out.
    """
    rows, tw = v.shape[1], v.shape[2]
    # Rows: the k-th row of every tile of the chunk is xs[k::2] (its first R rows);
    # (R, 2, TW + 1, N, C) each, transformed into u[0..3].
    u = _scratch_array("u", (4, rows, *xs.shape[1:]), xs.dtype)
    _bt(*(xs[k : k + 2 * rows : 2] for k in range(4)), u)
    # Columns: column l of every tile is padded column 2*tw + l, i.e. parity l % 2, index
    # tw + l // 2: the block u[:, :, l % 2, l // 2 : l // 2 + TW], (4, R, TW, N, C) for all
    # four rows k at once (each NumPy call has a fixed cost: 4 calls instead of 16).
    v4 = v.reshape(4, 4, *v.shape[1:])  # (16, ...) -> (4, 4, ...): position (k, l)
    _bt(*(u[:, :, j % 2, j // 2 : j // 2 + tw] for j in range(4)), v4.swapaxes(0, 1))


def _output_transform(m, out):
    """``Y = A^T M A``: m (16, R, TW, N, FN) -> out (R, 2, TW, 2, N, FN)."""
    m4 = m.reshape(4, 4, *m.shape[1:])  # (16, ...) -> (4, 4, ...): position (k, l)
    # rows: z[0] = m[0] + m[1] + m[2], z[1] = m[1] - m[2] - m[3], each (4, R, TW, N, FN)
    z = _scratch_array("z", (2, *m4.shape[1:]), m.dtype)
    np.add(m4[0], m4[1], out=z[0])
    z[0] += m4[2]
    np.subtract(m4[1], m4[2], out=z[1])
    z[1] -= m4[3]
    # then columns, both output rows a at once: z[:, l] is (2, R, TW, N, FN), and so are the
    # output columns b = 0, 1 of every tile, out (R, 2, TW, 2, N, FN) -> (2, R, TW, 2, N, FN)
    by_row = out.swapaxes(0, 1)
    y0, y1 = by_row[:, :, :, 0], by_row[:, :, :, 1]
    np.add(z[:, 0], z[:, 1], out=y0)
    y0 += z[:, 2]
    np.subtract(z[:, 1], z[:, 2], out=y1)
    y1 -= z[:, 3]


def _a(g0, g1, out):
    """``out[i] = (A g)[i]``: the transpose of A^T, two arrays in, four out."""
    np.copyto(out[0], g0)
    np.add(g0, g1, out=out[1])
    np.subtract(g0, g1, out=out[2])
    np.negative(g1, out=out[3])


def _output_transform_adjoint(dy):
    """``dM = A dY A^T``: dy (R, 2, 2, TW, N, FN) -> dm (16, R, TW, N, FN)."""
    rows, _, _, tw, n, fn = dy.shape
    # columns, both output rows a at once: dy[:, :, b] (R, 2, TW, N, FN) -> w[l] the same
    w = _scratch_array("w", (4, rows, 2, tw, n, fn), dy.dtype)
    _a(dy[:, :, 0], dy[:, :, 1], w)
    # then rows, all four columns l at once: w[:, :, a] (4, R, TW, N, FN) -> dm[k] the same
    dm = _scratch_array("m", (4, 4, rows, tw, n, fn), dy.dtype)
    _a(w[:, :, 0], w[:, :, 1], dm)
    return dm.reshape(16, rows, tw, n, fn)  # (4, 4, ...) -> (16, ...)


def _b_add(dv, even, odd):
    """Add ``B dv`` (the transpose of :func:`_bt`) into overlapping tiles along axis 0.

    dv: four arrays (R, ...) for tile positions 0..3; tile r covers positions 2r .. 2r + 3, so
    ``even`` (R + 1, ...) receives positions 2r and 2r + 2, ``odd`` 2r + 1 and 2r + 3:
    d0 = dv0, d1 = dv1 - dv2 + dv3, d2 = dv1 + dv2 - dv0, d3 = -dv3.
    """
    rows = dv[0].shape[0]
    even[:rows] += dv[0]
    t = np.add(dv[1], dv[2])
    t -= dv[0]
    even[1:] += t
    np.subtract(dv[1], dv[2], out=t)
    t += dv[3]
    odd[:rows] += t
    odd[1:] -= dv[3]


def _input_transform_adjoint(dv, dxs):
    """``dd = B dV B^T``, added into the padded-input rows of the chunk.

    dv: (16, R, TW, N, C); dxs: (2R + 2, 2, TW + 1, N, C), the chunk's rows of the gradient,
    columns split by parity (its first two rows are shared with the chunk above, hence adding).
    """
    rows = dv.shape[1]
    dv4 = dv.reshape(4, 4, *dv.shape[1:])  # (16, ...) -> (4, 4, ...): position (k, l)
    # columns first, all four rows k at once: du (4, R, 2, TW + 1, N, C) from dv[:, l]
    # (4, R, TW, N, C); tile column tw covers padded columns 2tw .. 2tw + 3: the even ones are
    # du[:, :, 0] (positions 0 and 2 of the tile), the odd ones du[:, :, 1]. _b_add runs along
    # axis 0, so the column axis goes to the front: (4, R, TW, ...) -> (TW, 4, R, ...), views
    du = _scratch_array("u", (4, rows, *dxs.shape[1:]), dv.dtype)
    du.fill(0)
    _b_add([dv4[:, j].transpose(2, 0, 1, 3, 4) for j in range(4)],
           du[:, :, 0].transpose(2, 0, 1, 3, 4), du[:, :, 1].transpose(2, 0, 1, 3, 4))
    # then rows: (R, 2, TW + 1, N, C) each, into the chunk's even and odd padded rows
    _b_add(du, dxs[0 : 2 * rows + 1 : 2], dxs[1 : 2 * rows + 2 : 2])
