"""Sequential: layers in order, with derived names (the book's ``OrderedDict`` of layers, §7.5).

The book's SimpleConvNet typed its parameter keys by hand (``'W1'``, ``'b1'``...) and
re-linked them to layers in three places. Here a model names each layer from its class
(``conv1``, ``relu1``, ``pool1``...) and each parameter from its layer (``conv1.W``), so the
optimizer, the checkpoint and the user all see the same names and nobody types them.
"""

from __future__ import annotations

import copy
import ctypes
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .backend.arrays import (
    as_numpy,
    device_of,
    get_array_module,
    parse_device,
    require_cuda,
    to_device,
)
from .errors import ConfigError, DataError, ShapeError
from .i18n import _, pad_columns, text_width
from .layers import LAYER_CLASSES, Layer, is_random
from .losses import SoftmaxCrossEntropy
from .training.shards import ShardRunner, resolve_threads, thread_budget
from .validate import first_nonfinite

#: How much working memory predict() may use for activations, by default: small enough for a
#: 4 GB laptop with everything else running; the chunk size is derived from it.
DEFAULT_MEMORY_BUDGET = 64 * 2**20


def _keep_freed_chunks() -> None:
    """Let the C allocator keep the memory one chunk frees for the next chunk.

    glibc gives freed memory at the top of its heap back to the system once more than its
    *trim threshold* is free, and a young process's threshold is low: it rises only when a
    large block is freed. Predicting chunk after chunk, nothing stays allocated in between, so
    each chunk's pages went back and were faulted in again: 170,000-214,000 page faults per
    10,000 images in a fresh process, 1.1 s instead of 0.6 at 1 thread (issue 25; a process
    that had freed any large array before, as the benchmark's worker had, never saw it).
    Freeing one untouched 24 MiB block raises glibc's thresholds to 24 and 48 MiB, by its own
    rule. Elsewhere (another C library, none found) this does nothing that matters.
    """
    try:
        libc = ctypes.CDLL(None)
        libc.malloc.restype = ctypes.c_void_p
        libc.free.argtypes = [ctypes.c_void_p]
        libc.free(libc.malloc(24 << 20))
    except (OSError, AttributeError, TypeError):
        pass


