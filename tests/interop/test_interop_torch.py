"""safetensors out to PyTorch and back: the printed nn.Sequential, loaded with the exported
file, gives tatamu's probabilities; a state_dict saved from that torch model imports back.

PyTorch is the oracle (float32 on both sides; 2e-4 absolute on probabilities, the issue's
tolerance, far below the O(0.1) a wrong layout or a missing layer gives).
"""

from __future__ import annotations

import shlex
import subprocess
import sys

import numpy as np
import pytest
from cli_runner import run_cli
from interop_models import ARCHITECTURES, inputs, trained_looking

from tatamu.checkpoint import store as checkpoint
from tatamu.errors import CheckpointError, ConfigError
from tatamu.interop import optional
from tatamu.interop.safetensors_io import load_safetensors, save_safetensors
from tatamu.interop.torch_names import torch_definition, torch_state_dict
from tatamu.layers import Layer, ReLU
from tatamu.model import Sequential
from tatamu.models import simple_convnet

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")
pytestmark = pytest.mark.torch
PROB_ATOL = 2e-4


def torch_model_from_printed(code: str):
    """Run the printed definition (it builds the model and loads the weights) as a user would."""
    namespace: dict = {}
    exec(compile(code, "<tatamu export --print-torch>", "exec"), namespace)  # noqa: S102
    return namespace["model"]


