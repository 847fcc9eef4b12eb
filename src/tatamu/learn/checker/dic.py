"""The DIVE INTO CODE form: layers built from sizes, an initializer and an optimizer.

The course's sprints write ``Conv2d(FN, C, FH, FW, stride, padding, initializer, optimizer)``,
``Conv1d``, ``MaxPool2D`` and ``FC(n_nodes1, n_nodes2, initializer, optimizer)``: the layer
asks ``initializer.W(...)`` / ``initializer.B(...)`` for its arrays, keeps them as ``W``/``B``,
its gradients as ``dW``/``dB``, and calls ``optimizer.update(self)`` at the end of
``backward``. Learners name and order the arguments in their own ways, so each ``__init__``
argument's role (filters, channels, filter height... stride, padding) is read from its name,
the rest taken in the course's order. tatamu supplies an initializer that answers *any* method
with the array the checks need in the shape asked (:class:`KnownArrays`), and an optimizer
that records each call and changes nothing (:class:`RecordingOptimizer`); after ``__init__``
the weights are set to the checks' numbers whatever the layer drew itself.
"""

from __future__ import annotations

import copy
import inspect

import numpy as np

from .adapters import Adapter, Found, Unsupported, init_arguments, module_classes
from .course_arrays import (
    BIAS_ATTRS,
    BIAS_GRADS,
    WEIGHT_ATTRS,
    WEIGHT_GRADS,
    KnownArrays,
    RecordingOptimizer,
    get_array,
    gradient,
    permutation,
    set_array,
)
from .course_roles import roles
from .kinds import kind_from_name

#: Class names the course uses (and close variants), and their kinds.
NAMES = {"conv2d": "convolution", "conv1d": "conv1d", "simpleconv1d": "conv1d",
         "simpleconv2d": "convolution", "maxpool2d": "pooling", "maxpooling2d": "pooling",
         "maxpool": "pooling", "pool2d": "pooling", "fc": "affine", "fullyconnected": "affine"}
#: how many rows a probe of Conv1d's input layout uses
_PROBE = {"N": 2, "C": 2, "L": 7, "FN": 3, "FL": 3}


