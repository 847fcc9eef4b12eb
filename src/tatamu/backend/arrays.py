"""Where arrays live: the one module that decides the array module and the default dtype.

Array code everywhere else starts with ``xp = get_array_module(x)`` (the habit of Chainer and
DeZero), so the same layer code runs on NumPy and, when a later backend provides it, on CuPy.
This is the only module allowed to import CuPy, and it does so lazily: CPU users never pay for
the import or see its warnings.

Devices are named as PyTorch names them: ``"cpu"`` (NumPy) and ``"cuda"`` or ``"cuda:N"``
(CuPy on GPU N). :func:`parse_device` reads the name, :func:`to_device` moves an array, and
:func:`require_cuda` explains in one line what is missing when a GPU was asked for and cannot
be had (CuPy not installed, or no GPU that CuPy can see), with the command that fixes it.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from ..i18n import N_, _

#: The dtype every layer, initialiser and dataset uses unless told otherwise.
DEFAULT_DTYPE = np.dtype(np.float32)

#: What pip installs for a GPU: one CuPy wheel per CUDA major version (pyproject's extras).
GPU_INSTALL = N_("pip install 'tatamu[gpu13]' (CUDA 13) or 'tatamu[gpu12]' (CUDA 12); "
                 "nvidia-smi shows your CUDA version")


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
        from ..errors import ConfigError

        raise ConfigError(_("dtype must be a floating type such as float32; got {resolved}",
                            resolved=resolved))
    return resolved


def parse_device(device: Any) -> str:
    """The canonical name of ``device``: ``"cpu"``, ``"cuda"`` (GPU 0) or ``"cuda:N"``."""
    from ..errors import ConfigError

    text = str(device).strip().lower() if isinstance(device, str) else None
    if text in ("cpu", "numpy"):
        return "cpu"
    if text in ("cuda", "gpu", "cuda:0"):
        return "cuda"
    if text and text.startswith("cuda:") and text[5:].isdigit():
        return f"cuda:{int(text[5:])}" if int(text[5:]) else "cuda"
    raise ConfigError(_("unknown device {device!r}; use 'cpu', 'cuda' or 'cuda:N' (GPU N)",
                        device=device),
                      param="device", value=device)


def device_index(device: str) -> int:
    """The GPU number of a parsed ``"cuda"``/``"cuda:N"`` device."""
    return int(device.partition(":")[2] or 0)


def require_cuda(device: str = "cuda") -> ModuleType:
    """Return the ``cupy`` module for ``device``, or say in one line what is missing.

    Raises ``DeviceError`` when CuPy is not installed (with the pip command), when it is
    installed but finds no CUDA GPU (driver missing, no GPU, CUDA_VISIBLE_DEVICES empty), or
    when GPU N does not exist.
    """
    from ..errors import DeviceError, Fix

    try:
        import cupy
    except ImportError as exc:
        raise DeviceError(
            _("device {device!r} needs CuPy, which is not installed ({exc}); {gpu_install}; or "
              "run on the CPU (", device=device, exc=exc, gpu_install=_(GPU_INSTALL)),
            Fix("device", "cpu"), _(", the default)"), param="device",
            value=device,
        ) from None
    try:
        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:  # CUDARuntimeError, or a driver/library that fails to load
        raise DeviceError(
            _("CuPy is installed but finds no CUDA GPU ({type}: {exc}); check the driver with "
              "nvidia-smi, or run on the CPU (",
              type=type(exc).__name__, exc=str(exc).strip() or _("no detail")),
            Fix("device", "cpu"), ")", param="device", value=device,
        ) from None
    index = device_index(device)
    if count == 0 or index >= count:
        raise DeviceError(
            _("device {device!r} asked for GPU {index}, but CuPy sees {count} GPU(s); use ",
              device=device, index=index, count=count),
            Fix("device", "cuda"), _(" for the first one or "), Fix("device", "cpu"),
            param="device", value=device,
        )
    return cupy


def device_of(a: Any) -> str:
    """``"cpu"`` for NumPy arrays (and scalars), ``"cuda"``/``"cuda:N"`` for CuPy arrays."""
    if _is_cupy_array(a):
        index = int(a.device.id)
        return f"cuda:{index}" if index else "cuda"
    return "cpu"


def to_device(a: Any, device: str) -> Any:
    """``a`` on ``device`` (a parsed name): a copy when it has to move, ``a`` itself otherwise."""
    if a is None:
        return None
    if device == "cpu":
        return as_numpy(a) if _is_cupy_array(a) else a
    cupy = require_cuda(device)
    if _is_cupy_array(a) and device_of(a) == device:
        return a
    with cupy.cuda.Device(device_index(device)):
        return cupy.asarray(as_numpy(a) if _is_cupy_array(a) else a)
