"""Optimizers and learning-rate schedules: how parameters move downhill (book chapter 6.1).

The book's ``update(params, grads)`` is called ``step(params, grads)`` here, as in PyTorch:
both are dicts keyed by derived parameter names (``"conv1.W"``), every parameter is updated in
place, and state is kept per name so that it can be saved to an ``.npz`` and resumed exactly.
Arithmetic and defaults are PyTorch's, checked against ``torch.optim`` in the tests; the
class docstrings name the book's equivalents and where they differ.
"""

from .adaptive import AdaGrad as AdaGrad
from .adaptive import Adam as Adam
from .adaptive import AdamW as AdamW
from .adaptive import RMSprop as RMSprop
from .base import Optimizer as Optimizer
from .factory import OPTIMIZERS as OPTIMIZERS
from .factory import make_optimizer as make_optimizer
from .factory import optimizer_from_config as optimizer_from_config
from .schedule import CosineLR as CosineLR
from .schedule import LRScheduler as LRScheduler
from .schedule import StepLR as StepLR
from .sgd import SGD as SGD
from .sgd import Momentum as Momentum
from .sgd import Nesterov as Nesterov