def torch_probabilities(module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module(torch.from_numpy(x)).softmax(dim=1).numpy()


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_the_printed_torch_model_with_the_exported_weights_gives_tatamus_probabilities(
        tmp_path, rng, arch):
    model = trained_looking(ARCHITECTURES[arch](rng), rng)
    path = save_safetensors(model, tmp_path / "model.safetensors")
    module = torch_model_from_printed(torch_definition(model, str(path)))
    x = inputs(model, rng, 9)
    np.testing.assert_allclose(torch_probabilities(module, x), model.predict(x),
                               atol=PROB_ATOL)


@pytest.mark.parametrize("arch", ["simple", "every-layer-2d", "every-layer-1d"])
def test_weights_saved_from_the_torch_model_import_back(tmp_path, rng, arch):
    from safetensors.torch import save_file

    model = ARCHITECTURES[arch](rng)
    save_safetensors(model, tmp_path / "start.safetensors")
    module = torch_model_from_printed(torch_definition(model, str(tmp_path / "start.safetensors")))
    # change every weight in torch, and the BatchNorm statistics by a training-mode pass
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    module.train()
    module(torch.from_numpy(inputs(model, rng, 16)))
    module.eval()
    save_file(module.state_dict(), tmp_path / "from_torch.safetensors")
    fresh = ARCHITECTURES[arch](np.random.default_rng(1))
    load_safetensors(tmp_path / "from_torch.safetensors", fresh)
    x = inputs(model, rng, 7)
    np.testing.assert_allclose(fresh.predict(x), torch_probabilities(module, x), atol=PROB_ATOL)


def test_a_plain_list_sequential_with_positional_names_imports_too(tmp_path, rng):
    from safetensors.torch import save_file

    model = simple_convnet((1, 12, 12), filters=4, hidden=8, rng=rng)
    save_safetensors(model, tmp_path / "m.safetensors")
    named = torch_model_from_printed(torch_definition(model, str(tmp_path / "m.safetensors")))
    plain = torch.nn.Sequential(*named)  # keys "0.weight", "4.weight", ...
    assert "0.weight" in plain.state_dict()
    save_file(plain.state_dict(), tmp_path / "plain.safetensors")
    fresh = simple_convnet((1, 12, 12), filters=4, hidden=8, rng=5)
    load_safetensors(tmp_path / "plain.safetensors", fresh)
    for name, value in model.params().items():
        np.testing.assert_array_equal(fresh.params()[name], value)


def test_the_state_dict_uses_torch_names_and_layouts(rng):
    model = ARCHITECTURES["every-layer-2d"](rng)
    state = torch_state_dict(model)
    assert state["linear2.weight"].shape == (4, 7)  # (out, in)
    np.testing.assert_array_equal(state["linear2.weight"], model["linear2"].W.T)
    assert state["conv1.weight"].shape == (8, 3, 3, 3)
    assert {"bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
            "bn1.num_batches_tracked"} <= set(state)
    assert state["bn1.num_batches_tracked"].dtype == np.int64
    assert "linear1.bias" not in state  # built without a bias


def test_names_and_shapes_are_checked_against_the_architecture(tmp_path, rng):
    from safetensors.numpy import save_file

    model = simple_convnet((1, 12, 12), filters=4, hidden=8, rng=rng)
    state = torch_state_dict(model)
    cases = {
        "shape": ({**state, "linear1.weight": state["linear1.weight"].T},
                  r"linear1.weight has shape \(64, 8\), but linear1.W needs \(8, 64\)"),
        "missing": ({k: v for k, v in state.items() if k != "conv1.bias"},
                    r"missing: \['conv1.bias'\]"),
        "extra": ({**state, "fc9.weight": np.zeros((2, 2), np.float32)}, "fc9.weight"),
    }
    for name, (tensors, message) in cases.items():
        save_file(tensors, tmp_path / f"{name}.safetensors")
        before = {k: v.copy() for k, v in model.params().items()}
        with pytest.raises(CheckpointError, match=message):
            load_safetensors(tmp_path / f"{name}.safetensors", model)
        for k, v in model.params().items():  # nothing copied on a refusal
            np.testing.assert_array_equal(v, before[k])


def test_a_damaged_safetensors_file_is_refused_in_one_line(tmp_path, rng):
    model = simple_convnet((1, 12, 12), filters=4, hidden=8, rng=rng)
    data = save_safetensors(model, tmp_path / "m.safetensors").read_bytes()
    for cut in (0, 5, 40, len(data) // 2, len(data) - 1):
        (tmp_path / "cut.safetensors").write_bytes(data[:cut])
        with pytest.raises(CheckpointError) as info:
            load_safetensors(tmp_path / "cut.safetensors", model)
        assert "\n" not in str(info.value)


class Custom(Layer):
    def forward(self, x):
        return x


def test_a_layer_without_a_torch_equivalent_is_refused_by_name(rng):
    model = Sequential([ReLU(), Custom()], input_shape=(3,))
    with pytest.raises(ConfigError, match=r"custom1 \(Custom\) has no PyTorch equivalent"):
        torch_definition(model)


def test_export_and_import_commands_round_trip(tmp_path, rng):
    model = trained_looking(ARCHITECTURES["lenet5"](rng), rng)
    ckpt = checkpoint.save(model, tmp_path / "m.npz")
    out = tmp_path / "m.safetensors"
    status, stdout, stderr = run_cli("export", ckpt, "--format", "safetensors", out,
                                     "--print-torch")
    assert status == 0, stderr
    code = stdout  # only the definition: the "wrote ..." line is on stderr
    assert stderr.startswith(f"wrote {out} (PyTorch names") and stderr.count("\n") == 1
    x = inputs(model, rng, 5)
    np.testing.assert_allclose(torch_probabilities(torch_model_from_printed(code), x),
                               model.predict(x), atol=PROB_ATOL)
    status, _, stderr = run_cli("export", ckpt, out)
    assert status == 2 and "already exists" in stderr and stderr.count("\n") == 1
    status, stdout, stderr = run_cli("import", out, "--model", "lenet5", "--out",
                                     tmp_path / "back.npz")
    assert status == 0, stderr
    np.testing.assert_allclose(checkpoint.load(tmp_path / "back.npz").predict(x),
                               model.predict(x), rtol=0, atol=0)
    status, _, stderr = run_cli("import", out, "--model", "simple", "--out", tmp_path / "x.npz")
    assert status == 2 and "tensors do not match" in stderr and "linear3.weight" in stderr
    assert not (tmp_path / "x.npz").exists()


def test_a_missing_optional_package_is_one_line_with_the_pip_command(tmp_path, rng, monkeypatch):
    real = optional.importlib.import_module

    def no_safetensors(name, *args):
        if name.startswith("safetensors"):
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(optional.importlib, "import_module", no_safetensors)
    ckpt = checkpoint.save(simple_convnet((1, 12, 12), rng=rng), tmp_path / "m.npz")
    status, _, stderr = run_cli("export", ckpt, tmp_path / "m.safetensors")
    assert status == 2 and stderr.count("\n") == 1
    assert "pip install 'tatamu[safetensors]'" in stderr
    assert not (tmp_path / "m.safetensors").exists()


def test_print_torch_redirected_to_a_file_is_a_program_that_runs(tmp_path, rng):
    # the command, through a shell: stdout must be nothing but runnable Python
    model = trained_looking(ARCHITECTURES["simple"](rng), rng)
    checkpoint.save(model, tmp_path / "m.npz")
    x = inputs(model, rng, 4)
    np.save(tmp_path / "x.npy", x)
    check = ("import numpy as np, torch; exec(open('model.py').read()); "
             "x = torch.from_numpy(np.load('x.npy')); "
             "np.save('p.npy', model(x).softmax(dim=1).detach().numpy())")
    python = shlex.quote(sys.executable)
    result = subprocess.run(
        f"{python} -m tatamu export m.npz --format safetensors m.safetensors --print-torch "
        f"> model.py && {python} model.py && {python} -c {shlex.quote(check)}",
        shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("wrote m.safetensors")
    assert (tmp_path / "model.py").read_text().startswith("import torch\n")
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), model.predict(x), atol=PROB_ATOL)
