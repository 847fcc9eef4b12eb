"""tatamu (畳む, "to fold"): convolutional neural networks from scratch on NumPy.

Read the code in this order: ``layers/book.py`` (the book's layers, the book's way),
``im2col.py`` (the output-size formula and im2col/col2im),
``layers/`` (each layer's forward and backward side by side), ``losses.py``, ``model.py``
and ``models.py`` (networks), ``optim/``, ``train.py``, ``run.py``, ``checkpoint.py``, ``cli.py``.
"""

from . import datasets as datasets
from . import gradcheck as gradcheck
from . import layers as layers
from . import models as models
from . import optim as optim
from . import train as train
from . import viz as viz
from .backend import DEFAULT_DTYPE as DEFAULT_DTYPE
from .backend import get_array_module as get_array_module
from .checkpoint import load as load
from .checkpoint import save as save
from .errors import TatamuError as TatamuError
from .im2col import col2im as col2im
from .im2col import conv_output_size as conv_output_size
from .im2col import im2col as im2col
from .model import Sequential as Sequential

__version__ = "0.1.0"
