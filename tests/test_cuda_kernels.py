"""The CUDA kernels (tatamu.cuda_kernels) against the NumPy reference, with and without a GPU.

Without a GPU the kernels' *source text* is still tested, two ways:

- compiled for a Hopper GPU by nvcc (where the CUDA toolkit is installed), so a syntax or
  type error shows up on a CPU-only machine;
- compiled for the CPU by the host C++ compiler, with a prelude that turns ``__global__`` into
  a plain function and the grid into one thread (the grid-stride loops then visit every index
  in order), and driven through the real launchers in tatamu.cuda_kernels by a stand-in for the
  few CuPy calls they make. So the index arithmetic, the argument order and the results are
  checked against tatamu's NumPy functions here; on a GPU the same comparisons run on CuPy.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tatamu.backend import cuda_kernels
from tatamu.im2col import col2im, im2col, spatial_args, window_geometry
from tatamu.layers import MaxPool2D
from tatamu.optim import Adam

PRELUDE = r"""
#include <cmath>
using std::sqrt;
#define __global__
struct Dim3 { long long x; };
static const Dim3 blockIdx = {0}, threadIdx = {0}, blockDim = {1}, gridDim = {1};
"""

#: Each kernel's parameters (T is the element type), to write a C wrapper per instantiation.
SIGNATURES = {
    "im2col_kernel": "const T* a0, T* a1, long long a2, int a3, int a4, int a5, int a6, int a7, "
                     "int a8, int a9, int a10, int a11, int a12, int a13, int a14, int a15, "
                     "T a16",
    "col2im_kernel": "const T* a0, T* a1, long long a2, int a3, int a4, int a5, int a6, int a7, "
                     "int a8, int a9, int a10, int a11, int a12, int a13, int a14, int a15",
    "maxpool_forward_kernel": "const T* a0, T* a1, int* a2, long long a3, int a4, int a5, "
                              "int a6, int a7, int a8, int a9, int a10, int a11, int a12, "
                              "int a13, int a14, int a15, int a16, T a17",
    "maxpool_backward_kernel": "const T* a0, const int* a1, T* a2, long long a3, int a4, "
                               "int a5, int a6, int a7, int a8, int a9, int a10, int a11, "
                               "int a12, int a13, int a14, int a15, int a16",
    "adam_kernel": "T* a0, const T* a1, T* a2, T* a3, long long a4, T a5, T a6, T a7, T a8, "
                   "T a9, T a10",
}


def test_every_kernel_has_a_host_wrapper_signature():
    assert set(SIGNATURES) == set(cuda_kernels.KERNELS)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc (CUDA toolkit) not installed")
def test_the_kernels_compile_for_a_gpu_with_nvcc(tmp_path):
    keep = "\n".join(f"void* keep{i} = (void*)&{name};"
                     for i, name in enumerate(cuda_kernels.name_expressions()))
    source = tmp_path / "kernels.cu"
    source.write_text(cuda_kernels.SOURCE + "\n" + keep + "\n")
    result = subprocess.run(["nvcc", "-arch=sm_90", "-c", str(source), "-o",
                             str(tmp_path / "kernels.o")], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr.lower(), result.stderr


def _host_library(tmp_path_factory) -> ctypes.CDLL:
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        pytest.skip("no host C++ compiler (g++) to run the CUDA source on the CPU")
    wrappers = []
    for name, params in SIGNATURES.items():
        count = params.count(",") + 1
        args = ", ".join(f"a{i}" for i in range(count))
        for dtype, ctype in cuda_kernels.TYPES.items():
            wrappers.append(f'extern "C" void {name}_{dtype}({params.replace("T", ctype)}) '
                            f"{{ {name}<{ctype}>({args}); }}")
    folder = tmp_path_factory.mktemp("host_kernels")
    source = folder / "kernels.cpp"
    source.write_text(PRELUDE + cuda_kernels.SOURCE + "\n" + "\n".join(wrappers) + "\n")
    library = folder / "kernels.so"
    result = subprocess.run([compiler, "-O1", "-shared", "-fPIC", "-std=c++14", str(source),
                             "-o", str(library)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return ctypes.CDLL(str(library))


class _HostFunction:
    """Stands in for a CuPy RawKernel: calls the CPU build with the launcher's arguments."""

    def __init__(self, library: ctypes.CDLL, symbol: str):
        self.function = getattr(library, symbol)
        self.function.restype = None

    def __call__(self, grid, block, args):
        assert len(grid) == 1 and len(block) == 1 and grid[0] >= 1 and block[0] >= 1
        converted = []
        for arg in args:
            if isinstance(arg, np.ndarray):
                assert arg.flags.c_contiguous  # a kernel indexes contiguous memory
                converted.append(ctypes.c_void_p(arg.ctypes.data))
            elif isinstance(arg, np.int32):
                converted.append(ctypes.c_int(int(arg)))
            elif isinstance(arg, np.int64):
                converted.append(ctypes.c_longlong(int(arg)))
            elif isinstance(arg, np.float32):
                converted.append(ctypes.c_float(float(arg)))
            elif isinstance(arg, np.float64):
                converted.append(ctypes.c_double(float(arg)))
            else:  # a Python int or float would be passed with the wrong width on a GPU
                raise TypeError(f"untyped kernel argument {arg!r}")
        self.function(*converted)


