"""CUDA kernels for the CuPy backend: one launch where the NumPy path needs many.

The NumPy functions stay the reference (``im2col.im2col``/``col2im``, ``MaxPool2D``'s
forward/backward, ``Adam._update``); each kernel here computes the same numbers in a single
launch and is tested against them on a GPU (tests/test_cuda_kernels.py). On a GPU the NumPy
path is slow for another reason than on a CPU: every array expression is a kernel launch of
a few microseconds, and im2col as strided views plus a transpose costs several launches and a
full extra copy, col2im a Python loop over the window offsets. Chainer and DeZero ship the same
two kernels (im2col and col2im, one thread per output element).

Design, for a learner reading the CUDA:

- one thread per *output* element, always: im2col writes each element of ``col`` once;
  col2im and the pooling backward **gather** (each input element sums the window entries that
  came from it) instead of scattering with atomicAdd, so results are deterministic, as on
  the CPU;
- indices decompose the flat thread index in the array's row-major order, exactly as the
  shape comments of the NumPy code read;
- templates instantiated for float and double (tatamu keeps the dtype end to end).

This module never imports CuPy itself (``tatamu.backend`` is the only one that does): the
launchers take the ``cupy`` module of the arrays they are given.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from ..i18n import _

#: The kernels' source, compiled once per process by CuPy (NVRTC) on first use. The test suite
#: also compiles it with nvcc where nvcc exists, so a syntax error shows up without a GPU.
SOURCE = r"""
// im2col: x (N, C, H, W) -> col (N*OH*OW, C*KH*KW); rows over (n, oh, ow), columns over
// (c, kh, kw), the book's order. Out-of-range (padding) reads give pad_value.
template<typename T>
__global__ void im2col_kernel(const T* x, T* col, long long total,
                              int C, int H, int W, int OH, int OW, int KH, int KW,
                              int SH, int SW, int PT, int PL, int DH, int DW, T pad_value) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)blockDim.x * gridDim.x) {
        long long r = i;
        int kw = r % KW; r /= KW;
        int kh = r % KH; r /= KH;
        int c = r % C;   r /= C;
        int ow = r % OW; r /= OW;
        int oh = r % OH; long long n = r / OH;
        int h = oh * SH - PT + kh * DH;
        int w = ow * SW - PL + kw * DW;
        col[i] = (h >= 0 && h < H && w >= 0 && w < W)
                     ? x[((n * C + c) * H + h) * W + w] : pad_value;
    }
}

// col2im: the adjoint of im2col. Each input element (n, c, h, w) gathers, in a fixed order,
// every column entry that was read from it (a pixel lies in up to KH*KW windows).
template<typename T>
__global__ void col2im_kernel(const T* col, T* dx, long long total,
                              int C, int H, int W, int OH, int OW, int KH, int KW,
                              int SH, int SW, int PT, int PL, int DH, int DW) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)blockDim.x * gridDim.x) {
        long long r = i;
        int w = r % W; r /= W;
        int h = r % H; r /= H;
        int c = r % C; long long n = r / C;
        T acc = 0;
        for (int kh = 0; kh < KH; ++kh) {
            int hh = h + PT - kh * DH;  // = oh * SH for the window that holds this pixel
            if (hh < 0 || hh % SH != 0 || hh / SH >= OH) continue;
            int oh = hh / SH;
            for (int kw = 0; kw < KW; ++kw) {
                int ww = w + PL - kw * DW;
                if (ww < 0 || ww % SW != 0 || ww / SW >= OW) continue;
                int ow = ww / SW;
                acc += col[((((n * OH + oh) * OW + ow) * C + c) * KH + kh) * KW + kw];
            }
        }
        dx[i] = acc;
    }
}

