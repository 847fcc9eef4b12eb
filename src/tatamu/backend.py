"""Where arrays live: the one module that decides the array module and the default dtype.

Array code everywhere else starts with ``xp = get_array_module(x)`` (the habit of Chainer and
DeZero), so the same layer code runs on NumPy and, when a later backend provides it, on CuPy.
This is the only module allowed to import CuPy, and it does so lazily: CPU users never pay for
the import or see its warnings.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

#: The dtype every layer, initialiser and dataset uses unless told otherwise.
DEFAULT_DTYPE = np.dtype(np.float32)


def _is_cupy_array(a: Any) -> bool:
    # Checking the type's module avoids importing CuPy just to ask.
    return type(a).__module__.split(".")[0] == "cupy"


def get_array_module(*arrays: Any) -> ModuleType:
    """Return ``numpy``, or ``cupy`` when any argument is a CuPy array.

    Scalars and ``None`` count as NumPy, so ``get_array_module(x, None)`` is safe.
    """
    if any(_is_cupy_array(a) for a in arrays):
        import cupy  # lazily: only when a CuPy array already exists

        return cupy
    return np


def as_numpy(a: Any) -> np.ndarray:
    """Return ``a`` as a NumPy array (copying from the GPU when needed)."""
    if _is_cupy_array(a):
        return a.get()
    return np.asarray(a)


def resolve_dtype(dtype: Any = None) -> np.dtype:
    """The dtype to use: ``dtype`` if given, else :data:`DEFAULT_DTYPE`; floating types only."""
    resolved = DEFAULT_DTYPE if dtype is None else np.dtype(dtype)
    if resolved.kind != "f":
        from .errors import ConfigError

        raise ConfigError(f"dtype must be a floating type such as float32; got {resolved}")
    return resolved
