"""End to end on the real, shipped MNIST: the issue's public interface, called literally, and the
``tatamu train`` command reaching a stated accuracy.

The default-suite run trains SimpleConvNet for 1 epoch on the first 20,000 training images
(batch 20, Adam 3e-3) and must reach 95% on the first 1,000 test images (issue 15, decision 1;
measured 96.7-97.7% over seeds 0-4).

Measured earlier for smaller budgets (1 epoch, first 5,000 training and 1,000 test images;
seeds 0-4 for the two best settings, 0-1 for the others). A PyTorch twin of SimpleConvNet with
the same data, He init and Adam lands in the same range (91.2-94.2%), so 95% was out of reach
of that budget, not a tatamu bug:

    batch 20, lr 3e-3: 93.8-95.4%     batch 10, lr 1e-3: 92.5-93.9%
    batch 10, lr 2e-3: 93.8-95.2%     batch 25, lr 1e-3: 92.6-93.4%
    batch 50, lr 2e-3: 91.0-92.6%     batch 16-40, lr 1e-3-5e-3: 93.2-94.6%

Also measured (seeds 0-4, batch 20, lr 3e-3 unless said): a per-step cosine decay of the
learning rate 92.5-94.4%; inputs normalised to mean 0, std 1: 88.7-93.0%; LeNet-5 90.2-91.3%;
DeepConvNet 66-89%; Momentum/Nesterov 81-95%. Larger budgets: 10,000 images x 1 epoch
94.8-96.4% (mean 95.9), 5,000 x 2 epochs 94.8-95.8%, 10,000 x 2 epochs 96.0-97.4%, 20,000 x 1
epoch 96.7-97.7%: the last two clear 95% for every seed. The full 60,000 for 1 epoch (batch
50, lr 1e-3) reaches 98.4% on the full test set (batch 20 and 100: 98.3%).
"""

from __future__ import annotations

import contextlib
import io
import json
import re

import numpy as np
import pytest

import tatamu
from tatamu.cli import app as cli

#: The settings of the default-suite run (see above).
E2E_IMAGES, E2E_BATCH_SIZE, E2E_LR, E2E_SEED = 20_000, 20, 3e-3, 0


def test_the_public_interface_called_literally(tmp_path):
    (x_train, y_train), (x_test, y_test) = tatamu.datasets.load_mnist()
    assert x_train.shape == (60000, 1, 28, 28) and x_test.shape == (10000, 1, 28, 28)
    assert x_train.dtype == np.float32 and y_train.dtype.kind == "i"
    model = tatamu.models.simple_convnet()
    x, y = x_train[:1000], y_train[:1000]
    history = tatamu.train.fit(model, (x, y), epochs=1, batch_size=100,
                               optimizer=tatamu.optim.Adam(lr=1e-3), seed=0)
    assert history.epoch == [1] and history.stop_reason == "completed"
    result = tatamu.train.evaluate(model, (x_test[:500], y_test[:500]), batch_size=128)
    assert {"accuracy", "loss"} <= set(result)
    assert result["accuracy"] > 0.6  # ten Adam steps: far above chance (10%)
    probs = model.predict(x_test[:50])
    assert probs.shape == (50, 10) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    path = tmp_path / "model.npz"
    tatamu.save(model, path)
    np.testing.assert_array_equal(tatamu.load(path).predict(x_test[:50]), probs)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """`tatamu train` on 20,000 images for 1 epoch: (status, accuracy printed, history)."""
    out_dir = tmp_path_factory.mktemp("e2e") / "run"
    argv = ["train", "--limit", str(E2E_IMAGES), "--test-limit", "1000", "--epochs", "1",
            "--batch-size", str(E2E_BATCH_SIZE), "--lr", str(E2E_LR), "--seed", str(E2E_SEED),
            "--no-progress", "--out", str(out_dir)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        status = cli.main(argv)
    match = re.search(r"test accuracy: (\d+\.\d\d)% on 1,000 test images", out.getvalue())
    history = json.loads((out_dir / "history.json").read_text())
    return status, float(match.group(1)) if match else None, history


def test_cli_trains_simple_convnet_on_20000_images_to_95_percent(cli_run):
    status, printed, history = cli_run
    assert status == 0
    assert printed is not None
    assert printed == pytest.approx(100 * history["test_accuracy"][0], abs=0.006)
    assert printed >= 95.0  # on the first 1,000 test images (1,666 of the 20,000 held out)


@pytest.mark.slow
def test_full_training_set_one_epoch_reaches_98_percent(tmp_path):
    out_dir = tmp_path / "full"
    status = cli.main(["train", "--epochs", "1", "--batch-size", "50", "--lr", "1e-3",
                       "--no-progress", "--out", str(out_dir)])
    assert status == 0
    history = json.loads((out_dir / "history.json").read_text())
    assert history["test_accuracy"][0] >= 0.98  # on the full 10,000-image test set
