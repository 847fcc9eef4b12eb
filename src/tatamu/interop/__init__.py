"""Weights in and out: the book's ``params.pkl``, PyTorch (safetensors) and ONNX.

Optional packages are imported inside the functions that need them (``safetensors``,
``onnx``), so ``import tatamu`` never requires them.
"""

from .book_params import import_book_params as import_book_params
from .book_params import load_book_params as load_book_params
from .book_pickle import UnsafePickleError as UnsafePickleError
from .book_pickle import read_array_dict as read_array_dict
