"""ONNX export: the graph, run by ONNX Runtime, gives tatamu's probabilities.

ONNX Runtime is the oracle, for every built-in architecture and two models using every layer
type and option, at batch sizes 1 and 37 (the batch dimension is free). 2e-4 absolute on the
probabilities, the issue's tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
from cli_runner import run_cli
from interop_models import ARCHITECTURES, inputs, trained_looking

from tatamu.checkpoint import store as checkpoint
from tatamu.errors import ConfigError
from tatamu.interop import optional
from tatamu.interop.onnx_export import onnx_model, save_onnx
from tatamu.layers import Layer, ReLU
from tatamu.model import Sequential
from tatamu.models import simple_convnet

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
PROB_ATOL = 2e-4


def session(proto):
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_onnx_runtime_gives_tatamus_probabilities_at_batch_1_and_37(rng, arch):
    model = trained_looking(ARCHITECTURES[arch](rng), rng)
    run = session(onnx_model(model))
    for n in (1, 37):
        x = inputs(model, rng, n)
        (probs,) = run.run(None, {"input": x})
        assert probs.shape == (n, model.num_classes)
        np.testing.assert_allclose(probs, model.predict(x), atol=PROB_ATOL)


def test_the_graph_has_a_free_batch_dimension_and_the_expected_operators(rng):
    proto = onnx_model(ARCHITECTURES["deep"](rng))
    graph = proto.graph
    dims = graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "N" and [d.dim_value for d in dims[1:]] == [1, 28, 28]
    ops = [node.op_type for node in graph.node]
    assert ops.count("Conv") == 6 and ops.count("MaxPool") == 3 and ops.count("Gemm") == 2
    assert "Dropout" not in ops and ops[-1] == "Softmax"
    assert graph.output[0].name == "probabilities"
    onnx.checker.check_model(proto, full_check=True)


def test_every_layer_model_uses_the_operators_the_issue_lists(rng):
    ops = {n.op_type for n in onnx_model(ARCHITECTURES["every-layer-2d"](rng)).graph.node}
    assert {"Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "Relu", "LeakyRelu",
            "Sigmoid", "Tanh", "Gemm", "MatMul", "Flatten", "BatchNormalization", "Pad",
            "Softmax"} <= ops


class Custom(Layer):
    def forward(self, x):
        return x


def test_a_layer_without_an_onnx_equivalent_is_refused_by_name():
    model = Sequential([ReLU(), Custom()], input_shape=(3,))
    with pytest.raises(ConfigError, match=r"custom1 \(Custom\) has no ONNX equivalent"):
        onnx_model(model)


def test_a_float64_model_is_exported_as_float32(rng):
    model = simple_convnet((1, 12, 12), filters=4, hidden=8, rng=rng, dtype=np.float64)
    x = inputs(model, rng, 3)
    (probs,) = session(onnx_model(model)).run(None, {"input": x})
    np.testing.assert_allclose(probs, model.predict(x.astype(np.float64)), atol=PROB_ATOL)


def test_the_export_command_writes_onnx_and_never_overwrites(tmp_path, rng):
    model = trained_looking(ARCHITECTURES["conv1d"](rng), rng)
    ckpt = checkpoint.save(model, tmp_path / "m.npz")
    out = tmp_path / "m.onnx"
    status, stdout, stderr = run_cli("export", ckpt, "--format", "onnx", out)
    assert status == 0 and "opset 19" in stdout, stderr
    x = inputs(model, rng, 4)
    (probs,) = session(onnx.load(out)).run(None, {"input": x})
    np.testing.assert_allclose(probs, model.predict(x), atol=PROB_ATOL)
    before = out.read_bytes()
    status, _, stderr = run_cli("export", ckpt, "--format", "onnx", out)
    assert status == 2 and "already exists" in stderr and out.read_bytes() == before
    status, _, stderr = run_cli("export", ckpt, tmp_path / "m.bin")
    assert status == 2 and "--format" in stderr and stderr.count("\n") == 1


def test_save_onnx_refuses_an_existing_file_unless_overwrite(tmp_path, rng):
    model = simple_convnet((1, 12, 12), filters=4, hidden=8, rng=rng)
    path = save_onnx(model, tmp_path / "m.onnx")
    with pytest.raises(Exception, match="already exists"):
        save_onnx(model, path)
    save_onnx(model, path, overwrite=True)


def test_without_the_onnx_package_the_command_says_how_to_install_it(tmp_path, rng, monkeypatch):
    real = optional.importlib.import_module

    def no_onnx(name, *args):
        if name.startswith("onnx"):
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(optional.importlib, "import_module", no_onnx)
    ckpt = checkpoint.save(simple_convnet((1, 12, 12), rng=rng), tmp_path / "m.npz")
    status, _, stderr = run_cli("export", ckpt, tmp_path / "m.onnx")
    assert status == 2 and stderr.count("\n") == 1 and "pip install 'tatamu[onnx]'" in stderr
    assert not (tmp_path / "m.onnx").exists()


def test_what_torch_cannot_express_onnx_still_computes_exactly(rng):
    # a convolution whose ceil window overruns, asymmetric pooling padding, and a max-pool
    # whose padding plus overrun reaches the kernel size (ONNX Runtime's limit: an explicit Pad)
    from tatamu.interop.torch_names import torch_definition
    from tatamu.layers import Conv2D, Linear, MaxPool2D

    model = Sequential([
        MaxPool2D(2, stride=2, padding=1, dilation=3, rounding="ceil"),  # 9 -> 5, pads 1 + 1
        Conv2D(2, 4, 3, stride=2, padding=((0, 1), (1, 0)), rounding="ceil", rng=rng),  # 5 -> 3
        MaxPool2D(2, stride=2, padding=((1, 0), (0, 1)), rounding="ceil"),  # 3 -> 2
        Linear(16, 3, rng=rng),
    ], input_shape=(2, 9, 9))
    ops = [node.op_type for node in onnx_model(model).graph.node]
    assert ops[:2] == ["Pad", "MaxPool"]
    for n in (1, 37):
        x = inputs(model, rng, n)
        (probs,) = session(onnx_model(model)).run(None, {"input": x})
        np.testing.assert_allclose(probs, model.predict(x), atol=PROB_ATOL)
    with pytest.raises(ConfigError, match="conv1: rounding='ceil'"):
        torch_definition(model)
