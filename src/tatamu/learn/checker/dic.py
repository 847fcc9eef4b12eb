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
from .kinds import kind_from_name

#: Class names the course uses (and close variants), and their kinds.
NAMES = {"conv2d": "convolution", "conv1d": "conv1d", "simpleconv1d": "conv1d",
         "simpleconv2d": "convolution", "maxpool2d": "pooling", "maxpooling2d": "pooling",
         "maxpool": "pooling", "pool2d": "pooling", "fc": "affine", "fullyconnected": "affine"}
#: The size roles of each kind, in the course's order (what unnamed arguments are taken as).
ORDER = {"convolution": ("FN", "C", "FH", "FW", "stride", "pad"),
         "conv1d": ("FN", "C", "FL", "stride", "pad"),
         "pooling": ("PH", "PW", "stride", "pad"),
         "affine": ("IN", "OUT")}
#: lower-case argument name -> role.
ROLE_NAMES = {
    "FN": {"fn", "f", "n_f", "nf", "filter_num", "num_filter", "num_filters", "n_filter",
           "n_filters", "filters", "n_out", "out_channels", "out_channel", "output_channels",
           "out_ch", "n_output_channels", "oc", "c_out", "m", "filter_n", "n_kernels",
           "output_channel", "output_ch", "out_c"},
    "C": {"c", "ch", "channel", "channels", "in_channels", "in_channel", "input_channels",
          "input_channel", "n_channels", "n_channel", "in_ch", "input_ch", "ic", "c_in", "n_c",
          "n_input_channels", "in_c"},
    "FH": {"fh", "filter_h", "filter_height", "kh", "kernel_h", "kernel_height", "f_h", "hf",
           "h_filter", "filter_height_size"},
    "FW": {"fw", "filter_w", "filter_width", "kw", "kernel_w", "kernel_width", "f_w", "wf",
           "w_filter"},
    "FS": {"filter_size", "kernel_size", "fs", "ks", "f_size", "k_size", "ksize", "k",
           "kernel", "filter_len", "filter_length", "fl", "f_l", "l_filter", "size",
           "filter", "window", "n_filter_size", "kernel_length"},
    "PH": {"pool_h", "ph", "pool_height", "p_h", "kh", "fh", "h", "height", "pool_size_h",
           "filter_h"},
    "PW": {"pool_w", "pw", "pool_width", "p_w", "kw", "fw", "w", "width", "pool_size_w",
           "filter_w"},
    "PS": {"pool_size", "pool", "ps", "size", "kernel_size", "k", "window", "window_size",
           "filter_size", "pool_len", "pooling_size", "f", "n_pool"},
    "IN": {"n_nodes1", "n_in", "n_input", "n_inputs", "input_size", "in_features", "input_dim",
           "in_dim", "d", "n_features", "n_prev", "prev", "in_size", "n_node1", "nodes1",
           "n_nodes_in", "input_nodes", "n_input_nodes", "in_nodes"},
    "OUT": {"n_nodes2", "n_out", "n_output", "n_outputs", "output_size", "out_features",
            "output_dim", "out_dim", "m", "n_nodes", "units", "n_units", "out_size", "n_next",
            "n_node2", "nodes2", "n_nodes_out", "output_nodes", "n_output_nodes", "out_nodes"},
    "stride": {"s", "st", "stride", "strides", "stride_size", "n_stride"},
    "pad": {"p", "pad", "padding", "pad_size", "pa", "zero_pad", "zero_padding", "n_pad",
            "padding_size", "pad_num"},
    "lr": {"lr", "alpha", "learning_rate", "eta"},
    "sigma": {"sigma", "std", "scale", "weight_scale"},
}
WEIGHT_ATTRS = ("W", "w", "weight", "weights", "Weight", "filter", "filters", "kernel", "K")
BIAS_ATTRS = ("B", "b", "bias", "biases", "Bias")
WEIGHT_GRADS = ("dW", "dw", "d_W", "d_w", "dweight", "dWeight", "dweights", "grad_W", "dK",
                "dfilter")
BIAS_GRADS = ("dB", "db", "d_B", "d_b", "dbias", "dBias", "grad_B", "grad_b")
#: how many rows a probe of Conv1d's input layout uses
_PROBE = {"N": 2, "C": 2, "L": 7, "FN": 3, "FL": 3}


