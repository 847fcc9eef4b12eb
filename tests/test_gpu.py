"""The same model on a GPU: training, prediction and checkpoints on CuPy (skipped without one).

Run on a GPU machine with ``python -m pytest -m gpu`` (benchmarks/gpu_check.sh runs these
tests and the GPU benchmark in one go).
"""

from __future__ import annotations

import numpy as np
import pytest

from tatamu.checkpoint import store as checkpoint
from tatamu.datasets import load_mnist
from tatamu.models import deep_convnet, simple_convnet
from tatamu.optim import Adam
from tatamu.training.loop import evaluate, fit


def _cupy():
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            return cupy
        reason = "CuPy sees no CUDA GPU"
    except Exception as exc:  # not installed, or no driver
        reason = f"{type(exc).__name__}: {str(exc).strip()[:80]}"
    pytest.skip(f"needs a CUDA GPU and CuPy ({reason})")


pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def mnist_slice():
    (x, y), (xt, yt) = load_mnist()
    return (x[:3000], y[:3000]), (xt[:1000], yt[:1000])


def test_a_model_moves_to_the_gpu_and_back_with_its_weights():
    cp = _cupy()
    model = simple_convnet(rng=0)
    before = {k: v.copy() for k, v in model.params().items()}
    model.to("cuda")
    assert model.device == "cuda"
    assert all(isinstance(v, cp.ndarray) for v in model.params().values())
    model.to("cpu")
    assert model.device == "cpu"
    for name, value in model.params().items():
        assert isinstance(value, np.ndarray)
        np.testing.assert_array_equal(value, before[name])


@pytest.mark.parametrize("build", [simple_convnet, deep_convnet])
def test_gpu_forward_and_backward_equal_the_cpu(build, rng):
    _cupy()
    cpu = build(rng=0)
    gpu = build(rng=0).to("cuda")
    x = rng.random((8, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, 8)
    loss_cpu, loss_gpu = cpu.gradient(x, labels), gpu.gradient(x, labels)
    assert loss_gpu == pytest.approx(loss_cpu, rel=1e-4)
    for name, grad in cpu.grads().items():
        np.testing.assert_allclose(gpu.grads()[name].get(), grad, rtol=1e-3, atol=1e-5,
                                   err_msg=name)
    np.testing.assert_allclose(gpu.predict(x), cpu.predict(x), rtol=1e-4, atol=1e-6)


def test_fit_on_the_gpu_with_host_data_and_a_checkpoint_that_loads_on_the_cpu(
        tmp_path, mnist_slice):
    cp = _cupy()
    train, test = mnist_slice
    model = simple_convnet(rng=0).to("cuda")
    optimizer = Adam(lr=1e-3)
    history = fit(model, train, test, epochs=2, batch_size=100, optimizer=optimizer,
                  progress=False, checkpoint_dir=tmp_path / "run")
    assert history.stop_reason == "completed"
    assert all(isinstance(v, cp.ndarray) for v in model.params().values())
    assert all(isinstance(v, np.ndarray) for v in optimizer.state_dict().values())  # to save
    gpu_accuracy = evaluate(model, test)["accuracy"]
    assert gpu_accuracy > 0.85
    on_cpu = checkpoint.load(tmp_path / "run" / "last.npz")
    assert on_cpu.device == "cpu"
    assert evaluate(on_cpu, test)["accuracy"] == pytest.approx(gpu_accuracy, abs=2e-3)
    back = on_cpu.to("cuda")
    assert evaluate(back, test)["accuracy"] == pytest.approx(gpu_accuracy, abs=2e-3)


def test_resume_on_the_gpu_continues_a_cpu_run(tmp_path, mnist_slice):
    _cupy()
    train, test = mnist_slice
    model = simple_convnet(rng=0)
    fit(model, train, epochs=1, batch_size=100, optimizer=Adam(), progress=False,
        checkpoint_dir=tmp_path / "run", threads=1)
    resumed = checkpoint.load(tmp_path / "run" / "last.npz").to("cuda")
    history = fit(resumed, train, test, epochs=2, batch_size=100, optimizer=Adam(),
                  progress=False, checkpoint_dir=tmp_path / "run", resume=True, threads=1)
    assert history.epoch == [1, 2]
