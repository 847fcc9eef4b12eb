"""Initial weights (the book's §6.2): He for ReLU nets, Glorot (Xavier) for sigmoid/tanh.

Weights are drawn on the CPU from a ``numpy.random.Generator`` passed in (never a global RNG),
so one seed gives the same network on every machine and device.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError
from ..i18n import _

#: The names accepted by every layer's ``init`` argument; a float is a fixed std (the book's
#: ``weight_init_std=0.01``).
INITS = ("he", "glorot", "torch")



def init_weight(
    shape: tuple[int, ...],
    fan_in: int,
    fan_out: int,
    init: str | float,
    rng: np.random.Generator,
    dtype: np.dtype,
) -> np.ndarray:
    """Draw a weight array of ``shape``.

    ``"he"``: normal, std sqrt(2 / fan_in) (He et al. 2015; the book's ``weight_init_std='he'``).
    ``"glorot"``: normal, std sqrt(2 / (fan_in + fan_out)) (Glorot & Bengio 2010).
    ``"torch"``: uniform in ±1/sqrt(fan_in), what PyTorch's Conv2d and Linear start from.
    a float: normal with that std (the book's SimpleConvNet uses 0.01).
    """
    if isinstance(init, str):
        if init == "he":
            std = math.sqrt(2.0 / fan_in)
        elif init == "glorot":
            std = math.sqrt(2.0 / (fan_in + fan_out))
        elif init == "torch":
            bound = 1.0 / math.sqrt(fan_in)
            return rng.uniform(-bound, bound, size=shape).astype(dtype)
        else:
            raise ConfigError(_("init must be one of {inits} or a float std; got {init!r}",
                                inits=INITS, init=init))
    elif isinstance(init, (int, float)) and not isinstance(init, bool) and init > 0:
        std = float(init)
    else:
        raise ConfigError(_("init must be one of {inits} or a positive float std; got {init!r}",
                            inits=INITS, init=init))
    return (rng.standard_normal(shape, dtype=np.float64) * std).astype(dtype)