class KnownArrays:
    """An initializer that answers any method (``W``, ``B``, ``B_zeros``, ``init_W``...) with
    the array the checks need, in the shape asked: the weights when the size is theirs, else
    the bias, else zeros. ``calls`` records (method, shape)."""

    def __init__(self, W: np.ndarray | None, b: np.ndarray | None) -> None:
        self._W, self._b = W, b
        self.calls: list[tuple[str, tuple[int, ...]]] = []

    def __getattr__(self, method: str):
        if method.startswith("__"):
            raise AttributeError(method)

        def answer(*args, **kwargs):
            shape = _shape_of(args, kwargs)
            self.calls.append((method, shape))
            return self._array(method, shape)
        return answer

    def _array(self, method: str, shape: tuple[int, ...]) -> np.ndarray:
        size = int(np.prod(shape)) if shape else 1
        bias_like = "b" in method.lower() and "w" not in method.lower()
        order = [self._b, self._W] if bias_like else [self._W, self._b]
        for array in order:
            if array is not None and array.size == size:
                return _in_shape(array, shape).copy()
        return np.zeros(shape)


def _shape_of(args, kwargs) -> tuple[int, ...]:
    """The shape an initializer call asks for: ``W(3, 2, 3, 3)`` or ``W((3, 2, 3, 3))``; other
    arguments (a sigma, a name) are not sizes."""
    sizes = []
    for a in list(args) + [v for k, v in kwargs.items() if "shape" in k or "size" in k
                           or k.startswith("n")]:
        if isinstance(a, (tuple, list)) and all(isinstance(v, (int, np.integer)) for v in a):
            sizes.extend(int(v) for v in a)
        elif isinstance(a, (int, np.integer)) and not isinstance(a, bool):
            sizes.append(int(a))
    return tuple(sizes)


def _in_shape(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``array`` in ``shape``: itself, a permutation of its axes when the sizes are all
    different (``(FH, FW, C, FN)``), else reshaped (``(1, FN)`` for a bias)."""
    if tuple(array.shape) == tuple(shape) or not shape:
        return array if shape else array.reshape(())
    axes = permutation(array.shape, shape)
    return array.transpose(axes) if axes is not None else array.reshape(shape)


def permutation(have, want, greedy: bool = False) -> tuple[int, ...] | None:
    """The axes that turn shape ``have`` into ``want``, when the sizes tell them apart (or,
    ``greedy``, taking equal sizes in order: (5, 2, 3, 3) -> (3, 3, 2, 5) is (2, 3, 1, 0))."""
    if len(have) != len(want) or sorted(have) != sorted(want):
        return None
    if len(set(have)) != len(have) and not greedy:
        return None
    free = list(range(len(have)))
    axes = []
    for size in want:
        axis = next(a for a in free if have[a] == size)
        free.remove(axis)
        axes.append(axis)
    return tuple(axes)


class RecordingOptimizer:
    """An optimizer whose every method (``update(layer)``...) records the call, changes
    nothing, and returns its first argument (so ``self = self.optimizer.update(self)``
    works)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, method: str):
        if method.startswith("__"):
            raise AttributeError(method)

        def record(*args, **kwargs):
            self.calls.append(method)
            return args[0] if args else None
        return record


def roles(cls: type, kind: str) -> dict[str, str]:
    """argument name -> role, for ``cls.__init__``: by the name, then in the course's order."""
    try:
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    except (TypeError, ValueError):
        return {}
    params = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                              p.KEYWORD_ONLY)]
    wanted = set(ORDER.get(kind, ())) | {"FS", "PS"}
    found: dict[str, str] = {}
    for p in params:
        low = p.name.lower()
        if "init" in low:
            found[p.name] = "initializer"
        elif "opt" in low:
            found[p.name] = "optimizer"
        else:
            for role, names in ROLE_NAMES.items():
                if low in names and (role in wanted or role in ("stride", "pad", "lr",
                                                                "sigma")):
                    if role not in found.values() or role in ("lr", "sigma"):
                        found[p.name] = role
                        break
    _pool_p_is_size(kind, params, found)
    if kind == "conv1d":  # one filter-size argument: the length
        found = {k: ("FL" if v == "FS" else v) for k, v in found.items()}
    left = [r for r in ORDER.get(kind, ()) if r not in found.values()
            and not _covered(r, found.values())]
    for p in params:
        if p.name in found or not left or p.kind == p.KEYWORD_ONLY or not_a_size(p.name):
            continue
        if p.default is p.empty or isinstance(p.default, (int, np.integer)):
            found[p.name] = left.pop(0)
    for p in params:  # required and of no role we know (an activation...): given None
        if p.name not in found and p.default is p.empty:
            found[p.name] = "none"
    return found


