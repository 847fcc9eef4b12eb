"""The layers: each a class with ``forward`` and ``backward`` side by side (see ``base.py``).

``LAYER_CLASSES`` (every layer class by name) fills itself as classes are defined: a new layer
needs no line here or anywhere else to be saved, loaded, named and drawn.

One name per thing: the book's names (``Convolution``, ``Pooling``, ``Affine``, ``Relu``,
``SoftmaxWithLoss``) belong to the book's classes in ``layers/book.py``; these are PyTorch's.
"""

from ..losses import SoftmaxCrossEntropy as SoftmaxCrossEntropy
from .activation import LeakyReLU as LeakyReLU
from .activation import ReLU as ReLU
from .activation import Sigmoid as Sigmoid
from .activation import Tanh as Tanh
from .base import LAYER_CLASSES as LAYER_CLASSES
from .base import Layer as Layer
from .base import is_random as is_random
from .conv import Conv1D as Conv1D
from .conv import Conv2D as Conv2D
from .linear import Linear as Linear
from .pooling import AvgPool1D as AvgPool1D
from .pooling import AvgPool2D as AvgPool2D
from .pooling import GlobalAvgPool2D as GlobalAvgPool2D
from .pooling import MaxPool1D as MaxPool1D
from .pooling import MaxPool2D as MaxPool2D
from .regularization import BatchNorm1D as BatchNorm1D
from .regularization import BatchNorm2D as BatchNorm2D
from .regularization import Dropout as Dropout
from .shape import Flatten as Flatten
from .window import WindowGeometry as WindowGeometry
