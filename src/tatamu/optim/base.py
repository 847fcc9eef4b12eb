"""The optimizer base class: the ``step(params, grads)`` contract, clipping, saving and resuming.

Every optimizer in tatamu is a subclass of :class:`Optimizer` that writes one method,
``_update(name, p, g)``: the book's per-key loop body of ``update(params, grads)`` (section 6.1).
Everything the book's optimizers leave out lives here once: checking that ``params`` and
``grads`` match, gradient clipping, L2 weight decay, lazily created per-name state, and
``state_dict`` / ``load_state_dict`` for bit-identical resumption from an ``.npz`` file.

Notation used in every docstring and comment of ``tatamu.optim``:

=========  ================================================================================
``p``      a parameter array, updated in place (``conv1.W`` ...)
``g``      its gradient as the update rule sees it (after clipping and L2 weight decay)
``lr``     learning rate, the book's η; a plain attribute that a schedule may change
``t``      number of steps taken so far (1 during the first step)
``v``      velocity (Momentum, Nesterov); ``m``, ``v`` Adam's first and second moments
``h``      the book's running sum (AdaGrad) or average (RMSprop) of ``g * g``
``s``      a preallocated scratch array shaped like ``p``: no temporaries per step
=========  ================================================================================
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ..backend.arrays import as_numpy, get_array_module
from ..errors import CheckpointError, ConfigError, ShapeError, StateError
from ..i18n import _

#: A NumPy or CuPy array (CuPy is never imported here, so the type stays open).
Array = Any


def as_real(name: str, value: Any) -> float:
    """Return ``value`` as a finite Python float, or raise ``ConfigError`` naming ``name``.

    Hyper-parameters are kept as Python floats so that they never promote float32 arrays
    to float64 (a ``numpy.float64`` scalar would); they are cast to the parameter's dtype
    just before use.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(_("{name} must be a real number; got {value!r}", name=name, value=value))
    result = float(value)
    if not math.isfinite(result):
        raise ConfigError(_("{name} must be finite; got {result}", name=name, result=result))
    return result


def as_positive(name: str, value: Any) -> float:
    """``value`` as a float > 0 (a learning rate, an epsilon), else ``ConfigError``."""
    result = as_real(name, value)
    if result <= 0.0:
        raise ConfigError(_("{name} must be > 0; got {result}", name=name, result=result))
    return result


def as_non_negative(name: str, value: Any) -> float:
    """``value`` as a float >= 0 (a weight decay), else ``ConfigError``."""
    result = as_real(name, value)
    if result < 0.0:
        raise ConfigError(_("{name} must be >= 0; got {result}", name=name, result=result))
    return result


def as_decay_rate(name: str, value: Any) -> float:
    """``value`` as a float in [0, 1) (a momentum, a beta, an alpha), else ``ConfigError``."""
    result = as_real(name, value)
    if not 0.0 <= result < 1.0:
        raise ConfigError(_("{name} must be in [0, 1); got {result}", name=name, result=result))
    return result


#: Decaying state is flushed to 0 below ``FLUSH_MARGIN`` times the dtype's smallest normal
#: number (float32: 2**23 * 1.18e-38 ~ 1e-31): far too small to move any parameter.
FLUSH_MARGIN = 2.0**23


def flush_period(decay: float) -> int:
    """Steps it takes ``decay**steps`` to shrink a value by ``FLUSH_MARGIN`` (at least 1).

    A state value at the flush threshold stays a normal number for this many steps of pure
    decay, so flushing every ``flush_period`` steps keeps the state free of subnormals:
    0.9 -> 151 steps, 0.99 -> 1,581, 0.999 -> 15,934; 0 -> every step.
    """
    if decay <= 0.0:
        return 1
    return max(1, int(math.log(FLUSH_MARGIN) / -math.log(decay)))


def _snapshot(a: Array) -> np.ndarray:
    """A NumPy copy of ``a`` that later steps cannot change."""
    host = as_numpy(a)
    return host.copy() if host is a else host