#: words in an argument's name that say it is not a size (never given a size by position)
NOT_SIZES = ("activ", "act_", "func", "name", "dtype", "seed", "rng", "random", "verbose",
             "bias", "weight", "mode", "method", "type", "flag", "use_")


def not_a_size(name: str) -> bool:
    low = name.lower()
    return low == "act" or any(word in low for word in NOT_SIZES)


def _covered(role: str, taken) -> bool:
    """FH and FW are covered by one square size FS (PH, PW by PS)."""
    taken = set(taken)
    return (role in ("FH", "FW") and "FS" in taken) or (role in ("PH", "PW") and "PS" in taken)


def _pool_p_is_size(kind: str, params, found: dict) -> None:
    """``MaxPool2D(P)``: a lone P is the pool's size, not a padding."""
    if kind != "pooling":
        return
    sizes = {"PH", "PW", "PS"} & set(found.values())
    for p in params:
        if p.name.lower() == "p" and found.get(p.name) == "pad" and not sizes:
            found[p.name] = "PS"


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


def set_array(layer, names, value: np.ndarray, what: str,
              axes: tuple[int, ...] | None = None) -> None:
    """Put the checks' ``value`` where the layer keeps its ``what`` (its own attribute name and
    layout: ``W`` or ``w``, ``(FN, C, FH, FW)`` or ``(FH, FW, C, FN)``, a bias ``(1, FN)``),
    and remember the layout (``_tatamu_layout``) to read it back in the book's."""
    attrs = vars(layer)
    for name in names:
        have = attrs.get(name)
        if not (isinstance(have, np.ndarray) and have.size == value.size):
            continue
        if axes is not None and value.transpose(axes).shape == have.shape:
            layout = ("axes", tuple(axes))  # the class's own layout, found by a probe
        elif have.shape == value.shape:
            layout = None
        elif permutation(value.shape, have.shape) is not None:
            layout = ("axes", permutation(value.shape, have.shape))
        else:
            layout = ("shape", tuple(value.shape))
        setattr(layer, name, np.ascontiguousarray(to_theirs(value, layout, have.shape)))
        layer.__dict__.setdefault("_tatamu_layout", {})[name] = layout
        return
    for name in names:  # none made yet: the book's name, the book's shape
        if name in attrs and attrs[name] is None:
            setattr(layer, name, value.copy())
            return
    if what == "bias":
        return  # a layer without a bias: its checks say so
    raise ValueError(f"no {what} array found on the layer after __init__ (looked for "
                     f"{', '.join(names[:4])}...): keep them as self.W, as the course does")


def to_theirs(value: np.ndarray, layout, shape) -> np.ndarray:
    if layout is None:
        return value
    return value.transpose(layout[1]) if layout[0] == "axes" else value.reshape(shape)


def to_book(value: np.ndarray, layout) -> np.ndarray:
    """Their array in the book's layout: a view, so writes reach theirs."""
    if layout is None:
        return value
    if layout[0] == "axes":
        return value.transpose(np.argsort(layout[1]))
    return value.reshape(layout[1])


def get_array(layer, names):
    """The layer's own array seen in the book's shape (a view: writes reach the layer)."""
    for name in names:
        value = getattr(layer, name, None) if name in vars(layer) else None
        if isinstance(value, np.ndarray):
            return to_book(value, getattr(layer, "_tatamu_layout", {}).get(name))
    return None


def gradient(layer, grad_names, param_names):
    """The layer's gradient (``dW``, ``dw``...) in the book's layout when its parameter is
    kept in another (and the gradient has the parameter's shape)."""
    layouts = getattr(layer, "_tatamu_layout", {})
    param = next((p for p in param_names if p in vars(layer)
                  and isinstance(vars(layer)[p], np.ndarray)), None)
    for name in grad_names:
        value = getattr(layer, name, None)
        if value is None:
            continue
        layout = layouts.get(param) if param else None
        if layout is not None and np.shape(value) == np.shape(getattr(layer, param)):
            return to_book(np.asarray(value), layout)
        return value
    return None


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


__all__ = ["DicProfile", "KnownArrays", "RecordingOptimizer", "Unsupported", "roles"]
