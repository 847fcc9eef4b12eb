"""Sequential: derived names, shared parameter arrays, modes, cache-free batched predict, config.

The oracle for ``predict`` is a softmax written here in float64 over one whole-batch forward;
the learning check overfits 32 random samples (random labels) to 100% training accuracy.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tatamu import Sequential
from tatamu.errors import ConfigError, ShapeError, StateError
from tatamu.layers import (
    BatchNorm2D,
    Conv2D,
    Dropout,
    Flatten,
    Linear,
    MaxPool2D,
    ReLU,
    Tanh,
)
from tatamu.models import deep_convnet, simple_convnet
from tatamu.optim import Adam


def small_net(seed: int = 0, dtype=np.float32) -> Sequential:
    """conv 4@3x3 -> ReLU -> pool 2 -> Linear 36->16 -> ReLU -> Dropout -> Linear 16->3."""
    return Sequential(
        [
            Conv2D(1, 4, 3, rng=seed, dtype=dtype), ReLU(), MaxPool2D(2),
            Linear(36, 16, rng=seed + 1, dtype=dtype), ReLU(), Dropout(0.25, rng=seed),
            Linear(16, 3, rng=seed + 2, dtype=dtype),
        ],
        input_shape=(1, 8, 8),
    )


def softmax64(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# -- names and parameters --------------------------------------------------------------------
def test_layer_names_are_derived_from_classes():
    model = small_net()
    assert list(model.layers) == [
        "conv1", "relu1", "pool1", "linear1", "relu2", "dropout1", "linear2"]
    assert model["linear2"] is list(model)[-1]
    assert model["conv1"].name == "conv1"
    assert len(model) == 7
    other = Sequential([Flatten(), Linear(64, 8, rng=0), Tanh(), Linear(8, 2, rng=0)], (1, 8, 8))
    assert list(other.layers) == ["flatten1", "linear1", "tanh1", "linear2"]


def test_user_given_names_are_kept_and_validated():
    model = Sequential({"features": Flatten(), "head": Linear(4, 2, rng=0)}, (4,))
    assert list(model.params()) == ["head.W", "head.b"]
    with pytest.raises(ConfigError, match="may not contain '.'"):
        Sequential({"a.b": Linear(4, 2, rng=0)}, (4,))
    with pytest.raises(ConfigError, match="not a tatamu layer"):
        Sequential([lambda x: x], (4,))
    with pytest.raises(ConfigError, match="at least one layer"):
        Sequential([], (4,))


def test_params_and_grads_are_keyed_by_derived_names_and_are_the_layers_arrays(rng):
    model = small_net()
    expected = ["conv1.W", "conv1.b", "linear1.W", "linear1.b", "linear2.W", "linear2.b"]
    assert list(model.params()) == expected
    for key, value in model.params().items():
        layer, attr = key.split(".")
        assert value is getattr(model[layer], attr)
    x = rng.random((5, 1, 8, 8), dtype=np.float32)
    model.gradient(x, np.array([0, 1, 2, 0, 1]))
    grads = model.grads()
    assert list(grads) == expected
    for key, value in grads.items():
        layer, attr = key.split(".")
        assert value is getattr(model[layer], "d" + attr)
        assert value.shape == model.params()[key].shape
        assert value.dtype == np.float32
    assert not hasattr(model, "named_params")  # one name per thing: params()


def test_an_optimizer_step_updates_the_layers_own_arrays(rng):
    model = small_net()
    w = model["conv1"].W
    before = w.copy()
    model.gradient(rng.random((4, 1, 8, 8), dtype=np.float32), np.array([0, 1, 2, 0]))
    Adam(lr=1e-2).step(model.params(), model.grads())
    assert model["conv1"].W is w  # updated in place, never rebound
    assert not np.array_equal(w, before)


# -- modes -----------------------------------------------------------------------------------
def test_train_and_eval_propagate_to_every_layer():
    model = small_net()
    assert model.training and all(layer.training for layer in model)
    assert model.eval() is model
    assert not model.training
    assert all(not layer.training and not layer.caching for layer in model)
    model.train()
    assert all(layer.training and layer.caching for layer in model)
    model.train(False)
    assert not any(layer.training for layer in model)


def test_eval_forward_caches_nothing(rng):
    fresh = small_net()
    # Every backward-only cache is a `_` attribute that starts as None (STYLE.md §3.3).
    caches = {name: [k for k, v in vars(layer).items() if k.startswith("_") and v is None]
              for name, layer in fresh.layers.items()}
    assert sum(len(v) for v in caches.values()) >= 7
    model = small_net().eval()
    model.forward(rng.random((6, 1, 8, 8), dtype=np.float32))
    for name, layer in model.layers.items():
        for attr in caches[name]:
            assert getattr(layer, attr) is None, f"{name}.{attr} was cached in eval mode"
    with pytest.raises(StateError):
        model.backward(np.ones((6, 3), dtype=np.float32))


def test_predict_leaves_no_cache_and_restores_training_mode(rng):
    model = small_net()
    model.predict(rng.random((9, 1, 8, 8), dtype=np.float32), batch_size=4)
    assert model.training
    assert model["conv1"]._col_t is None and model["linear1"]._x2 is None


# -- predict -----------------------------------------------------------------------------------
@pytest.mark.parametrize("chunk", [1, 7, 23, None])
def test_predict_is_softmax_of_the_whole_batch_forward_for_any_chunk(chunk, rng):
    model = small_net()
    x = rng.standard_normal((23, 1, 8, 8), dtype=np.float32)
    expected = softmax64(model.eval().forward(x))
    model.train()
    probs = model.predict(x, batch_size=chunk)
    assert probs.shape == (23, 3)
    assert probs.dtype == np.float32
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    assert (probs >= 0).all()


def test_predict_chunks_from_a_memory_budget(rng):
    model = simple_convnet((1, 8, 8), rng=0)
    x = rng.random((50, 1, 8, 8), dtype=np.float32)
    budget = 3 * model.bytes_per_sample()
    assert model.chunk_size(budget) == 3
    np.testing.assert_allclose(model.predict(x, memory_budget=budget), model.predict(x, 50),
                               rtol=1e-5, atol=1e-7)


def test_predict_is_deterministic_with_dropout(rng):
    model = deep_convnet((1, 12, 12), rng=0)
    x = rng.random((5, 1, 12, 12), dtype=np.float32)
    np.testing.assert_array_equal(model.predict(x), model.predict(x))


def test_float64_input_to_a_float32_model_is_cast_in_predict(rng):
    model = small_net()
    x64 = rng.random((10, 1, 8, 8))
    probs = model.predict(x64)
    assert probs.dtype == np.float32
    np.testing.assert_array_equal(probs, model.predict(x64.astype(np.float32)))


def test_a_float64_model_predicts_float64(rng):
    model = small_net(dtype=np.float64)
    probs = model.predict(rng.random((4, 1, 8, 8), dtype=np.float32))
    assert probs.dtype == np.float64
    assert model.dtype == np.float64


def test_predict_of_nothing_is_refused():
    with pytest.raises(ShapeError, match="no samples"):
        small_net().predict(np.zeros((0, 1, 8, 8), dtype=np.float32))


# -- config ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "build",
    [small_net, lambda: simple_convnet((3, 16, 16), rng=0), lambda: deep_convnet((1, 12, 12)),
     lambda: Sequential([Conv2D(2, 3, 3, padding=1, rng=0), BatchNorm2D(3), ReLU(),
                         Flatten(), Linear(3 * 6 * 6, 4, rng=0)], (2, 6, 6))],
)
def test_config_round_trips_through_json(build, rng):
    model = build()
    config = model.config()
    text = json.dumps(config)  # JSON-friendly: no tuples of numpy scalars, no dtype objects
    rebuilt = Sequential.from_config(json.loads(text))
    assert rebuilt.config() == config
    assert list(rebuilt.layers) == list(model.layers)
    assert rebuilt.output_shapes == model.output_shapes
    assert {k: v.shape for k, v in rebuilt.params().items()} == {
        k: v.shape for k, v in model.params().items()}
    for key, value in model.params().items():
        rebuilt.params()[key][...] = value
    for key, value in model.buffers().items():
        rebuilt.buffers()[key][...] = value
    x = rng.random((3, *model.input_shape), dtype=np.float32)
    np.testing.assert_array_equal(rebuilt.predict(x), model.predict(x))


def test_from_config_refuses_an_unknown_layer():
    config = small_net().config()
    config["layers"][0]["class"] = "Convolution3D"
    with pytest.raises(ConfigError, match="not a valid tatamu model config"):
        Sequential.from_config(config)


def test_summary_and_repr_name_every_layer():
    model = small_net()
    text = model.summary()
    for name in model.layers:
        assert name in text
    assert f"total parameters: {model.num_params():,}" in text
    assert "conv1" in repr(model)


# -- a real learning check -----------------------------------------------------------------
def test_overfits_32_samples_to_100_percent_in_a_few_dozen_adam_steps():
    rng = np.random.default_rng(0)
    x = rng.random((32, 1, 8, 8), dtype=np.float32)
    labels = rng.integers(0, 10, size=32)  # random labels: only memorising can fit them
    model = simple_convnet((1, 8, 8), filters=8, hidden=64, rng=0)
    opt = Adam(lr=1e-2)
    start = float((model.predict(x).argmax(axis=1) == labels).mean())
    losses = []
    for _ in range(60):
        losses.append(model.gradient(x, labels))
        opt.step(model.params(), model.grads())
    accuracy = float((model.predict(x).argmax(axis=1) == labels).mean())
    assert start < 0.5
    assert accuracy == 1.0, f"train accuracy {accuracy} after 60 steps; losses {losses[::10]}"
    assert losses[-1] < 0.1 * losses[0]
