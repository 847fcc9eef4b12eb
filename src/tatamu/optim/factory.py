"""Optimizers by name: the CLI's ``--optimizer`` and checkpoint configs go through here.

One table, :data:`OPTIMIZERS`, derived from each class's ``name``, so a new optimizer is
registered by adding it to one tuple. Unknown names and arguments fail with the valid
choices in the message.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ..i18n import _
from .adaptive import AdaGrad, Adam, AdamW, RMSprop
from .base import Optimizer
from .sgd import SGD, Momentum, Nesterov

#: ``{"sgd": SGD, "momentum": Momentum, ...}``: every optimizer tatamu has, by factory name.
OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam, AdamW)
}


def make_optimizer(name: str, **kwargs: Any) -> Optimizer:
    """Build the optimizer called ``name`` (case-insensitive) with keyword ``kwargs``.

    Examples
    --------
    >>> make_optimizer("adam", lr=0.01)
    Adam(lr=0.01, betas=[0.9, 0.999], eps=1e-08, weight_decay=0.0, clip_grad_norm=None, \
clip_grad_value=None)
    """
    cls = OPTIMIZERS.get(name.lower()) if isinstance(name, str) else None
    if cls is None:
        raise ConfigError(_("unknown optimizer {name!r}; choose one of: {optimizers}",
                            name=name, optimizers=', '.join(OPTIMIZERS)))
    allowed = list(inspect.signature(cls).parameters)
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ConfigError(_("{cls} takes no argument {unknown}; its arguments are: {allowed}",
                            cls=cls.__name__, unknown=', '.join(unknown),
                            allowed=', '.join(allowed)))
    return cls(**kwargs)


def optimizer_from_config(cfg: Mapping[str, Any]) -> Optimizer:
    """Rebuild an optimizer from :meth:`Optimizer.config` (e.g. read back from JSON)."""
    if "name" not in cfg:
        raise ConfigError(_("optimizer config needs a 'name' (one of {optimizers}); got keys "
                            "{cfg}", optimizers=', '.join(OPTIMIZERS), cfg=sorted(cfg)))
    kwargs = {k: v for k, v in cfg.items() if k != "name"}
    return make_optimizer(cfg["name"], **kwargs)
