"""tatamu (畳む, "to fold"): convolutional neural networks from scratch on NumPy.

Read the code in this order: ``layers/book.py`` (chapter 7 in one file: the book's output
size, im2col/col2im and layers, the book's way), ``im2col.py`` and ``padding.py`` (the general
output-size formula, im2col/col2im and padding the fast layers share),
``layers/`` (each layer's forward and backward side by side), ``losses.py``, ``model.py``
and ``models.py`` (networks), ``optim/``, ``training/``, ``checkpoint/``, ``cli/``.
The learner's tools are in ``learn/``, pictures in ``viz/``, a person's digits in ``digits/``,
weights in and out in ``interop/``, NumPy/CuPy in ``backend/``.
"""

from . import _moved
from . import datasets as datasets
from . import interop as interop
from . import layers as layers
from . import models as models
from . import optim as optim
from . import viz as viz
from ._version import __version__ as __version__
from .backend.arrays import DEFAULT_DTYPE as DEFAULT_DTYPE
from .backend.arrays import get_array_module as get_array_module
from .checkpoint.store import load as load
from .checkpoint.store import save as save
from .errors import TatamuError as TatamuError
from .i18n import set_language as set_language
from .im2col import col2im as col2im
from .im2col import conv_output_size as conv_output_size
from .im2col import im2col as im2col
from .learn import gradcheck as gradcheck
from .model import Sequential as Sequential
from .training import loop as train  # noqa: F401 (public: tatamu.train.fit, its old name)

_moved.install()