// Max pooling forward: out (N, C, OH, OW) and, per output, the flat index h*W + w of the
// first maximum of its window (-1 if the window holds only padding). Padding is -infinity.
template<typename T>
__global__ void maxpool_forward_kernel(const T* x, T* out, int* argmax, long long total,
                                       int C, int H, int W, int OH, int OW, int KH, int KW,
                                       int SH, int SW, int PT, int PL, int DH, int DW,
                                       T neg_inf) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)blockDim.x * gridDim.x) {
        long long r = i;
        int ow = r % OW; r /= OW;
        int oh = r % OH; long long nc = r / OH;  // n * C + c
        const T* plane = x + nc * H * W;
        T best = neg_inf;
        int where = -1;
        for (int kh = 0; kh < KH; ++kh) {
            int h = oh * SH - PT + kh * DH;
            if (h < 0 || h >= H) continue;
            for (int kw = 0; kw < KW; ++kw) {
                int w = ow * SW - PL + kw * DW;
                if (w < 0 || w >= W) continue;
                T v = plane[h * W + w];
                // Strictly greater: on a tie the earlier element stays the winner (the first
                // maximum, as NumPy's argmax and PyTorch choose). NaN wins, as in max().
                if (where < 0 || v > best || (v != v && best == best)) {
                    best = v;
                    where = h * W + w;
                }
            }
        }
        out[i] = best;
        argmax[i] = where;
    }
}

// Max pooling backward: each input element gathers dout of every window it won.
template<typename T>
__global__ void maxpool_backward_kernel(const T* dout, const int* argmax, T* dx,
                                        long long total, int C, int H, int W, int OH, int OW,
                                        int KH, int KW, int SH, int SW, int PT, int PL,
                                        int DH, int DW) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)blockDim.x * gridDim.x) {
        long long r = i;
        int w = r % W; r /= W;
        int h = r % H; long long nc = r / H;
        int self = h * W + w;
        T acc = 0;
        for (int kh = 0; kh < KH; ++kh) {
            int hh = h + PT - kh * DH;
            if (hh < 0 || hh % SH != 0 || hh / SH >= OH) continue;
            int oh = hh / SH;
            for (int kw = 0; kw < KW; ++kw) {
                int ww = w + PL - kw * DW;
                if (ww < 0 || ww % SW != 0 || ww / SW >= OW) continue;
                long long o = (nc * OH + oh) * OW + ww / SW;
                if (argmax[o] == self) acc += dout[o];
            }
        }
        dx[i] = acc;
    }
}

