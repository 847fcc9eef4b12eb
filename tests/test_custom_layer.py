"""A learner's own layer, defined here and nowhere else, works everywhere a built-in one does.

Adding a layer touches only its own file (issue 14): subclassing ``Layer`` registers it, the
class says its name prefix, its feature-map role and the shapes its config allocates, and the
model, summary, checkpoints (the hostile-file guard included), predict and viz read those
instead of a table elsewhere. Also here: the structure that makes that possible (one validator
per fact, errors that carry their fixes as data, no plots<->viz import cycle).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

import tatamu
from tatamu import Sequential
from tatamu.cli.flags import cli_message, write_fix
from tatamu.errors import CheckpointError, ConfigError, Fix, Name
from tatamu.layers import LAYER_CLASSES, Conv2D, Flatten, Layer, Linear, MaxPool2D, ReLU
from tatamu.layers.base import check_input
from tatamu.training.loop import evaluate
from tatamu.validate import positive_int
from tatamu.viz.activations import plot_feature_maps
from tatamu.viz.probe import conv_layers, layer_outputs, map_layers, saliency_map

SRC = Path(tatamu.__file__).parent


class ChannelScale(Layer):
    """y = x * gamma, one learned scale per channel. Shapes: (N, C, H, W) -> the same."""

    param_names = ("gamma",)
    cache_names = ("_x",)
    prefix = "scale"
    feature_maps = True

    @classmethod
    def param_shapes(cls, config):
        return {"gamma": (positive_int(config.get("channels"), "channels"),)}

    def __init__(self, channels: int, *, dtype=None) -> None:
        super().__init__()
        self.channels = channels
        self.dtype = np.dtype(dtype or np.float32)
        shapes = self.param_shapes(self.config())
        self.gamma = np.linspace(0.5, 1.5, shapes["gamma"][0]).astype(self.dtype)
        self.dgamma = None
        self._x = None  # cache for backward: the input

    def forward(self, x):
        check_input(self, x, 4, self.channels, self.dtype)
        if self.caching:
            self._x = x
        return x * self.gamma[:, None, None]  # (C,) -> (C, 1, 1) broadcasts over H, W

    def backward(self, dout):
        x = self._cached(self._x)
        self.dgamma = (dout * x).sum(axis=(0, 2, 3))  # (N, C, H, W) -> (C,)
        return dout * self.gamma[:, None, None]


def custom_model(seed: int = 0) -> Sequential:
    return Sequential([Conv2D(1, 3, 3, padding=1, rng=seed), ChannelScale(3), ReLU(),
                       MaxPool2D(2), Flatten(), Linear(3 * 4 * 4, 5, rng=seed)],
                      input_shape=(1, 8, 8))


@pytest.fixture
def x(rng):
    return rng.random((7, 1, 8, 8), dtype=np.float32)


def test_defining_the_class_registers_it():
    assert LAYER_CLASSES["ChannelScale"] is ChannelScale
    assert ChannelScale.layer_type == "ChannelScale"


def test_it_sits_in_a_sequential_named_by_its_own_prefix(x):
    model = custom_model()
    assert list(model.layers) == ["conv1", "scale1", "relu1", "pool1", "flatten1", "linear1"]
    assert "scale1.gamma" in model.params()
    model.gradient(x, np.arange(7) % 5)
    assert model.grads()["scale1.gamma"].shape == (3,)


def test_summary_lists_it_with_its_parameters():
    summary = custom_model().summary()
    row = next(line for line in summary.splitlines() if line.startswith("scale1"))
    assert row.split() == ["scale1", "ChannelScale", "(3,", "8,", "8)", "3"]


def test_checkpoint_round_trip_and_predict(tmp_path, x):
    model = custom_model()
    model["scale1"].gamma[...] = [0.25, -2.0, 3.0]
    path = tatamu.save(model, tmp_path / "custom.npz")
    loaded = tatamu.load(path)
    assert type(loaded["scale1"]) is ChannelScale
    np.testing.assert_array_equal(loaded["scale1"].gamma, model["scale1"].gamma)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    # predict in chunks of one sample (its memory estimate includes the new layer) agrees
    one = model.bytes_per_sample()
    assert model.chunk_size(one) == 1
    # float32 sums over other batch sizes may differ in the last bits
    np.testing.assert_allclose(model.predict(x, memory_budget=one), model.predict(x),
                               rtol=1e-5, atol=1e-7)


def test_the_checkpoint_guard_bounds_it_by_its_param_shapes(tmp_path):
    # A forged file declaring ChannelScale(10**9) must be refused before 4 GB are allocated.
    path = tatamu.save(custom_model(), tmp_path / "custom.npz")
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays["meta"].tobytes())
    meta["model"]["layers"][1]["config"]["channels"] = 10**9
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(tmp_path / "forged.npz", **arrays)
    with pytest.raises(CheckpointError, match="damaged or forged"):
        tatamu.load(tmp_path / "forged.npz")


def test_viz_draws_its_feature_maps_and_backpropagates_through_it(tmp_path, x):
    model = custom_model()
    assert map_layers(model) == ["conv1", "scale1", "pool1"]
    assert conv_layers(model) == ["conv1"]  # maps, but not made by filters W
    outputs = layer_outputs(model, x[:2])
    np.testing.assert_allclose(outputs["scale1"], outputs["conv1"]
                               * model["scale1"].gamma[:, None, None], rtol=1e-6)
    grad, target, probs = saliency_map(model, x[0])
    assert grad.shape == (1, 8, 8) and np.isfinite(grad).all() and np.abs(grad).sum() > 0
    assert plot_feature_maps(model, x[0], tmp_path / "maps.png").stat().st_size > 0


def test_a_name_taken_by_tatamu_is_qualified_not_replaced(tmp_path, x):
    class ReLU(Layer):  # a learner's own ReLU, next to tatamu's
        def forward(self, x):
            self._mask = x > 0
            return x * self._mask

        def backward(self, dout):
            return dout * self._mask

    assert LAYER_CLASSES["ReLU"] is tatamu.layers.ReLU
    assert ReLU.layer_type.endswith("test_a_name_taken_by_tatamu_is_qualified_not_replaced"
                                    ".<locals>.ReLU")
    model = Sequential([Flatten(), ReLU(), Linear(64, 3, rng=0)], input_shape=(1, 8, 8))
    loaded = tatamu.load(tatamu.save(model, tmp_path / "mine.npz"))
    assert type(loaded["relu1"]) is ReLU
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_an_unknown_class_says_to_import_its_module():
    config = custom_model().config()
    config["layers"][1]["class"] = "NotDefinedAnywhere"
    with pytest.raises(ConfigError, match="unknown layer class 'NotDefinedAnywhere'.*import"):
        Sequential.from_config(config)


# -- one validator per fact -------------------------------------------------------------------
@pytest.mark.parametrize("batch_size", [True, 0, 2.0, "8"])
def test_evaluate_refuses_what_fit_refuses_as_a_batch_size(batch_size, x):
    # evaluate once took True as a batch size of 1 (its own int check let bools through)
    with pytest.raises(ConfigError, match="batch_size must be an int >= 1") as info:
        evaluate(custom_model(), (x, np.arange(7) % 5), batch_size=batch_size)
    assert info.value.param == "batch_size" and info.value.value is batch_size


def test_no_module_reads_a_layer_private_attribute_or_matches_class_names():
    for path in [SRC / "model.py", *sorted((SRC / "checkpoint").glob("*.py")),
                 *sorted((SRC / "viz").glob("*.py"))]:
        text = path.read_text()
        assert "__name__.startswith" not in text, path  # privates: tests/layers/test_window.py
        assert "_PREFIXES" not in text and "_declared_size" not in text, path


def test_plots_imports_no_other_picture_module():
    # viz's pictures build on plots.py (figures, saving); plots.py builds on nothing in viz
    def imports(path):
        tree = ast.parse(path.read_text())
        return {(node.level, node.module or "") for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom)}

    assert not any(level == 1 or "viz" in m for level, m in imports(SRC / "viz" / "plots.py"))
    viz_imports = set().union(*(imports(p) for p in (SRC / "viz").glob("*.py")))
    assert (1, "plots") in viz_imports  # one direction only


# -- errors carry their fixes; the CLI writes them as its options -----------------------------
def test_a_fix_is_python_for_the_library_and_an_option_for_the_cli(tmp_path):
    path = tatamu.save(custom_model(), tmp_path / "m.npz")
    with pytest.raises(CheckpointError) as info:
        tatamu.save(custom_model(), path)
    assert "overwrite=True" in str(info.value) and "--" not in str(info.value).replace(
        str(path), "")
    assert info.value.fixes == (Fix("overwrite", True),)
    assert "pass --force to replace it" in cli_message(info.value)


def test_write_fix_uses_only_the_running_commands_options():
    assert write_fix(Fix("batch_size", 5)) == "--batch-size 5"
    assert write_fix(Fix("resume", False)) == "without --resume"
    assert write_fix(Name("kernel_size")) == "--kernel"
    assert write_fix(Name("kernel_size"), {"--input", "--model"}) == "kernel_size"
    assert write_fix(Fix("rounding", "floor"), {"--rounding"}) == "--rounding floor"
    assert write_fix(Fix("no_such_parameter", 1)) == "no_such_parameter=1"