class DicProfile(Adapter):
    """DIVE INTO CODE's ``Conv2d``, ``Conv1d``, ``MaxPool2D``, ``FC`` (see the module)."""

    name = "dic"

    def __init__(self) -> None:
        self._layouts: dict = {}  # (class, kind) -> how it takes Conv1d's input

    # -- finding ----------------------------------------------------------------------------
    def find(self, module, wanted, kind=None):
        classes = module_classes(module)
        if wanted is not None:
            cls = classes.get(wanted) or getattr(module, wanted, None)
            if not inspect.isclass(cls) or not self.claims(cls):
                return []
            k = kind or self.kind_of(cls)
            return [Found(wanted, cls, k, self._how(cls, kind), self)] if k else []
        found = [Found(n, c, kind or self.kind_of(c), self._how(c, kind), self)
                 for n, c in classes.items()
                 if self.claims(c) and is_layer_class(c) and (kind or self.kind_of(c))]
        if found:  # the file is in the course's form: its activations too
            taken = {f.name for f in found}
            found += [Found(n, c, "relu", "an activation beside the course's layers", self)
                      for n, c in classes.items() if n not in taken
                      and n.lower() in ("relu",) and kind in (None, "relu")]
        return [f for f in found if kind in (None, f.kind)]

    def claims(self, cls: type) -> bool:
        """Built from an initializer/optimizer, or named as the course names its layers."""
        args = [a.lower() for a in init_arguments(cls)]
        if args[:2] in (["w", "b"], ["weight", "bias"]):
            return False  # built from its arrays: the book's form, whatever the class's name
        if any("init" in a or "opt" in a for a in args):
            return True
        return any(cls.__name__.lower().startswith(n) for n in NAMES)

    def supports_input(self, thing, kind, x_shape):
        if kind == "affine" and len(x_shape) > 2:
            return "(N, D) input only (the course flattens in a layer of its own)"
        return None

    def kind_of(self, cls: type) -> str | None:
        name = cls.__name__.lower()
        for n in sorted(NAMES, key=len, reverse=True):  # MaxPool2DSpread: a maxpool2d
            if name.startswith(n):
                return NAMES[n]
        if "1d" in name and "conv" in name:
            return "conv1d"
        if "pool" in name:
            return "pooling"
        if name.startswith(("fc", "affine", "dense", "linear", "full")):
            return "affine"
        return kind_from_name(cls.__name__)

    def _how(self, cls, kind) -> str:
        if kind:
            return "as asked"
        args = init_arguments(cls)
        return f"the DIVE INTO CODE form, from {cls.__name__}({', '.join(args)})"

    # -- building -------------------------------------------------------------------------
    def supports(self, thing, kind, geometry):
        plan = set(roles(thing, kind).values())
        if kind in ("convolution", "pooling"):
            fh, fw = _window(kind, geometry)
            square = "FS" in plan if kind == "convolution" else "PS" in plan
            if square and fh != fw:
                return "a square window only (one size argument)"
        if "stride" not in plan and kind in ("convolution", "conv1d") and geometry["stride"] != 1:
            return "stride 1 only (no stride argument)"
        if "stride" not in plan and kind == "pooling" and geometry["stride"] != geometry["pool_h"]:
            return "stride equal to the pool size only (no stride argument)"
        if "pad" not in plan and geometry.get("pad", 0) and kind != "affine":
            return "no padding (no padding argument)"
        if kind == "conv1d":
            layout = self._conv1d_layout(thing)
            if layout == "single" and geometry["W"].shape[:2] != (1, 1):
                return "one channel in, one filter only (the layer takes x of shape (L,))"
        return None

    def build(self, thing, kind, **geometry):
        plan = roles(thing, kind)
        W, b = geometry.get("W"), geometry.get("b")
        values = self._values(kind, geometry)
        kwargs = {}
        for arg, role in plan.items():
            if role == "initializer":
                kwargs[arg] = KnownArrays(W, b)
            elif role == "optimizer":
                kwargs[arg] = RecordingOptimizer()
            elif role in values:
                kwargs[arg] = values[role]
        layer = thing(**kwargs)
        if W is not None:
            set_array(layer, WEIGHT_ATTRS, W, "weights", self._weight_axes(thing, kind))
        if b is not None:
            set_array(layer, BIAS_ATTRS, b, "bias")
        if kind == "conv1d" and self._conv1d_layout(thing) != "batched":
            return PerSample(layer, self._conv1d_layout(thing))
        return layer

    def _values(self, kind: str, g: dict) -> dict:
        values = {"lr": 0.0, "sigma": 0.01, "none": None}
        if kind == "convolution":
            fn, c, fh, fw = g["W"].shape
            values.update(FN=fn, C=c, FH=fh, FW=fw, FS=fh, stride=g["stride"], pad=g["pad"])
        elif kind == "conv1d":
            fn, c, fl = g["W"].shape
            values.update(FN=fn, C=c, FL=fl, FS=fl, stride=g["stride"], pad=g["pad"])
        elif kind == "pooling":
            values.update(PH=g["pool_h"], PW=g["pool_w"], PS=g["pool_h"], stride=g["stride"],
                          pad=g["pad"])
        elif kind == "affine":
            values.update(IN=g["W"].shape[0], OUT=g["W"].shape[1])
        return values

    def _weight_axes(self, cls, kind: str) -> tuple[int, ...] | None:
        """How the class lays out its weights, found once by building it with sizes that are
        all different: the axes of the book's W that make its own (None: as the book)."""
        key = (cls, kind, "axes")
        if key not in self._layouts:
            self._layouts[key] = probe_weight_axes(self, cls, kind)
        return self._layouts[key]

    def _conv1d_layout(self, cls) -> str:
        """How the class takes its input: "batched" (N, C, L), "sample" (C, L) or "single"
        (L,), found once by trying a layer on each."""
        if cls not in self._layouts:
            self._layouts[cls] = probe_conv1d(self, cls)
        return self._layouts[cls]

    # -- reading ---------------------------------------------------------------------------
    def parameters(self, layer):
        if isinstance(layer, PerSample):
            layer = layer.base
        return {"W": get_array(layer, WEIGHT_ATTRS), "b": get_array(layer, BIAS_ATTRS)}

    def gradients(self, layer):
        if isinstance(layer, PerSample):
            return layer.gradients()
        return {"W": gradient(layer, WEIGHT_GRADS, WEIGHT_ATTRS),
                "b": gradient(layer, BIAS_GRADS, BIAS_ATTRS)}


def is_layer_class(cls: type) -> bool:
    """Has forward and backward, and is not a whole network (``ScratchCNNClassifier``)."""
    name = cls.__name__.lower()
    return (callable(getattr(cls, "forward", None)) and callable(getattr(cls, "backward", None))
            and not any(w in name for w in ("net", "classifier", "regressor", "model")))


def _window(kind: str, g: dict) -> tuple[int, int]:
    if kind == "convolution":
        return g["W"].shape[2], g["W"].shape[3]
    return g["pool_h"], g["pool_w"]