class Optimizer:
    """Base class: updates every parameter in place from its gradient, one name at a time.

    Parameters
    ----------
    lr : float
        Learning rate (> 0). Stored as the plain attribute ``lr``, which schedules change.
    weight_decay : float
        L2 penalty coefficient: the update rule sees ``g + weight_decay * p`` (PyTorch's
        ``weight_decay``; the book adds the penalty to the loss instead, section 6.4.1).
    clip_grad_norm : float or None
        If given, scale all gradients together so that their global L2 norm is at most this
        (``torch.nn.utils.clip_grad_norm_``). The caller's gradients are never modified.
    clip_grad_value : float or None
        If given, clip every gradient element to ``[-clip_grad_value, clip_grad_value]``
        (``torch.nn.utils.clip_grad_value_``). Exclusive with ``clip_grad_norm``.

    Notes
    -----
    Subclasses set ``name`` (the factory name), ``state_names`` (per-parameter arrays they
    keep) and write ``_update``. State is keyed by parameter *name*, created lazily with the
    parameter's array module, shape and dtype, so float32 training stays float32 and the
    state follows the model to another device.
    """

    #: The name ``make_optimizer`` and the CLI's ``--optimizer`` know this class by.
    name: ClassVar[str] = ""
    #: The per-parameter state arrays, e.g. ``("m", "v")``; keys ``"m/conv1.W"`` when saved.
    state_names: ClassVar[tuple[str, ...]] = ()
    #: True where weight decay is applied to ``p`` directly instead of added to ``g`` (AdamW).
    decoupled_weight_decay: ClassVar[bool] = False

    def __init__(
        self,
        lr: float,
        *,
        weight_decay: float = 0.0,
        clip_grad_norm: float | None = None,
        clip_grad_value: float | None = None,
    ) -> None:
        self.lr = as_positive("lr", lr)
        self.initial_lr = self.lr  # config() reports this; a schedule may take lr to 0
        self.weight_decay = as_non_negative("weight_decay", weight_decay)
        if clip_grad_norm is not None and clip_grad_value is not None:
            raise ConfigError(_("give clip_grad_norm or clip_grad_value, not both"))
        self.clip_grad_norm = None if clip_grad_norm is None else as_positive(
            "clip_grad_norm", clip_grad_norm)
        self.clip_grad_value = None if clip_grad_value is None else as_positive(
            "clip_grad_value", clip_grad_value)
        self.t = 0
        self._state: dict[str, dict[str, Array]] = {kind: {} for kind in self.state_names}
        self._scratch: dict[str, Array] = {}  # s: one per parameter, reused every step
        self._grad_buf: dict[str, Array] = {}  # clipped / decayed g; only when those are on
        self._loaded_names: set[str] | None = None  # checked against params on the next step

    # -- the contract ---------------------------------------------------------------------
    def step(self, params: Mapping[str, Array], grads: Mapping[str, Array]) -> None:
        """Update every array in ``params`` in place from ``grads`` (the book's ``update``).

        Parameters
        ----------
        params : dict of str to array
            Parameters by derived name (``"conv1.W"``), as ``model.params()`` gives.
            Each array is updated in place: layers and checkpoints keep the same objects.
        grads : dict of str to array
            Gradients with the same keys; never modified.

        Shapes
        ------
        ``grads[name]``: the shape and dtype of ``params[name]`` (any shape, float dtype).
        """
        self._check(params, grads)
        coef = self._clip_coef(grads)
        self.t += 1
        for name, p in params.items():
            self._update(name, p, self._effective_grad(name, p, grads[name], coef))

    def _update(self, name: str, p: Array, g: Array) -> None:
        raise NotImplementedError

    # -- what the update rule sees ----------------------------------------------------------
    def _check(self, params: Mapping[str, Array], grads: Mapping[str, Array]) -> None:
        if params.keys() != grads.keys():
            missing = sorted(set(params) - set(grads))
            extra = sorted(set(grads) - set(params))
            raise ConfigError(
                _("params and grads must have the same keys: no gradient for {missing}; "
                  "gradients without a parameter: {extra}", missing=missing, extra=extra))
        for name, p in params.items():
            g = grads[name]
            if g is None:
                raise StateError(_("the gradient of {name!r} is None: call backward() before "
                                   "step()", name=name))
            if p.dtype.kind != "f":
                raise ShapeError(_("parameter {name!r} has dtype {dtype}; a float type is needed",
                                   name=name, dtype=p.dtype))
            if g.shape != p.shape or g.dtype != p.dtype:
                raise ShapeError(
                    _("gradient of {name!r} is {dtype}{shape} but the parameter is "
                      "{param_dtype}{param_shape}: they must match (a float64 promotion upstream?)",
                      name=name, dtype=g.dtype, shape=list(g.shape), param_dtype=p.dtype,
                      param_shape=list(p.shape)))
        if self._loaded_names is not None and self.state_names:
            if self._loaded_names != set(params):
                raise CheckpointError(
                    _("the loaded {optimizer} state does not fit these parameters: no state for "
                      "{missing}; state for unknown {unknown}",
                      optimizer=type(self).__name__,
                      missing=sorted(set(params) - self._loaded_names),
                      unknown=sorted(self._loaded_names - set(params))))
        self._loaded_names = None

    def _clip_coef(self, grads: Mapping[str, Array]) -> float | None:
        """The factor that brings the global gradient norm down to ``clip_grad_norm``, or None."""
        if self.clip_grad_norm is None:
            return None
        norms = [float(get_array_module(g).linalg.norm(g)) for g in grads.values()]
        total = math.hypot(*norms)
        coef = self.clip_grad_norm / (total + 1e-6)  # torch's 1e-6 guard against total = 0
        return coef if coef < 1.0 else None

    def _effective_grad(self, name: str, p: Array, g: Array, coef: float | None) -> Array:
        """``g`` clipped and plus ``weight_decay * p`` (in a buffer), or ``g`` itself."""
        decay = self.weight_decay > 0.0 and not self.decoupled_weight_decay
        if self.clip_grad_value is None and coef is None and not decay:
            return g
        xp = get_array_module(p)
        buf = self._buffer(self._grad_buf, name, p)
        src = g
        if self.clip_grad_value is not None:
            c = p.dtype.type(self.clip_grad_value)
            src = xp.clip(g, -c, c, out=buf)
        elif coef is not None:
            src = xp.multiply(g, p.dtype.type(coef), out=buf)
        if decay:
            wd = p.dtype.type(self.weight_decay)
            if src is buf:  # buf already holds the clipped g: add wd*p through the scratch
                buf += xp.multiply(p, wd, out=self._buffer(self._scratch, name, p))
            else:
                xp.multiply(p, wd, out=buf)
                buf += g
        return buf

    # -- per-name arrays ----------------------------------------------------------------------
    @staticmethod
    def _buffer(store: dict[str, Array], name: str, p: Array) -> Array:
        """Scratch array for ``name`` shaped like ``p``; made again if ``p`` changed."""
        a = store.get(name)
        if (a is None or a.shape != p.shape or a.dtype != p.dtype
                or get_array_module(a) is not get_array_module(p)):
            a = store[name] = get_array_module(p).empty_like(p)
        return a

    def _state_array(self, kind: str, name: str, p: Array) -> Array:
        """State ``kind`` of parameter ``name``: zeros on first use, moved/cast to match ``p``."""
        store = self._state[kind]
        a = store.get(name)
        xp = get_array_module(p)
        if a is None:
            a = store[name] = xp.zeros_like(p)
        elif a.dtype != p.dtype or get_array_module(a) is not xp:
            if a.shape != p.shape:
                self._raise_shape(kind, name, a, p)
            # Loaded from a file (NumPy) or made before model.to(device): follow the parameter.
            a = store[name] = xp.asarray(as_numpy(a), dtype=p.dtype)
        elif a.shape != p.shape:
            self._raise_shape(kind, name, a, p)
        return a

    def _flush_tiny(self, a: Array, decay: float, s: Array) -> None:
        """Set the entries of state ``a`` (multiplied by ``decay`` each step) that are too
        small to matter to exactly 0, once every :func:`flush_period` steps.

        Why: where a gradient stays exactly 0 (the inputs of a ReLU unit that never fires),
        the state only decays: Adam's ``m`` is multiplied by 0.9 every step, and after ~700
        steps it falls below float32's smallest *normal* number, 1.18e-38. Below that, floats
        are "subnormal", and x86 processors compute with them many times slower (a microcode
        assist per operation): on an Intel Xeon an epoch of SimpleConvNet went from 18 s to
        24-27 s by its fifth epoch (issue 12). A value of 1e-31 in Adam's ``m`` or in a
        velocity moves no float32 parameter, so it is set to 0 (exactly what the decay tends
        to) before it can become subnormal.
        """
        if self.t % flush_period(decay) == 0:
            xp = get_array_module(a)
            threshold = FLUSH_MARGIN * float(np.finfo(a.dtype).tiny)
            a[xp.abs(a, out=s) < threshold] = 0  # s: scratch, overwritten by the caller next

    @staticmethod
    def _raise_shape(kind: str, name: str, a: Array, p: Array) -> None:
        raise CheckpointError(
            _("optimizer state {kind}/{name} has shape {shape} but the parameter has {expected}: "
              "the state belongs to another architecture",
              kind=kind, name=name, shape=tuple(a.shape), expected=tuple(p.shape)))

    # -- saving and resuming ------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """A flat snapshot of NumPy arrays for ``numpy.savez`` (no pickle needed).

        Keys: ``"t"`` (0-d int64), ``"lr"`` (0-d float64, the current learning rate) and
        ``"<state>/<parameter name>"`` such as ``"m/conv1.W"``, ``"v/conv1.W"``.
        """
        d = {"t": np.asarray(self.t, dtype=np.int64), "lr": np.asarray(self.lr, dtype=np.float64)}
        for kind, store in self._state.items():
            for name, a in store.items():
                d[f"{kind}/{name}"] = _snapshot(a)
        return d

    def load_state_dict(self, d: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` exactly (copies; ``d`` stays untouched).

        Raises ``CheckpointError`` for missing or foreign keys; on the next :meth:`step`, also
        when the saved names or shapes differ from the parameters.
        """
        cls = type(self).__name__
        expected = ", ".join(["'t'", "'lr'"] + [f"'{k}/<parameter>'" for k in self.state_names])
        missing = [k for k in ("t", "lr") if k not in d]
        if missing:
            raise CheckpointError(_("{cls} state lacks {missing}; expected keys {expected}",
                                    cls=cls, missing=missing, expected=expected))
        state: dict[str, dict[str, Array]] = {kind: {} for kind in self.state_names}
        for key in d:
            if key in ("t", "lr"):
                continue
            kind, sep, name = key.partition("/")
            if not sep or kind not in state:
                raise CheckpointError(
                    _("unexpected key {key!r} in {cls} state (saved by another optimizer?); "
                      "expected keys {expected}", key=key, cls=cls, expected=expected))
            arr = as_numpy(d[key]).copy()
            if arr.dtype.kind != "f":
                raise CheckpointError(_("{cls} state {key!r} has dtype {dtype}; expected float",
                                        cls=cls, key=key, dtype=arr.dtype))
            state[kind][name] = arr
        names = [set(store) for store in state.values()]
        if any(n != names[0] for n in names):
            raise CheckpointError(_("{cls} state is incomplete: {state} cover different "
                                    "parameter names", cls=cls, state=sorted(state)))
        t = as_numpy(d["t"])
        if t.shape != () or t.dtype.kind not in "iu" or int(t) < 0:
            raise CheckpointError(_("{cls} state 't' must be a 0-d integer >= 0; got {t!r}",
                                    cls=cls, t=t))
        if self.state_names and int(t) > 0 and not names[0]:
            raise CheckpointError(_("{cls} state has t = {t} steps but no {state_names} arrays",
                                    cls=cls, t=int(t), state_names=self.state_names))
        self.t = int(t)
        self.lr = float(as_numpy(d["lr"]))
        self._state = state
        self._loaded_names = names[0] if names and names[0] else None

    # -- description ----------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """JSON-serialisable ``{"name": ..., <constructor argument>: value, ...}``.

        ``lr`` is the learning rate given to the constructor; the current one (which a
        schedule may have changed) is saved by :meth:`state_dict`.
        ``optimizer_from_config(opt.config())`` rebuilds an equal optimizer.
        """
        cfg: dict[str, Any] = {"name": self.name}
        for arg in inspect.signature(type(self)).parameters:
            value = self.initial_lr if arg == "lr" else getattr(self, arg)
            cfg[arg] = list(value) if isinstance(value, tuple) else value
        return cfg

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"
