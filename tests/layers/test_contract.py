"""The layer contract (STYLE.md §3.3), checked on every class in ``tatamu.layers.LAYER_CLASSES``.

A new layer class must get an entry in ``EXAMPLES`` (a way to build it and an input it
accepts); ``test_every_layer_class_has_an_example`` fails until it does.
"""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

from tatamu.errors import ShapeError, StateError
from tatamu.layers import LAYER_CLASSES as REGISTRY

# name -> (constructor kwargs, input shape)
EXAMPLES = {
    "Conv1D": ({"in_channels": 2, "out_channels": 3, "kernel_size": 3, "padding": 1}, (2, 2, 5)),
    "Conv2D": ({"in_channels": 2, "out_channels": 3, "kernel_size": 3, "stride": 2,
                "padding": 1}, (2, 2, 5, 5)),
    "Linear": ({"in_features": 12, "out_features": 3}, (2, 3, 2, 2)),
    "Flatten": ({}, (2, 3, 2, 2)),
    "ReLU": ({}, (2, 3, 4, 4)),
    "LeakyReLU": ({"negative_slope": 0.1}, (2, 3, 4)),
    "Sigmoid": ({}, (3, 5)),
    "Tanh": ({}, (2, 3, 4, 4)),
    "Dropout": ({"p": 0.5}, (4, 6)),
    "MaxPool1D": ({"kernel_size": 2}, (2, 2, 6)),
    "MaxPool2D": ({"kernel_size": 3, "stride": 2, "padding": 1}, (2, 2, 5, 5)),
    "AvgPool1D": ({"kernel_size": 3, "stride": 1, "padding": 1}, (2, 2, 6)),
    "AvgPool2D": ({"kernel_size": 2}, (2, 2, 4, 4)),
    "GlobalAvgPool2D": ({}, (2, 3, 4, 4)),
    "BatchNorm1D": ({"num_features": 3}, (4, 3)),
    "BatchNorm2D": ({"num_features": 3}, (2, 3, 4, 4)),
    # the book's layers (tatamu.layers.book) obey the same contract
    "Convolution": ({"W": np.linspace(-1, 1, 54).reshape(3, 2, 3, 3), "b": np.zeros(3),
                     "stride": 2, "pad": 1}, (2, 2, 5, 5)),
    "Pooling": ({"pool_h": 2, "pool_w": 2, "stride": 2}, (2, 2, 4, 4)),
    "Affine": ({"W": np.linspace(-1, 1, 36).reshape(12, 3), "b": np.zeros(3)}, (2, 3, 2, 2)),
    "Relu": ({}, (2, 3, 4, 4)),
}

#: tatamu's own layers (the registry also holds the layers tests define for themselves).
LAYER_CLASSES = {n: c for n, c in REGISTRY.items() if c.__module__.startswith("tatamu.")}
NAMES = sorted(LAYER_CLASSES)
DTYPES = [np.float32, np.float64]


def build(name, dtype=np.float32, rng=0, **extra):
    """The example layer of class ``name``: float ``dtype`` parameters, seeded randomness."""
    cls = LAYER_CLASSES[name]
    kwargs = {**EXAMPLES[name][0], **extra}
    signature = inspect.signature(cls.__init__).parameters
    if "dtype" in signature:
        kwargs["dtype"] = dtype
    if "rng" in signature:
        kwargs["rng"] = rng
    layer = cls(**kwargs)
    for value in layer.params().values():  # non-zero biases and shifts
        if value is not None and not value.any():
            value[...] = np.linspace(-1, 1, value.size).reshape(value.shape)
    return layer


def example_input(name, rng, dtype=np.float32):
    return rng.standard_normal(EXAMPLES[name][1]).astype(dtype)


def forward_backward(layer, x, rng):
    y = layer.forward(x)
    dout = rng.standard_normal(y.shape).astype(y.dtype)
    return y, dout, layer.backward(dout)


def test_every_layer_class_has_an_example():
    assert set(LAYER_CLASSES) <= set(EXAMPLES), set(LAYER_CLASSES) - set(EXAMPLES)


@pytest.mark.parametrize("name", NAMES)
def test_backward_before_forward_raises_state_error(name):
    layer = build(name)
    with pytest.raises(StateError, match=r"backward\(\) called before forward\(\)"):
        layer.backward(np.ones((2, 3), np.float32))
    with pytest.raises(RuntimeError):
        layer.backward(np.ones((2, 3), np.float32))