// Adam, one pass over a parameter (tatamu's Adam._update, same operations in the same order):
// m <- b1*m + (1-b1)*g; v <- b2*v + (1-b2)*g*g; p <- p - step * m / (sqrt(v) + eps_hat).
// step and eps_hat carry the bias corrections, computed on the host in double precision.
template<typename T>
__global__ void adam_kernel(T* p, const T* g, T* m, T* v, long long total,
                            T b1, T one_minus_b1, T b2, T one_minus_b2, T step, T eps_hat) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)blockDim.x * gridDim.x) {
        T gi = g[i];
        T mi = m[i] * b1 + gi * one_minus_b1;
        T vi = v[i] * b2 + (gi * gi) * one_minus_b2;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] - step * (mi / (sqrt(vi) + eps_hat));
    }
}
"""

KERNELS = ("im2col_kernel", "col2im_kernel", "maxpool_forward_kernel",
           "maxpool_backward_kernel", "adam_kernel")
TYPES = {"float32": "float", "float64": "double"}
THREADS = 256  # per block; the grid-stride loops cover any size with a bounded grid
MAX_BLOCKS = 65535


def name_expressions() -> list[str]:
    """Every instantiation the module needs, e.g. ``im2col_kernel<float>``."""
    return [f"{k}<{t}>" for k in KERNELS for t in TYPES.values()]


@cache
def _module(cupy: Any):
    return cupy.RawModule(code=SOURCE, name_expressions=name_expressions())


def _kernel(cupy: Any, name: str, dtype) -> Any:
    type_name = TYPES.get(str(dtype))
    if type_name is None:
        raise TypeError(_("CUDA kernels handle float32 and float64, not {dtype}", dtype=dtype))
    return _module(cupy).get_function(f"{name}<{type_name}>")


def _launch(cupy: Any, name: str, dtype, total: int, args: tuple) -> None:
    if total == 0:
        return
    blocks = int(min(MAX_BLOCKS, (total + THREADS - 1) // THREADS))
    _kernel(cupy, name, dtype)((blocks,), (THREADS,), args)


def _geometry(x_shape, out_hw, kernel, stride, pads, dilation) -> tuple:
    """The ints every window kernel takes: C, H, W, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW."""
    _, c, h, w = x_shape
    (top, _), (left, _) = pads
    return tuple(int(v) for v in (c, h, w, *out_hw, *kernel, *stride, top, left, *dilation))


def im2col(cupy: Any, x, kernel, stride, pads, dilation, out_hw, pad_value: float = 0.0):
    """x (N, C, H, W) -> col (N*OH*OW, C*KH*KW), as ``tatamu.im2col.im2col``."""
    x = cupy.ascontiguousarray(x)
    n, c = x.shape[:2]
    col = cupy.empty((n * out_hw[0] * out_hw[1], c * kernel[0] * kernel[1]), dtype=x.dtype)
    geometry = _geometry(x.shape, out_hw, kernel, stride, pads, dilation)
    _launch(cupy, "im2col_kernel", x.dtype, col.size,
            (x, col, cupy.int64(col.size), *map(cupy.int32, geometry), x.dtype.type(pad_value)))
    return col


def col2im(cupy: Any, col, x_shape, kernel, stride, pads, dilation, out_hw):
    """col (N*OH*OW, C*KH*KW) -> dx (N, C, H, W): the sum over windows, as ``col2im``."""
    col = cupy.ascontiguousarray(col)
    dx = cupy.empty(tuple(x_shape), dtype=col.dtype)
    geometry = _geometry(x_shape, out_hw, kernel, stride, pads, dilation)
    _launch(cupy, "col2im_kernel", col.dtype, dx.size,
            (col, dx, cupy.int64(dx.size), *map(cupy.int32, geometry)))
    return dx


def maxpool_forward(cupy: Any, x, kernel, stride, pads, dilation, out_hw, *, with_argmax=True):
    """x (N, C, H, W) -> (out (N, C, OH, OW), argmax int32 flat h*W+w, or None)."""
    x = cupy.ascontiguousarray(x)
    n, c = x.shape[:2]
    out = cupy.empty((n, c, *out_hw), dtype=x.dtype)
    argmax = cupy.empty(out.shape, dtype=cupy.int32)  # small: one int per output
    geometry = _geometry(x.shape, out_hw, kernel, stride, pads, dilation)
    _launch(cupy, "maxpool_forward_kernel", x.dtype, out.size,
            (x, out, argmax, cupy.int64(out.size), *map(cupy.int32, geometry),
             x.dtype.type(float("-inf"))))
    return out, (argmax if with_argmax else None)


def maxpool_backward(cupy: Any, dout, argmax, x_shape, kernel, stride, pads, dilation):
    """dout (N, C, OH, OW) -> dx (N, C, H, W): each input gathers the windows it won."""
    dout = cupy.ascontiguousarray(dout)
    dx = cupy.empty(tuple(x_shape), dtype=dout.dtype)
    geometry = _geometry(x_shape, dout.shape[2:], kernel, stride, pads, dilation)
    _launch(cupy, "maxpool_backward_kernel", dout.dtype, dx.size,
            (dout, cupy.ascontiguousarray(argmax), dx, cupy.int64(dx.size),
             *map(cupy.int32, geometry)))
    return dx


def adam_update(cupy: Any, p, g, m, v, *, b1: float, b2: float, step: float,
                eps_hat: float) -> None:
    """One Adam step on contiguous arrays of one dtype, in place (p, m, v)."""
    t = p.dtype.type
    _launch(cupy, "adam_kernel", p.dtype, p.size,
            (p, cupy.ascontiguousarray(g), m, v, cupy.int64(p.size), t(b1), t(1.0 - b1), t(b2),
             t(1.0 - b2), t(step), t(eps_hat)))
