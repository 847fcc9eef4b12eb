"""Weights in and out: the book's ``params.pkl``, PyTorch (safetensors) and ONNX.

Optional packages are imported inside the functions that need them (``safetensors``,
``onnx``), so ``import tatamu`` never requires them.
"""

from .book_params import import_book_params as import_book_params
from .book_params import load_book_params as load_book_params
from .book_pickle import UnsafePickleError as UnsafePickleError
from .book_pickle import read_array_dict as read_array_dict
from .onnx_export import onnx_model as onnx_model
from .onnx_export import save_onnx as save_onnx
from .optional import MissingPackageError as MissingPackageError
from .safetensors_io import load_safetensors as load_safetensors
from .safetensors_io import save_safetensors as save_safetensors
from .torch_names import torch_definition as torch_definition
from .torch_names import torch_state_dict as torch_state_dict