def _fake_cupy(library: ctypes.CDLL) -> types.ModuleType:
    """The few CuPy names the launchers use, on NumPy arrays and the host build."""
    fake = types.ModuleType("host_cupy")
    fake.ascontiguousarray = np.ascontiguousarray
    fake.empty = np.empty
    fake.int32, fake.int64 = np.int32, np.int64

    class RawModule:
        def __init__(self, code, name_expressions):
            assert code == cuda_kernels.SOURCE
            self.names = set(name_expressions)

        def get_function(self, expression):
            assert expression in self.names
            name, _, ctype = expression.rstrip(">").partition("<")
            dtype = {v: k for k, v in cuda_kernels.TYPES.items()}[ctype]
            return _HostFunction(library, f"{name}_{dtype}")

    fake.RawModule = RawModule
    return fake


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    return _fake_cupy(_host_library(tmp_path_factory))


def _gpu_cupy():
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            return cupy
    except Exception:
        pass
    return None


def _devices():
    cupy = _gpu_cupy()
    return [pytest.param("host", id="host"),
            pytest.param("gpu", id="gpu", marks=[pytest.mark.gpu, pytest.mark.skipif(
                cupy is None, reason="no CUDA GPU visible to CuPy (CuPy kernels run on GPU "
                "machines only; the host build above runs the same source)")])]


@pytest.fixture(scope="module", params=_devices())
def kernels(request, host):
    """(cupy-like module, to-device, to-host) for the host build or a real GPU."""
    if request.param == "host":
        return host, np.asarray, np.asarray
    cupy = _gpu_cupy()
    return cupy, cupy.asarray, cupy.asnumpy


geometries = st.tuples(
    st.integers(1, 3),  # N
    st.integers(1, 3),  # C
    st.integers(1, 9), st.integers(1, 9),  # H, W
    st.integers(1, 3), st.integers(1, 3),  # KH, KW
    st.integers(1, 3), st.integers(1, 3),  # strides
    st.integers(0, 2),  # padding
    st.integers(1, 2),  # dilation
    st.sampled_from(["floor", "ceil"]),
    st.sampled_from([np.float32, np.float64]),
)


def _layout(shape, k, s, p, d, rounding):
    kernel, stride, pads, dilation = spatial_args(4, k, s, p, d)
    out_hw, applied = window_geometry(shape[2:], kernel, stride, pads, dilation, rounding)
    return kernel, stride, applied, dilation, out_hw


def _draw(g, rng):
    n, c, h, w, kh, kw, sh, sw, p, d, rounding, dtype = g
    span_h, span_w = d * (kh - 1) + 1, d * (kw - 1) + 1
    if span_h > h + 2 * p or span_w > w + 2 * p or p > (min(kh, kw) - 1) * d // 2 + 1:
        return None
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    return x, (kh, kw), (sh, sw), p, d, rounding


@settings(max_examples=60, deadline=None)
@given(g=geometries, seed=st.integers(0, 2**31))
def test_im2col_and_col2im_kernels_equal_the_numpy_functions(kernels, g, seed):
    xp, to_dev, to_host = kernels
    drawn = _draw(g, np.random.default_rng(seed))
    if drawn is None:
        return
    x, k, s, p, d, rounding = drawn
    try:
        want = im2col(x, k, s, p, d, rounding=rounding)
    except ValueError:
        return  # a window that fits nowhere: refused before any kernel runs
    kernel, stride, applied, dilation, out_hw = _layout(x.shape, k, s, p, d, rounding)
    got = to_host(cuda_kernels.im2col(xp, to_dev(x), kernel, stride, applied, dilation, out_hw))
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, want)  # a copy: exact
    col = np.random.default_rng(seed + 1).standard_normal(want.shape).astype(x.dtype)
    want_dx = col2im(col, x.shape, k, s, p, d, rounding=rounding)
    got_dx = to_host(cuda_kernels.col2im(xp, to_dev(col), x.shape, kernel, stride, applied,
                                         dilation, out_hw))
    rtol = 1e-5 if x.dtype == np.float32 else 1e-12  # sums in another order
    np.testing.assert_allclose(got_dx, want_dx, rtol=rtol, atol=rtol)