class PerSample:
    """A Conv1d that takes one sample, (C, L) or (L,), run on each sample of a batch with its
    own copy; the batch's dW and dB are the sums, as for a layer that takes the batch."""

    def __init__(self, base, layout: str) -> None:
        self.base, self.layout, self.copies = base, layout, []

    def forward(self, x):
        self.copies = [copy.deepcopy(self.base) for _ in range(len(x))]
        outs = [c.forward(self._one(xi)) for c, xi in zip(self.copies, x, strict=True)]
        return np.stack([np.asarray(o).reshape(-1, np.shape(o)[-1]) for o in outs])

    def backward(self, dout):
        dx = [c.backward(self._one(d)) for c, d in zip(self.copies, dout, strict=True)]
        return np.stack([np.asarray(d).reshape(-1, np.shape(d)[-1]) for d in dx])

    def _one(self, a):
        return a[0] if self.layout == "single" else a

    def gradients(self) -> dict:
        grads = {"W": [], "b": []}
        for c in self.copies:
            grads["W"].append(gradient(c, WEIGHT_GRADS, WEIGHT_ATTRS))
            grads["b"].append(gradient(c, BIAS_GRADS, BIAS_ATTRS))
        out = {}
        for name, values in grads.items():
            if not values or any(v is None for v in values):
                out[name] = None
                continue
            total = np.sum([np.asarray(v) for v in values], axis=0)
            want = getattr(get_array(self.base, WEIGHT_ATTRS if name == "W" else BIAS_ATTRS),
                           "shape", None)
            out[name] = total.reshape(want) if want and total.size == int(np.prod(want)) \
                else total  # a single-channel layer's (FL,) read as (1, 1, FL)
        return out


def probe_weight_axes(adapter: DicProfile, cls, kind: str) -> tuple[int, ...] | None:
    """Build the class with weights whose sizes are all different and see how it keeps them."""
    shapes = {"convolution": (5, 2, 3, 4), "conv1d": (5, 2, 3), "affine": (3, 5)}
    if kind not in shapes:
        return None
    W = np.zeros(shapes[kind])
    if kind == "convolution" and "FS" in roles(cls, kind).values():
        W = np.zeros((5, 2, 3, 3))  # a square filter: FH and FW taken in order
    g = {"W": W, "b": np.zeros(W.shape[1] if kind == "affine" else W.shape[0]), "stride": 1,
         "pad": 0}
    try:
        values = adapter._values(kind, g)
        kwargs = {a: (KnownArrays(W, g["b"]) if r == "initializer" else RecordingOptimizer()
                      if r == "optimizer" else values.get(r)) for a, r in roles(cls, kind).items()
                  if r in values or r in ("initializer", "optimizer")}
        layer = cls(**kwargs)
    except Exception:  # the checks will show what fails when it is built for them
        return None
    have = next((v.shape for n in WEIGHT_ATTRS if isinstance(v := vars(layer).get(n), np.ndarray)
                 and v.size == W.size), None)
    if have is None or have == W.shape:
        return None
    return permutation(W.shape, have, greedy=True)


def probe_conv1d(adapter: DicProfile, cls) -> str:
    """Try a small Conv1d on (N, C, L), (C, L) and (L,) input: the first that gives an array
    of the right rank decides; "batched" when none does (its checks then say what failed)."""
    p = _PROBE
    rng = np.random.default_rng(0)
    for layout, fn, c, x in (
            ("batched", p["FN"], p["C"], rng.standard_normal((p["N"], p["C"], p["L"]))),
            ("sample", p["FN"], p["C"], rng.standard_normal((p["C"], p["L"]))),
            ("single", 1, 1, rng.standard_normal(p["L"]))):
        W, b = rng.standard_normal((fn, c, p["FL"])), rng.standard_normal(fn)
        try:
            plan = roles(cls, "conv1d")
            values = adapter._values("conv1d", {"W": W, "b": b, "stride": 1, "pad": 0})
            kwargs = {a: (KnownArrays(W, b) if r == "initializer" else RecordingOptimizer()
                          if r == "optimizer" else values.get(r)) for a, r in plan.items()
                      if r in values or r in ("initializer", "optimizer")}
            layer = cls(**kwargs)
            set_array(layer, WEIGHT_ATTRS, W if layout != "single" else W.reshape(-1),
                      "weights")
            y = np.asarray(layer.forward(x))
        except Exception:  # this layout is not the one: try the next
            continue
        if y.ndim == x.ndim and (layout != "batched" or y.shape[0] == p["N"]):
            return layout
    return "batched"


__all__ = ["DicProfile", "PerSample", "Unsupported"]
