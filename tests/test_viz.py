"""``tatamu show`` and ``tatamu.viz``: every picture from a small, really trained checkpoint.

A session fixture trains SimpleConvNet (the book's, 30 filters) with ``tatamu train`` on 1,000
MNIST images for one epoch (a few seconds), so the run folder has what a learner's has:
``initial.npz``, ``best.npz``, ``last.npz`` and ``history.json``. Each ``show`` command must
write a valid PNG of the pixel size its layout gives and print its path; every user error is
one line. The numbers behind the pictures are checked against independent oracles: central
differences for the saliency gradient, hand-made probabilities for the mistakes' order.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli
from PIL import Image
from reference import numerical_gradient

import tatamu
from tatamu import viz
from tatamu.layers import Flatten, Linear, ReLU
from tatamu.models import simple_convnet
from tatamu.viz.probe import dream, input_gradients, saliency_map

TEST_LIMIT = "300"



def one_error_line(err: str, *phrases: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tatamu: error: ") and "Traceback" not in err
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


def png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as img:
        img.verify()  # a complete, valid PNG
    with Image.open(path) as img:
        assert img.format == "PNG"
        return img.size


@pytest.fixture(scope="session")
def mnist_cache():
    """load_dataset, read from disk once per session (each show reads the test set)."""
    cache: dict = {}
    real = tatamu.datasets.load_dataset

    def cached(name, **kwargs):
        key = (name, str(kwargs.get("root")))
        if key not in cache:
            cache[key] = real(name, **kwargs)
        return cache[key]

    return cached


@pytest.fixture(autouse=True)
def _fast_data(monkeypatch, mnist_cache):
    monkeypatch.setattr(tatamu.datasets, "load_dataset", mnist_cache)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory, mnist_cache) -> Path:
    """A real run folder: SimpleConvNet trained by ``tatamu train`` on 1,000 MNIST images."""
    out = tmp_path_factory.mktemp("vizrun") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tatamu.datasets, "load_dataset", mnist_cache)
        status, _, err = run_cli("train", "--limit", "1000", "--test-limit", TEST_LIMIT,
                                 "--epochs", "1", "--no-progress", "--out", out)
    assert status == 0, err
    return out


# -- every picture, through the command line -----------------------------------------------------
@pytest.mark.parametrize(("argv", "name", "size"), [
    (["filters"], "filters.png", (770, 968)),  # 3 panels of 3x10 tiles: before, after, change
    (["feature-maps", "--image", "7"], "feature-maps-7.png", (800, 832)),  # input, conv1, pool1
    (["errors", "--limit", TEST_LIMIT, "--count", "10"], "errors.png", (755, 420)),  # 2x5
    (["confusion", "--limit", TEST_LIMIT], "confusion.png", (880, 790)),
    (["curves"], "curves.png", (1000, 400)),
    (["saliency", "--image", "7"], "saliency-7.png", (1020, 390)),
    (["dream", "--layer", "conv1", "--steps", "20"], "dream-conv1.png", (1110, 480)),  # 3x10
    (["dream", "--layer", "linear2", "--channel", "3", "--steps", "5"], "dream-linear2-ch3.png",
     (700, 422)),
])
def test_show_writes_a_png_of_the_expected_size(run_dir, tmp_path, argv, name, size):
    import matplotlib.pyplot as plt

    status, out, err = run_cli("show", argv[0], run_dir, "--out", tmp_path, *argv[1:])
    assert status == 0, err
    path = Path(out.strip())
    assert path == tmp_path / name
    assert png_size(path) == size
    assert plt.get_fignums() == []  # every figure closed


def test_show_writes_into_the_current_folder_by_default(run_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, _ = run_cli("show", "curves", run_dir / "best.npz")
    assert status == 0 and out.strip() == "curves.png"
    assert (tmp_path / "curves.png").is_file()


def test_show_out_may_name_the_file(run_dir, tmp_path):
    status, out, _ = run_cli("show", "filters", run_dir, "--out", tmp_path / "mine.png")
    assert status == 0 and Path(out.strip()) == tmp_path / "mine.png"


def test_show_feature_maps_of_an_image_file(run_dir, tmp_path):
    picture = np.zeros((40, 40), dtype=np.uint8)
    picture[8:32, 18:22] = 255  # a "1", larger than 28x28: resized, with a note in the caption
    Image.fromarray(picture).save(tmp_path / "one.png")
    status, out, err = run_cli("show", "feature-maps", run_dir, "--image", tmp_path / "one.png",
                               "--out", tmp_path)
    assert status == 0, err
    assert Path(out.strip()).name == "feature-maps-one.png"


def test_matplotlib_stays_out_of_import_tatamu_and_pyplot_out_of_drawing(tmp_path):
    """Pictures never go through pyplot: no window can open, and a notebook's or script's
    own backend and figure list are left as they were."""
    code = ("import sys, tatamu, tatamu.viz, tatamu.explain, tatamu.cli; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported by import tatamu'; "
            "from tatamu import explain, viz; "
            f"viz.plot_walkthrough(explain.explain_conv(), {str(tmp_path / 'w.png')!r}); "
            "viz.plot_walkthrough(explain.explain_pool()); "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (tmp_path / "w.png").stat().st_size > 1000


# -- user errors: one line, exit status 2 -------------------------------------------------------
@pytest.mark.parametrize(("argv", "phrase"), [
    (["feature-maps", "--image", "300000"], "out of range"),
    (["saliency", "--image", "-1"], "out of range"),
    (["saliency", "--image", "0", "--class", "10"], "class 10"),
    (["dream", "--layer", "conv9"], "no layer 'conv9'"),
    (["dream", "--channel", "30"], "30 channels"),
    (["filters", "--layer", "linear1"], "not a convolution"),
    (["feature-maps", "--image", "no-such.png"], "no image file"),
])
def test_show_user_errors(run_dir, tmp_path, argv, phrase):
    status, _, err = run_cli("show", argv[0], run_dir, "--out", tmp_path, *argv[1:])
    assert status == 2
    one_error_line(err, phrase)


def test_show_needs_a_checkpoint(tmp_path):
    status, _, err = run_cli("show", "filters", tmp_path / "missing")
    assert status == 2
    one_error_line(err, "no checkpoint")
    status, _, err = run_cli("show", "filters", tmp_path)  # a folder, but not a run
    one_error_line(err, "without best.npz")


@pytest.fixture(scope="module")
def dense_checkpoint(tmp_path_factory) -> Path:
    """A model without any convolution layer."""
    model = tatamu.Sequential([Flatten(), Linear(784, 10, rng=0), ReLU()], (1, 28, 28))
    path = tmp_path_factory.mktemp("dense") / "dense.npz"
    tatamu.save(model, path, metadata={"dataset": "mnist"})
    return path


@pytest.mark.parametrize("what", ["filters", "feature-maps", "dream"])
def test_a_model_without_conv_layers_is_refused(dense_checkpoint, tmp_path, what):
    status, _, err = run_cli("show", what, dense_checkpoint, "--out", tmp_path)
    assert status == 2
    one_error_line(err, "no convolution")


def test_curves_need_a_history(dense_checkpoint, tmp_path):
    status, _, err = run_cli("show", "curves", dense_checkpoint, "--out", tmp_path)
    assert status == 2
    one_error_line(err, "no training history")


# -- the numbers behind the pictures --------------------------------------------------------------
def tiny_model(dtype=np.float64) -> tatamu.Sequential:
    return simple_convnet((1, 8, 8), 3, filters=2, kernel_size=3, hidden=5, rng=1, dtype=dtype)


def test_saliency_is_the_gradient_of_the_class_score(rng):
    model = tiny_model()
    x = rng.random((1, 8, 8))
    grad, target, probs = saliency_map(model, x, target=2)
    assert target == 2 and probs.shape == (3,) and np.isclose(probs.sum(), 1)

    def score():
        model.eval()
        return float(model.forward(x[None])[0, 2])

    np.testing.assert_allclose(grad, numerical_gradient(score, x), rtol=1e-6, atol=1e-9)


def test_input_gradients_restore_every_flag():
    model = tiny_model()
    model.eval()

    def flags():
        return [(layer.training, layer.caching, layer.needs_input_grad) for layer in model]

    before = flags()
    with input_gradients(model):
        assert all(layer.caching and not layer.training for layer in model)
        assert model["conv1"].needs_input_grad
    assert flags() == before
    assert before[0] == (False, False, False)
    model.train()
    saliency_map(model, np.zeros((1, 8, 8)))
    assert model.training and all(training and caching for training, caching, _ in flags())
    assert not model["conv1"].needs_input_grad


def test_probing_leaves_caches_and_gradients_as_they_were(rng):
    model = tiny_model()
    x = rng.random((4, 1, 8, 8))
    model.gradient(x, np.array([0, 1, 2, 0]))  # a training step's caches and gradients
    before = [dict(vars(layer)) for layer in model]
    saliency_map(model, x[0])
    dream(model, "relu1", [0], steps=2)
    for layer, was in zip(model, before, strict=True):
        now = vars(layer)
        assert now.keys() == was.keys()
        for name, value in was.items():
            assert now[name] is value, (layer.name, name)


def test_dream_raises_its_channels_activation():
    model = tiny_model(np.float32)
    _, start = dream(model, "relu1", [0, 1], steps=0)
    x, end = dream(model, "relu1", [0, 1], steps=30)
    assert x.shape == (2, 1, 8, 8) and x.min() >= 0 and x.max() <= 1
    assert np.all(end > start)
    _, start = dream(model, "linear2", [1], steps=0)
    _, end = dream(model, "linear2", [1], steps=30)
    assert end[0] > start[0]


def test_most_confident_mistakes_come_first():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.05, 0.95], [0.7, 0.3]])
    labels = np.array([0, 0, 0, 0, 1])  # wrong: 1 (0.8), 2 (0.6), 3 (0.95), 4 (0.7)
    np.testing.assert_array_equal(viz.most_confident_mistakes(probs, labels), [3, 1, 4, 2])


def test_errors_picture_without_mistakes(tmp_path):
    x = np.zeros((4, 1, 28, 28), np.float32)
    probs = np.eye(4)
    path = viz.plot_errors(x, np.arange(4), probs, tmp_path / "none.png")
    assert png_size(path)[0] > 100


def test_layer_outputs_are_every_layer_in_eval_mode(rng):
    model = tiny_model(np.float32)
    x = rng.random((2, 1, 8, 8), dtype=np.float32)
    outputs = viz.layer_outputs(model, x)
    assert list(outputs) == list(model.layers)
    h = x
    for name, layer in model.layers.items():  # the same as running the layers by hand
        h = layer.forward(h)
        np.testing.assert_array_equal(outputs[name], h)
    assert model.training  # the mode is restored


def test_deeper_layer_filters_per_input_channel(tmp_path):
    model = tatamu.models.deep_convnet(rng=0)
    path = viz.plot_filters(model, tmp_path / "conv2.png", layer="conv2")
    assert png_size(path) == (912, 802)  # 16 filters x 16 input channels of 3x3