@pytest.mark.parametrize("name", NAMES)
def test_dout_of_the_wrong_shape_raises_shape_error_naming_both_shapes(rng, name):
    layer = build(name)
    y = layer.forward(example_input(name, rng))
    wrong = np.ones((*y.shape[:-1], y.shape[-1] + 1), np.float32)
    with pytest.raises(ShapeError) as info:
        layer.backward(wrong)
    message = str(info.value)
    assert str(wrong.shape) in message and str(y.shape) in message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("name", NAMES)
def test_forward_and_backward_do_not_mutate_their_arguments(rng, name):
    layer = build(name)
    x = example_input(name, rng)
    x_copy = x.copy()
    y = layer.forward(x)
    dout = rng.standard_normal(y.shape).astype(np.float32)
    dout_copy = dout.copy()
    dx = layer.backward(dout)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(dout, dout_copy)
    # The cache is not written into either: a second backward gives the same gradients.
    grads = {k: v.copy() for k, v in layer.grads().items()}
    np.testing.assert_array_equal(layer.backward(dout), dx)
    for key, value in layer.grads().items():
        np.testing.assert_array_equal(value, grads[key])
    np.testing.assert_array_equal(dout, dout_copy)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", NAMES)
def test_dtype_is_preserved(rng, name, dtype):
    layer = build(name, dtype)
    x = example_input(name, rng, dtype)
    y, dout, dx = forward_backward(layer, x, rng)
    assert y.dtype == dtype
    assert dx.dtype == dtype and dx.shape == x.shape
    for key, value in {**layer.params(), **layer.grads(), **layer.buffers()}.items():
        assert value.dtype == dtype, key


@pytest.mark.parametrize("name", NAMES)
def test_eval_caches_nothing(rng, name):
    layer = build(name).eval()
    x = example_input(name, rng)
    y = layer.forward(x)
    cached = [k for k, v in vars(layer).items() if k.startswith("_") and hasattr(v, "shape")]
    assert cached == [], f"{name} kept {cached} in eval mode"
    with pytest.raises(StateError):
        layer.backward(np.ones_like(y))
    assert layer.train() is layer  # train() and eval() return the layer, for chaining
    layer.forward(x)
    layer.backward(np.ones_like(y))


@pytest.mark.parametrize("name", NAMES)
def test_params_and_grads_have_the_same_keys_and_shapes(rng, name):
    layer = build(name)
    params = layer.params()
    assert tuple(params) == layer.param_names
    forward_backward(layer, example_input(name, rng), rng)
    grads = layer.grads()
    assert grads.keys() == params.keys()
    for key in params:
        assert grads[key].shape == params[key].shape, key
        assert params[key] is getattr(layer, key)  # the live arrays, not copies


@pytest.mark.parametrize("name", NAMES)
def test_config_is_json_and_rebuilds_an_equal_layer(name):
    layer = build(name)
    config = layer.config()
    assert json.loads(json.dumps(config)) == config
    rebuilt = LAYER_CLASSES[name](**config)
    assert rebuilt.config() == config
    assert type(rebuilt) is type(layer)
    for key, value in layer.params().items():
        assert rebuilt.params()[key].shape == value.shape
        assert rebuilt.params()[key].dtype == value.dtype
    assert repr(rebuilt) == repr(layer)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bias", [True, False])
def test_param_shapes_says_what_the_layer_holds(name, bias):
    # What the checkpoint guard reads before building a layer from a file is what it builds.
    takes_bias = "bias" in inspect.signature(LAYER_CLASSES[name].__init__).parameters
    layer = build(name, **({"bias": bias} if takes_bias else {}))
    held = {k: v.shape for k, v in {**layer.params(), **layer.buffers()}.items()}
    assert type(layer).param_shapes(json.loads(json.dumps(layer.config()))) == held


@pytest.mark.parametrize("name", ["Conv1D", "Conv2D", "Linear"])
def test_needs_input_grad_false_returns_none_but_sets_dw_db(rng, name):
    layer = build(name)
    x = example_input(name, rng)
    y, dout, dx = forward_backward(layer, x, rng)
    expected = {k: v.copy() for k, v in layer.grads().items()}
    assert dx is not None
    layer.needs_input_grad = False
    layer.dW = layer.db = None
    layer.forward(x)
    assert layer.backward(dout) is None
    for key, value in layer.grads().items():
        np.testing.assert_array_equal(value, expected[key])


