"""Devices on a machine without a GPU: names, the one-line errors, and moving a model.

What needs a GPU (training on CuPy, a GPU checkpoint evaluated on the CPU) is in
tests/test_gpu.py and runs where CuPy sees a GPU; here the CPU side of the same API.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from tatamu.backend import arrays as backend
from tatamu.errors import ConfigError, DeviceError, TatamuError
from tatamu.models import simple_convnet


@pytest.mark.parametrize(("given", "want"), [
    ("cpu", "cpu"), ("CPU", "cpu"), ("numpy", "cpu"), ("cuda", "cuda"), ("gpu", "cuda"),
    ("cuda:0", "cuda"), ("cuda:1", "cuda:1"), (" Cuda:12 ", "cuda:12"),
])
def test_device_names_are_read_as_pytorch_writes_them(given, want):
    assert backend.parse_device(given) == want


@pytest.mark.parametrize("given", ["tpu", "cuda:", "cuda:x", "cuda:-1", "", None, 0])
def test_an_unknown_device_is_refused_with_the_names_that_work(given):
    with pytest.raises(ConfigError, match="use 'cpu', 'cuda' or 'cuda:N'"):
        backend.parse_device(given)


def test_without_cupy_the_error_says_it_is_missing_and_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy -> ImportError
    with pytest.raises(DeviceError) as info:
        backend.require_cuda("cuda")
    message = str(info.value)
    assert "needs CuPy, which is not installed" in message and "device=\"cpu\"" in message
    assert "pip install 'tatamu[gpu13]'" in message and "'tatamu[gpu12]'" in message
    assert "\n" not in message and isinstance(info.value, TatamuError)
    assert info.value.param == "device" and info.value.value == "cuda"


def _fake_cupy(count=None, error=None):
    def get_device_count():
        if error is not None:
            raise error
        return count

    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(
        getDeviceCount=get_device_count))
    return fake


def test_with_cupy_but_no_driver_the_error_says_no_gpu_was_found(monkeypatch):
    error = RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(error=error))
    with pytest.raises(DeviceError, match="CuPy is installed but finds no CUDA GPU .*"
                                          "InsufficientDriver.*nvidia-smi"):
        backend.require_cuda("cuda")


def test_asking_for_a_gpu_that_does_not_exist_names_how_many_there_are(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(count=1))
    assert backend.require_cuda("cuda") is sys.modules["cupy"]
    with pytest.raises(DeviceError, match="asked for GPU 2, but CuPy sees 1 GPU"):
        backend.require_cuda("cuda:2")


def test_a_model_starts_on_the_cpu_and_to_cpu_changes_nothing(rng):
    model = simple_convnet(input_shape=(1, 12, 12), rng=0)
    before = {k: v.copy() for k, v in model.params().items()}
    arrays = model.params()
    assert model.device == "cpu"
    assert model.to("cpu") is model and model.device == "cpu"
    for name, value in model.params().items():
        assert value is arrays[name]  # nothing copied
        np.testing.assert_array_equal(value, before[name])


def test_moving_to_a_missing_gpu_leaves_the_model_where_it_was(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    model = simple_convnet(input_shape=(1, 12, 12), rng=0)
    arrays = model.params()
    with pytest.raises(DeviceError):
        model.to("cuda")
    assert model.device == "cpu"
    assert all(model.params()[k] is v for k, v in arrays.items())


def test_to_device_on_the_cpu_returns_numpy_arrays_unchanged():
    a = np.arange(3, dtype=np.float32)
    assert backend.to_device(a, "cpu") is a
    assert backend.device_of(a) == "cpu" and backend.device_of(1.0) == "cpu"
    assert backend.to_device(None, "cpu") is None


@pytest.mark.parametrize("command", ["train --limit 50 --epochs 1", "evaluate RUN",
                                     "predict RUN picture.png"])
def test_the_cli_says_in_one_line_what_is_missing_for_device_cuda(command, tmp_path,
                                                                   monkeypatch):
    from cli_runner import run_cli

    monkeypatch.setitem(sys.modules, "cupy", None)
    out = tmp_path / "run"
    argv = command.replace("RUN", str(out)).split() + ["--device", "cuda"]
    if argv[0] == "train":
        argv += ["--out", str(out)]
    status, _, err = run_cli(*argv)
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tatamu: error: device 'cuda' needs CuPy")
    assert "pip install 'tatamu[gpu13]'" in lines[0] and "--device cpu" in lines[0]
    assert not out.exists()  # refused before any run folder is made


def test_the_cli_refuses_an_unknown_device_naming_the_ones_that_work():
    from cli_runner import run_cli

    status, _, err = run_cli("train", "--device", "tpu")
    assert status == 2 and "unknown device 'tpu'; use 'cpu', 'cuda' or 'cuda:N'" in err
