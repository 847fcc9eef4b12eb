"""Where arrays live: NumPy or CuPy, the default dtype, devices (``arrays.py``); the CUDA
kernels CuPy runs for the hot loops (``cuda_kernels.py``, imported only on a GPU).
"""

from .arrays import DEFAULT_DTYPE as DEFAULT_DTYPE
from .arrays import GPU_INSTALL as GPU_INSTALL
from .arrays import as_numpy as as_numpy
from .arrays import device_index as device_index
from .arrays import device_of as device_of
from .arrays import get_array_module as get_array_module
from .arrays import parse_device as parse_device
from .arrays import require_cuda as require_cuda
from .arrays import resolve_dtype as resolve_dtype
from .arrays import to_device as to_device
