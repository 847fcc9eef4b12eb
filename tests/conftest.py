"""Shared test fixtures and the tolerances every numerical comparison states.

- ``rng``: a ``numpy.random.Generator`` seeded from the test's id, so each test draws the same
  numbers on every run and on every machine, independently of the order tests run in.
- ``xp``: the array modules to run on: NumPy always, CuPy (marked ``gpu``) when it imports
  and sees a CUDA device.
- ``tol``: the named tolerances below, as one object (a session fixture, so hypothesis tests
  may use it too).

Tolerances (see STYLE.md §3.6):

- ``F32_RTOL`` / ``F32_ATOL``: float32 against an oracle (PyTorch or the naive loops). Sums of a
  few hundred float32 products carry ~1e-6 relative rounding; 1e-4 leaves room for different
  summation orders without hiding a wrong index (which gives O(1) errors).
- ``F64_RTOL`` / ``F64_ATOL``: float64 against an oracle; only summation order differs.
- ``GRAD_RTOL``: the largest relative error (max |analytic - numeric| / max |analytic|, the
  infinity-norm form) accepted between ``backward`` and float64 central differences. Central
  differences with step ``GRAD_EPS`` = 1e-6 are accurate to ~1e-9 relative on smooth functions,
  so 1e-6 passes every correct gradient and fails a wrong one by orders of magnitude.
"""

from __future__ import annotations

import os
import zlib
from types import SimpleNamespace

import numpy as np
import pytest

# The suite checks tatamu's English words: a learner's LANG=ja_JP.UTF-8 (or TATAMU_LANG=ja)
# must not turn them Japanese. Set here, before any test runs, so the commands the tests start
# in other processes (the CLI, notebook kernels) speak English too; tests of the Japanese
# catalog ask for it explicitly (tests/test_i18n.py).
os.environ["TATAMU_LANG"] = "en"

F32_RTOL = 1e-4
F32_ATOL = 1e-5
F64_RTOL = 1e-10
F64_ATOL = 1e-10
GRAD_RTOL = 1e-6
GRAD_EPS = 1e-6

TOLERANCES = SimpleNamespace(
    f32_rtol=F32_RTOL,
    f32_atol=F32_ATOL,
    f64_rtol=F64_RTOL,
    f64_atol=F64_ATOL,
    grad_rtol=GRAD_RTOL,
    grad_eps=GRAD_EPS,
)


def _seed_for(nodeid: str) -> int:
    # crc32 is stable across runs and interpreters (unlike hash(), which is salted per process).
    return zlib.crc32(nodeid.encode("utf-8"))


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A Generator seeded per test (from its node id): reproducible, order-independent."""
    return np.random.default_rng(_seed_for(request.node.nodeid))


@pytest.fixture(scope="session")
def tol() -> SimpleNamespace:
    """The named tolerances of this module (``tol.f32_rtol``, ``tol.grad_rtol``, ...)."""
    return TOLERANCES


def _array_modules():
    params = [pytest.param(np, id="numpy")]
    try:
        import cupy as cp

        if cp.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("CuPy sees no CUDA GPU")
    except Exception as exc:  # CuPy missing, or no CUDA driver/device: skipped, reason shown
        reason = f"no GPU run: {type(exc).__name__}: {str(exc).strip()[:80]}"
        params.append(pytest.param(None, id="cupy", marks=[pytest.mark.gpu,
                                                          pytest.mark.skip(reason=reason)]))
        return params
    params.append(pytest.param(cp, id="cupy", marks=pytest.mark.gpu))
    return params


@pytest.fixture(params=_array_modules())
def xp(request: pytest.FixtureRequest):
    """The array module to test on: numpy, plus cupy (marked gpu) where a GPU is usable."""
    return request.param