def test_col2im_kernel_sums_overlapping_windows_worked_example(kernels):
    """col2im's docstring example: a 3x3 image, 2x2 windows, stride 1: the centre is in all
    four windows, so a column of ones gives 4 there, 2 on the edges, 1 in the corners."""
    xp, to_dev, to_host = kernels
    col = np.ones((4, 4), np.float32)
    dx = to_host(cuda_kernels.col2im(xp, to_dev(col), (1, 1, 3, 3), (2, 2), (1, 1),
                                     ((0, 0), (0, 0)), (1, 1), (2, 2)))
    np.testing.assert_array_equal(dx[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


@settings(max_examples=60, deadline=None)
@given(g=geometries, seed=st.integers(0, 2**31), ties=st.booleans())
def test_maxpool_kernels_equal_the_numpy_layer(kernels, g, seed, ties):
    xp, to_dev, to_host = kernels
    rng = np.random.default_rng(seed)
    drawn = _draw(g, rng)
    if drawn is None:
        return
    x, k, s, p, d, rounding = drawn
    if ties:  # few distinct values: the first maximum must win, as in the NumPy layer
        x = np.round(x).astype(x.dtype)
    try:
        layer = MaxPool2D(k, s, p, dilation=d, rounding=rounding)
        want = layer.forward(x)
    except ValueError:
        return
    dout = rng.standard_normal(want.shape).astype(x.dtype)
    want_dx = layer.backward(dout)
    kernel, stride, applied, dilation, out_hw = _layout(x.shape, k, s, p, d, rounding)
    out, argmax = cuda_kernels.maxpool_forward(xp, to_dev(x), kernel, stride, applied,
                                               dilation, out_hw)
    np.testing.assert_array_equal(to_host(out), want)
    dx = cuda_kernels.maxpool_backward(xp, to_dev(dout), argmax, x.shape, kernel, stride,
                                       applied, dilation)
    rtol = 1e-6 if x.dtype == np.float32 else 1e-14
    np.testing.assert_allclose(to_host(dx), want_dx, rtol=rtol, atol=rtol)


def test_maxpool_kernel_worked_example(kernels):
    """2x2 max pooling, stride 2, of a 4x4 image worked by hand: each window's largest value,
    and backward sends each gradient to the place it came from (the first 2 in a tie)."""
    xp, to_dev, to_host = kernels
    x = np.array([[1, 2, 0, 1],
                  [0, 1, 2, 3],
                  [3, 0, 1, 2],
                  [2, 4, 2, 1]], np.float32).reshape(1, 1, 4, 4)
    out, argmax = cuda_kernels.maxpool_forward(xp, to_dev(x), (2, 2), (2, 2), ((0, 0), (0, 0)),
                                               (1, 1), (2, 2))
    np.testing.assert_array_equal(to_host(out)[0, 0], [[2, 3], [4, 2]])
    np.testing.assert_array_equal(to_host(argmax)[0, 0], [[1, 7], [13, 11]])  # h*4 + w
    dout = np.array([[10, 20], [30, 40]], np.float32).reshape(1, 1, 2, 2)
    dx = cuda_kernels.maxpool_backward(xp, to_dev(dout), argmax, x.shape, (2, 2), (2, 2),
                                       ((0, 0), (0, 0)), (1, 1))
    np.testing.assert_array_equal(to_host(dx)[0, 0], [[0, 10, 0, 0],
                                                      [0, 0, 0, 20],
                                                      [0, 0, 0, 40],
                                                      [0, 30, 0, 0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_kernel_equals_the_numpy_adam(kernels, dtype, rng):
    xp, to_dev, to_host = kernels
    shape = (7, 5)
    p = rng.standard_normal(shape).astype(dtype)
    want_opt = Adam(lr=1e-2)
    want = {"w": p.copy()}
    m, v = np.zeros(shape, dtype), np.zeros(shape, dtype)
    got = to_dev(p.copy())
    m, v = to_dev(m), to_dev(v)
    b1, b2 = want_opt.betas
    for t in range(1, 6):
        g = rng.standard_normal(shape).astype(dtype)
        want_opt.step(want, {"w": g})
        root_bc2 = (1.0 - b2**t) ** 0.5
        cuda_kernels.adam_update(xp, got, to_dev(g), m, v, b1=b1, b2=b2,
                                 step=1e-2 * root_bc2 / (1.0 - b1**t),
                                 eps_hat=want_opt.eps * root_bc2)
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(to_host(got), want["w"], rtol=rtol, atol=rtol)
    np.testing.assert_allclose(to_host(m), want_opt.state_dict()["m/w"], rtol=rtol, atol=rtol)
    np.testing.assert_allclose(to_host(v), want_opt.state_dict()["v/w"], rtol=rtol, atol=rtol)
