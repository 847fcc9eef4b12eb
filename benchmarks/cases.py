"""The timed cases run inside one worker process: inference, single layers and the machine's
GEMM rate. Each returns a JSON-friendly dict. (SimpleConvNet epochs and DeepConvNet steps run
each library in its own processes: ``benchmarks/epochs.py``.)

Both sides get the same float32 data and the same weights (the torch twin copies them).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from tatamu import layers as tl
from tatamu.models import simple_convnet

from .timing import compare, interleave, mean_of, timed
from .twins import layer_twin, model_twin

BATCH = 100


# -- inference ------------------------------------------------------------------------------
def predict_torch(model, images: torch.Tensor, chunk: int) -> torch.Tensor:
    """What ``Sequential.predict`` does, in PyTorch: softmax of chunks, written into one
    preallocated result (keeping every chunk's output alive instead costs torch ~7 MB a chunk
    of 117 images: 500+ MB for the 10,000 test images)."""
    model.eval()
    out = None
    with torch.inference_mode():
        for start in range(0, len(images), chunk):
            probs = F.softmax(model(images[start : start + chunk]), 1)
            if out is None:
                out = torch.empty((len(images), probs.shape[1]), dtype=probs.dtype)
            out[start : start + len(probs)] = probs
    return out


def predict_simple(data, quick: bool, reps: int) -> dict:
    """Probabilities for the 10,000 test images; PyTorch in chunks of the same size."""
    _, (x, _) = data
    model = simple_convnet(rng=0)
    twin = model_twin(model).eval()
    chunk = model.chunk_size()
    xt = torch.from_numpy(x)

    def torch_predict():
        return predict_torch(twin, xt, chunk)

    assert np.allclose(model.predict(x), torch_predict().numpy(), atol=1e-4)
    seconds = interleave({"tatamu": lambda: timed(lambda: model.predict(x)),
                          "torch": lambda: timed(torch_predict)}, reps)
    result = compare(seconds["tatamu"], seconds["torch"])
    result.update(images=len(x), chunk=chunk)
    return result


# -- single layers --------------------------------------------------------------------------
def _conv(*args, **kw):
    return lambda: tl.Conv2D(*args, **kw, rng=0)


#: (name, layer factory, input shape); batch 100 unless stated.
LAYERS = [
    ("Conv2D 1->30 5x5, 28x28", _conv(1, 30, 5), (BATCH, 1, 28, 28)),
    ("Conv2D 16->32 3x3 pad 1, 14x14", _conv(16, 32, 3, padding=1), (BATCH, 16, 14, 14)),
    ("Conv2D 16->32 3x3 s2 d2 pad 2, 27x27", _conv(16, 32, 3, 2, 2, 2), (BATCH, 16, 27, 27)),
    ("Conv1D 32->64 k5, L=1000", lambda: tl.Conv1D(32, 64, 5, rng=0), (BATCH, 32, 1000)),
    ("MaxPool2D 2x2, 30x24x24", lambda: tl.MaxPool2D(2), (BATCH, 30, 24, 24)),
    ("MaxPool2D 3x3 s2 (overlap), 30x25x25", lambda: tl.MaxPool2D(3, 2), (BATCH, 30, 25, 25)),
    ("AvgPool2D 2x2, 30x24x24", lambda: tl.AvgPool2D(2), (BATCH, 30, 24, 24)),
    ("Linear 4320->100", lambda: tl.Linear(4320, 100, rng=0), (BATCH, 4320)),
]


def forward_flops(layer, x_shape, y_shape) -> float:
    """Multiply-adds x 2 of one forward pass (0 for layers without a matrix product)."""
    if isinstance(layer, tl.Conv2D):
        per_output = layer.W[0].size  # C/G * FH * FW products for every output element
        return 2.0 * math.prod(y_shape) * per_output
    if isinstance(layer, tl.Linear):
        return 2.0 * x_shape[0] * layer.in_features * layer.out_features
    return 0.0


def layer_case(make, shape, reps: int, inner: int) -> dict:
    """Forward and backward (dx, dW, db) seconds of one layer in tatamu and PyTorch."""
    rng = np.random.default_rng(0)
    layer = make()
    twin = layer_twin(layer)
    x = rng.random(shape, dtype=np.float32)
    y = layer.forward(x)
    dout = rng.standard_normal(y.shape, dtype=np.float32)
    xt, doutt = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(dout)

    def tatamu_backward() -> float:
        layer.forward(x)
        return timed(lambda: layer.backward(dout))

    def torch_backward() -> float:
        yt = twin(xt)
        xt.grad = None
        twin.zero_grad(set_to_none=True)
        return timed(lambda: yt.backward(doutt))

    runs = {
        "tatamu_fwd": lambda: mean_of(lambda: timed(lambda: layer.forward(x)), inner),
        "torch_fwd": lambda: mean_of(lambda: timed(lambda: twin(xt)), inner),
        "tatamu_bwd": lambda: mean_of(tatamu_backward, inner),
        "torch_bwd": lambda: mean_of(torch_backward, inner),
    }
    for run in runs.values():
        run()  # warm-up
    s = interleave(runs, reps)
    flops = forward_flops(layer, x.shape, y.shape)
    result = {"input": list(shape), "output": list(y.shape), "forward_flops": flops,
              "forward": compare(s["tatamu_fwd"], s["torch_fwd"]),
              "backward": compare(s["tatamu_bwd"], s["torch_bwd"])}
    if flops:  # backward does two products of the forward's size: dW and dx
        for step, factor in (("forward", 1.0), ("backward", 2.0)):
            for side in ("tatamu", "torch"):
                seconds = result[step][side]["median"]
                result[step][side]["gflops"] = factor * flops / seconds / 1e9
    return result


def layers(quick: bool) -> dict:
    reps, inner = (5, 3) if quick else (11, 5)
    return {name: layer_case(make, shape, reps, inner) for name, make, shape in LAYERS}


# -- the machine's GEMM rate ----------------------------------------------------------------
def gemm(quick: bool) -> dict:
    """Best float32 GFLOP/s of one big square matrix product, NumPy and torch."""
    n = 1024 if quick else 2048
    rng = np.random.default_rng(0)
    a, b = (rng.random((n, n), dtype=np.float32) for _ in range(2))
    at, bt = torch.from_numpy(a), torch.from_numpy(b)
    result = {"n": n}
    for side, fn in (("numpy", lambda: a @ b), ("torch", lambda: at @ bt)):
        fn()
        best = min(timed(fn) for _ in range(5 if quick else 9))
        result[side] = {"gflops": 2.0 * n**3 / best / 1e9, "seconds": best}
    return result