class Sequential:
    """A stack of layers applied in order, ending in logits; the loss sits outside, at the end.

    Parameters
    ----------
    layers : a list of layers (named ``conv1``, ``relu1``... from their classes) or a dict
        ``{name: layer}``.
    input_shape : the shape of one sample, e.g. (1, 28, 28); used for ``summary()``, memory
        estimates and checkpoints.

    Shapes
    ------
    forward: x (N, *input_shape) -> logits (N, classes); predict -> probabilities (N, classes).
    """

    def __init__(self, layers: Iterable[Layer] | dict[str, Layer],
                 input_shape: tuple[int, ...]) -> None:
        named = dict(layers) if isinstance(layers, dict) else _derive_names(list(layers))
        if not named:
            raise ConfigError(_("Sequential needs at least one layer"))
        for name, layer in named.items():
            if not isinstance(layer, Layer):
                raise ConfigError(_("{name!r} is not a tatamu layer: {layer!r}",
                                    name=name, layer=layer))
            if "." in name:
                raise ConfigError(_("layer names may not contain '.': {name!r}", name=name))
            layer.name = name
        self.layers: dict[str, Layer] = named
        self.input_shape = tuple(int(s) for s in input_shape)
        self.loss_fn = SoftmaxCrossEntropy()
        # Nobody reads the gradient w.r.t. the input images: the first layer skips it (saves
        # a col2im per step). Saliency maps turn it back on.
        next(iter(named.values())).needs_input_grad = False
        self.output_shapes = self._infer_shapes()
        self.train()

    # -- forward and backward, side by side --------------------------------------------------
    def forward(self, x):
        """Logits for a batch: every layer's forward in order."""
        _check_batch(x)
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def backward(self, dout):
        """Every layer's backward in reverse order; returns dx (None if the first layer skips)."""
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        return dout

    def loss(self, x, labels) -> float:
        """Mean softmax cross-entropy of the batch (the book's ``network.loss``)."""
        return self.loss_fn.forward(self.forward(x), labels)

    def gradient(self, x, labels) -> float:
        """Forward, loss and backward: fills every layer's gradients; returns the loss."""
        loss = self.loss(x, labels)
        self.backward(self.loss_fn.backward())
        return loss

    # -- names ------------------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        """Every trainable array, keyed ``"conv1.W"``: the same arrays the layers use."""
        return {f"{n}.{k}": v for n, layer in self.layers.items()
                for k, v in layer.params().items()}

    def grads(self) -> dict[str, Any]:
        """Every gradient from the last backward, keyed like :meth:`params`."""
        return {f"{n}.{k}": v for n, layer in self.layers.items()
                for k, v in layer.grads().items()}

    def buffers(self) -> dict[str, Any]:
        """Saved, untrained arrays (BatchNorm running statistics), keyed ``"bn1.running_mean"``."""
        return {f"{n}.{k}": v for n, layer in self.layers.items()
                for k, v in layer.buffers().items()}

    def replica(self) -> Sequential:
        """A model that shares this one's parameter arrays but has its own caches and gradients.

        For running another part of a batch on another thread (:mod:`tatamu.training.shards`): an
        optimizer step on this model's parameters is seen by the replica, while each keeps
        what its own backward needs. Random layers get their own copy of the Generator.
        """
        twin = copy.copy(self)
        twin.layers = {}
        for name, layer in self.layers.items():
            twin.layers[name] = copy.copy(layer)  # shares W and b, not the caches set later
            if is_random(layer):
                twin.layers[name].rng = copy.deepcopy(layer.rng)
        twin.loss_fn = copy.copy(self.loss_fn)
        return twin

    def __getitem__(self, name: str) -> Layer:
        return self.layers[name]

    def __iter__(self):
        return iter(self.layers.values())

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the parameters (float32 unless built otherwise)."""
        for value in self.params().values():
            return value.dtype
        return np.dtype(np.float32)

    @property
    def device(self) -> str:
        """Where the parameters live: ``"cpu"`` (NumPy) or ``"cuda"``/``"cuda:N"`` (CuPy)."""
        for value in self.params().values():
            return device_of(value)
        return getattr(self, "_device", "cpu")

    def to(self, device: str) -> Sequential:
        """Move the model to ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:N"``); returns it.

        Parameters, gradients and buffers move; an optimizer's state follows its parameters at
        the next step (it is kept per parameter name and re-placed when the parameter moved).
        Data stays where it is: ``fit``, ``evaluate`` and ``predict`` move each batch to the
        model's device as it is used, so a dataset never has to fit in GPU memory. Checkpoints
        are always written as NumPy, so a GPU-trained model loads on a CPU-only machine.
        Without CuPy or a GPU, ``DeviceError`` says which is missing and how to install it.
        """
        device = parse_device(device)
        if device != "cpu":
            require_cuda(device)  # one clear line before anything moves
        for layer in self.layers.values():
            layer.to(device)
        self._device = device
        return self

    @property
    def num_classes(self) -> int:
        return int(self.output_shapes[-1][-1])

    def num_params(self) -> int:
        return int(sum(v.size for v in self.params().values()))

    # -- modes ------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Sequential:
        """Training mode for every layer (Dropout drops, BatchNorm uses batch statistics)."""
        for layer in self.layers.values():
            layer.train(mode)
        self.training = mode
        return self

    def eval(self) -> Sequential:
        """Inference mode for every layer: deterministic, nothing cached."""
        return self.train(False)

    # -- inference --------------------------------------------------------------------------
    def predict(self, x, batch_size: int | None = None,
                memory_budget: int = DEFAULT_MEMORY_BUDGET, *, threads: int | None = None):
        """Class probabilities for any number of samples, in memory-bounded chunks.

        The chunk size comes from ``memory_budget`` (bytes of activations) unless
        ``batch_size`` is given, so 10,000 or 1,000,000 images (a ``np.memmap`` streams from
        disk) use the same working memory. Each chunk is split over ``threads`` threads (None:
        :func:`tatamu.training.shards.default_threads`), which share the chunk's budget. Runs in
        eval mode and restores the previous mode.

        Shapes: x (N, *input_shape) -> (N, classes) float, the model's dtype.
        """
        _check_batch(x)
        xp = get_array_module(x)  # the result lives where the input lives
        chunk = batch_size or self.chunk_size(memory_budget)
        budget = thread_budget(threads)
        threads = resolve_threads(budget, self, training=False)
        out = None
        was_training = self.training
        self.eval()
        if xp is np:
            _keep_freed_chunks()
        try:
            with ShardRunner(self, threads, budget) as runner:
                for start in range(0, len(x), chunk):
                    part = self.as_input(x[start : start + chunk])
                    _check_finite(part, start)

                    def probabilities(replica, a, b, part=part):
                        return softmax(replica.forward(part[a:b]))

                    for a, b, probs in runner.run(probabilities, len(part)):
                        if xp is np:  # NumPy in, NumPy out, whatever the model's device
                            probs = as_numpy(probs)
                        if out is None:
                            out = xp.empty((len(x), probs.shape[1]), dtype=probs.dtype)
                        out[start + a : start + b] = probs
        finally:
            self.train(was_training)
        if out is None:
            raise ShapeError(_("predict() got no samples (an empty array)"))
        return out

    def chunk_size(self, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> int:
        """Samples per chunk so that one chunk's activations fit ``memory_budget`` bytes."""
        return max(1, int(memory_budget // self.bytes_per_sample()))

    def bytes_per_sample(self) -> int:
        """A generous estimate of the working memory one sample needs in a forward pass.

        Each layer's output plus its scratch memory (:meth:`Layer.scratch_size`: the unfolded
        windows of im2col), twice over for the temporaries NumPy makes along the way.
        """
        itemsize = self.dtype.itemsize
        total = math.prod(self.input_shape)
        shape = self.input_shape
        for layer, out_shape in zip(self.layers.values(), self.output_shapes, strict=True):
            total += math.prod(out_shape) + layer.scratch_size(shape)
            shape = out_shape
        return 2 * total * itemsize

    def as_input(self, x):
        """A batch ready for the model: cast float input to the model's dtype (float64 data
        into a float32 model is common) and moved to the model's device (data stays on the
        host until its batch is used)."""
        if getattr(x, "dtype", None) is not None and x.dtype.kind == "f" and x.dtype != self.dtype:
            x = x.astype(self.dtype)
        device = self.device
        if device != device_of(x):
            x = to_device(x, device)
        return x

    # -- description ------------------------------------------------------------------------
    def _infer_shapes(self) -> list[tuple[int, ...]]:
        shapes, shape = [], self.input_shape
        for layer in self.layers.values():
            shape = tuple(layer.output_shape(shape))
            shapes.append(shape)
        return shapes

    def summary_rows(self) -> list[tuple[str, str, str, str]]:
        """The summary's rows: (layer, type, output shape, parameter count), input first."""
        rows = [(_("input"), "", _fmt_shape(self.input_shape), "")]
        for (name, layer), shape in zip(self.layers.items(), self.output_shapes, strict=True):
            count = sum(v.size for v in layer.params().values())
            rows.append((name, type(layer).__name__, _fmt_shape(shape), f"{count:,}"))
        return rows

    def summary(self) -> str:
        """A table of layers with their output shapes and parameter counts."""
        rows = [_summary_header(), *self.summary_rows()]
        widths = [max(text_width(r[i]) for r in rows) for i in range(4)]  # Japanese is 2 wide
        lines = [
            "  ".join(
                pad_columns(cell, w, right=i == 3)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
            for row in rows
        ]
        rule = "-" * max(text_width(line) for line in lines)
        return "\n".join(
            [lines[0], rule, *lines[1:], rule,
             _("total parameters: {count:,}", count=self.num_params())]
        )

    def _repr_html_(self) -> str:
        """The summary as an HTML table: how a notebook cell shows a model."""
        from .display import table_html

        return table_html(_summary_header(), self.summary_rows(),
                          caption=_("Sequential ({dtype}, one sample's shape, no batch axis)",
                                    dtype=self.dtype),
                          footer=_("total parameters: {count:,}", count=self.num_params()),
                          numeric=(3,))

    def config(self) -> dict[str, Any]:
        """Everything needed to rebuild the architecture (not the weights), JSON-friendly."""
        return {
            "input_shape": list(self.input_shape),
            "layers": [
                {"name": name, "class": layer.layer_type, "config": layer.config()}
                for name, layer in self.layers.items()
            ],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """Rebuild a model (with fresh weights) from :meth:`config`'s output."""
        try:
            layers = {}
            for spec in config["layers"]:
                layer_cls = layer_class(spec["class"])
                layers[spec["name"]] = layer_cls(**spec["config"])
            return cls(layers, tuple(config["input_shape"]))
        except (KeyError, TypeError) as exc:
            raise ConfigError(_("not a valid tatamu model config: {exc!r}", exc=exc)) from exc

    def __repr__(self) -> str:
        inner = "\n".join(f"  ({n}): {layer!r}" for n, layer in self.layers.items())
        return f"Sequential(input_shape={self.input_shape},\n{inner}\n)"


def layer_class(name: str) -> type[Layer]:
    """The layer class a config names, or a ConfigError saying how to make it known."""
    try:
        return LAYER_CLASSES[name]
    except (KeyError, TypeError):
        raise ConfigError(
            _("not a valid tatamu model config: unknown layer class {name!r}. A layer of your "
              "own is known once the module defining it (a subclass of tatamu.layers.Layer) is "
              "imported: import it before loading", name=name), param="class", value=name) from None


def _check_batch(x) -> None:
    """A batch is an array (N, ...) with N >= 1; say so plainly otherwise."""
    if not hasattr(x, "ndim"):
        raise ShapeError(
            _("expected an array (N, ...); got {type}: convert with np.asarray(x)",
              type=type(x).__name__)
        )
    if x.ndim < 1:
        raise ShapeError(_("expected a batch (N, ...); got a scalar. For one sample use x[None]."))
    if len(x) == 0:
        raise ShapeError(_("got no samples (an empty batch of shape {shape})", shape=x.shape))


def _check_finite(part, start: int) -> None:
    """Refuse a chunk with NaN or inf, naming the first bad sample (``start`` is its offset)."""
    bad = first_nonfinite(part)
    if bad is not None:
        raise DataError(_("predict(): sample {value} contains NaN or inf values; clean the "
                          "input first", value=start + bad))


def softmax(logits):
    """Row-wise softmax, stable for large logits. Shapes: (N, K) -> (N, K)."""
    xp = get_array_module(logits)
    e = xp.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _derive_names(layers: list[Layer]) -> dict[str, Layer]:
    counts: dict[str, int] = {}
    named = {}
    for layer in layers:
        # getattr: a non-layer gets a name too, and Sequential then refuses it by that name
        prefix = getattr(layer, "prefix", "") or type(layer).__name__.lower()
        counts[prefix] = counts.get(prefix, 0) + 1
        named[f"{prefix}{counts[prefix]}"] = layer
    return named


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _summary_header() -> tuple[str, str, str, str]:
    """The summary's column names, in the current language."""
    return (_("layer"), _("type"), _("output shape"), _("params"))