@pytest.mark.parametrize("name", ["Conv1D", "Conv2D", "Linear"])
def test_no_bias_means_no_b_param(rng, name):
    layer = build(name, bias=False)
    assert layer.param_names == ("W",)
    forward_backward(layer, example_input(name, rng), rng)
    assert set(layer.grads()) == {"W"}


@pytest.mark.parametrize("name", NAMES)
def test_output_shape_agrees_with_forward(rng, name):
    layer = build(name)
    x = example_input(name, rng)
    assert layer.output_shape(x.shape[1:]) == layer.forward(x).shape[1:]


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_layer(rng, name):
    a, b = build(name, rng=3), build(name, rng=3)
    x = example_input(name, rng)
    for key, value in a.params().items():
        np.testing.assert_array_equal(value, b.params()[key])
    np.testing.assert_array_equal(a.forward(x), b.forward(x))


@pytest.mark.parametrize(
    ("name", "kwargs", "shape"),
    [
        ("Conv2D", {"in_channels": 4, "out_channels": 2, "kernel_size": (3, 2),
                    "stride": (2, 1), "padding": ((1, 0), (2, 1)), "dilation": (1, 2),
                    "groups": 2, "bias": False, "padding_mode": "zeros", "rounding": "floor",
                    "init": 0.01}, (1, 4, 6, 5)),
        ("Conv2D", {"in_channels": 1, "out_channels": 2, "kernel_size": 4, "padding": "same",
                    "padding_mode": "reflect", "init": "glorot"}, (2, 1, 5, 5)),
        ("Conv1D", {"in_channels": 2, "out_channels": 2, "kernel_size": 3, "padding": (2, 1),
                    "padding_mode": "circular", "rounding": "ceil", "stride": 2}, (1, 2, 6)),
        ("MaxPool2D", {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 0),
                       "rounding": "ceil"}, (1, 1, 6, 5)),
        ("AvgPool2D", {"kernel_size": 3, "stride": 2, "padding": 1, "rounding": "floor",
                       "count_include_pad": False}, (1, 1, 6, 6)),
        ("BatchNorm2D", {"num_features": 2, "eps": 1e-3, "momentum": 0.3}, (2, 2, 3, 3)),
        ("Dropout", {"p": 0.25}, (3, 4)),
    ],
)
def test_non_default_config_round_trips(rng, name, kwargs, shape):
    cls = LAYER_CLASSES[name]
    layer = cls(**kwargs)
    config = layer.config()
    rebuilt = cls(**json.loads(json.dumps(config)))
    assert rebuilt.config() == config
    for key, value in layer.params().items():  # same weights -> same output
        rebuilt.params()[key][...] = value
    x = rng.standard_normal(shape).astype(np.float32)
    if name == "Dropout":
        layer.eval(), rebuilt.eval()
    np.testing.assert_array_equal(rebuilt.forward(x), layer.forward(x))


@pytest.mark.parametrize("name", NAMES)
def test_runs_on_the_array_module(xp, rng, name):
    """Same numbers on every available array module (NumPy; CuPy where it is installed)."""
    from tatamu.backend.arrays import as_numpy

    layer = build(name, np.float64).eval()
    layer.caching = True
    x = example_input(name, rng, np.float64)
    dout = rng.standard_normal((x.shape[0], *layer.output_shape(x.shape[1:])))
    y, dx = layer.forward(x), layer.backward(dout)
    for key in (*layer.param_names, *layer.buffer_names):  # move the state by hand
        setattr(layer, key, xp.asarray(getattr(layer, key)))
    y_xp, dx_xp = layer.forward(xp.asarray(x)), layer.backward(xp.asarray(dout))
    assert type(y_xp) is type(xp.asarray(x))
    np.testing.assert_allclose(as_numpy(y_xp), y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(as_numpy(dx_xp), dx, rtol=1e-12, atol=1e-12)


# Regression: eval() used to keep the cache of an earlier training forward, so a backward after
# an eval forward silently returned the gradient of the *old* training input (ReLU: 1 where the
# new input is negative) and the last training batch stayed in memory during prediction. Each
# layer now names its cache (cache_names) and train(False) clears it.
@pytest.mark.parametrize("name", NAMES)
def test_backward_after_an_eval_forward_raises_even_after_training(rng, name):
    layer = build(name)
    x = example_input(name, rng)
    layer.forward(x)  # training mode: caches
    layer.eval()
    y = layer.forward(-x)
    with pytest.raises(StateError):
        layer.backward(np.ones_like(y))
