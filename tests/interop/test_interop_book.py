"""The book's params.pkl in tatamu: same predictions as the book's own network.

References: (1) a params.pkl made by the book's own code (tests/fixtures/make_book_params.py)
with the book's predict() outputs recorded beside it; (2) book_forward.py, the book's forward
pass written in float64 NumPy in the tests. Tolerance: tatamu computes in float32, so
probabilities agree to ~1e-6; 1e-5 absolute leaves room for summation order, not for a wrong
weight (which moves them by O(0.1)).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from book_forward import (
    deep_convnet_params,
    deep_convnet_predict,
    simple_convnet_params,
    simple_convnet_predict,
    softmax,
)
from cli_runner import run_cli

from tatamu.checkpoint import store as checkpoint
from tatamu.errors import CheckpointError
from tatamu.interop import import_book_params, load_book_params
from tatamu.models import simple_convnet

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROB_ATOL = 1e-5


def write_book_pickle(path: Path, params: dict, protocol: int, numpy_1x: bool = False) -> Path:
    """What the book's save_params writes: pickle.dump of a dict of float64 arrays."""
    data = pickle.dumps(params, protocol=protocol)
    if numpy_1x:
        data = as_numpy_1x(data)
    path.write_bytes(data)
    return path


def as_numpy_1x(data: bytes) -> bytes:
    """The same pickle as NumPy 1.x writes it: its module is ``numpy.core``, not ``numpy._core``.

    GLOBAL names are newline-terminated; a SHORT_BINUNICODE (protocol 4+) carries its length,
    so it is rewritten with one byte less, and pickletools.optimize re-frames the stream.
    """
    import pickletools

    for long, short in ((b"numpy._core.multiarray", b"numpy.core.multiarray"),
                        (b"numpy._core.numeric", b"numpy.core.numeric")):
        data = data.replace(bytes([0x8C, len(long)]) + long, bytes([0x8C, len(short)]) + short)
        data = data.replace(long + b"\n", short + b"\n")
    assert b"numpy._core" not in data
    return pickletools.optimize(data) if data[1] >= 4 else data


def images(rng, n=12, shape=(1, 28, 28)):
    return rng.random((n, *shape))  # float64, as the book's load_mnist(normalize=True)


def test_a_params_pkl_made_by_the_books_own_code_predicts_as_the_book_did():
    model = load_book_params(FIXTURES / "book_simple_params.pkl", "simple")
    expected = np.load(FIXTURES / "book_simple_expected.npz")
    x = (expected["pixels"] / 255.0).astype(np.float32)
    probs = model.predict(x)
    book = softmax(expected["logits"])
    np.testing.assert_allclose(probs, book, atol=PROB_ATOL)
    np.testing.assert_array_equal(probs.argmax(axis=1), book.argmax(axis=1))
    assert model.dtype == np.float32


def test_the_fixture_agrees_with_the_forward_pass_written_in_the_tests():
    # the two references agree, so either one failing means tatamu moved, not the references
    with open(FIXTURES / "book_simple_params.pkl", "rb") as f:
        params = pickle.load(f)  # our own fixture, trusted
    expected = np.load(FIXTURES / "book_simple_expected.npz")
    logits = simple_convnet_predict(params, expected["pixels"][:8] / 255.0)
    # float64 both sides; only summation order may differ from the machine that recorded them
    np.testing.assert_allclose(logits, expected["logits"][:8], rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("numpy_1x", [False, True], ids=["numpy2", "numpy1"])
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_simple_convnet_params_import_and_predict_as_the_books_forward_pass(
        tmp_path, rng, protocol, numpy_1x):
    params = simple_convnet_params(rng)
    path = write_book_pickle(tmp_path / "params.pkl", params, protocol, numpy_1x)
    result = import_book_params(path, "simple")
    x = images(rng)
    book = softmax(simple_convnet_predict(params, x))
    probs = result.model.predict(x.astype(np.float32))
    np.testing.assert_allclose(probs, book, atol=PROB_ATOL)
    np.testing.assert_array_equal(probs.argmax(axis=1), book.argmax(axis=1))
    assert result.names == {"W1": "conv1.W", "b1": "conv1.b", "W2": "linear1.W",
                            "b2": "linear1.b", "W3": "linear2.W", "b3": "linear2.b"}
    assert result.notes == ["float64 arrays converted to float32"]


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_deep_convnet_params_import_and_predict_as_the_books_forward_pass(
        tmp_path, rng, protocol):
    params = deep_convnet_params(rng)
    path = write_book_pickle(tmp_path / "params.pkl", params, protocol)
    result = import_book_params(path, "deep")
    x = images(rng, n=6)
    logits = deep_convnet_predict(params, x)
    probs = result.model.predict(x.astype(np.float32))
    np.testing.assert_allclose(probs, softmax(logits), atol=PROB_ATOL)
    # the book's Dropout scales at prediction time: folded, so even the logits are the book's
    np.testing.assert_allclose(result.model.eval().forward(x.astype(np.float32)), logits,
                               rtol=1e-4, atol=1e-4)
    assert any("Dropout" in n and "linear2" in n for n in result.notes)
    assert result.names["W7"] == "linear1.W" and result.names["b8"] == "linear2.b"


def test_other_input_sizes_and_channels_follow_input_shape(tmp_path, rng):
    params = simple_convnet_params(rng, channels=3, size=32, filters=6, hidden=16, classes=5)
    path = write_book_pickle(tmp_path / "params.pkl", params, 4)
    model = load_book_params(path, "simple", input_shape=(3, 32, 32))
    x = images(rng, shape=(3, 32, 32))
    np.testing.assert_allclose(model.predict(x.astype(np.float32)),
                               softmax(simple_convnet_predict(params, x)), atol=PROB_ATOL)


def test_a_model_built_by_the_user_takes_another_conv_param(tmp_path, rng):
    params = simple_convnet_params(rng, size=12, pad=1, filters=4, hidden=8)
    path = write_book_pickle(tmp_path / "params.pkl", params, 2)
    model = simple_convnet((1, 12, 12), filters=4, padding=1, hidden=8)
    assert load_book_params(path, model) is model
    x = images(rng, shape=(1, 12, 12))
    np.testing.assert_allclose(model.predict(x.astype(np.float32)),
                               softmax(simple_convnet_predict(params, x, pad=1)), atol=PROB_ATOL)


def test_float32_arrays_need_no_conversion_note(tmp_path, rng):
    params = {k: v.astype(np.float32) for k, v in simple_convnet_params(rng, size=12).items()}
    path = write_book_pickle(tmp_path / "params.pkl", params, 4)
    result = import_book_params(path, "simple", input_shape=(1, 12, 12))
    assert result.notes == []


@pytest.mark.parametrize("change, words", [
    (lambda p: p.update(W2=p["W2"].T), ["W2", "(100, 4320)", "(4320, 100)", "linear1.W"]),
    (lambda p: p.update(b1=p["b1"][:-1]), ["b1", "(29,)", "(30,)"]),
    (lambda p: p.pop("b3"), ["missing b3"]),
    (lambda p: p.update(gamma1=np.ones(3)), ["unexpected gamma1", "BatchNorm"]),
    (lambda p: p.update(W4=np.ones((3, 3))), ["unexpected W4"]),
    (lambda p: p["W3"].__setitem__((0, 0), np.nan), ["W3", "NaN"]),
], ids=["transposed", "short-bias", "missing", "batchnorm-net", "extra", "nan"])
def test_a_file_that_does_not_fit_is_refused_naming_the_key_and_shapes(
        tmp_path, rng, change, words):
    params = simple_convnet_params(rng)
    change(params)
    path = write_book_pickle(tmp_path / "params.pkl", params, 4)
    with pytest.raises(CheckpointError) as info:
        load_book_params(path, "simple")
    for word in words:
        assert word in str(info.value)
    assert "\n" not in str(info.value)


def test_a_deep_convnet_file_given_as_simple_says_try_deep(tmp_path, rng):
    path = write_book_pickle(tmp_path / "params.pkl", deep_convnet_params(rng), 4)
    with pytest.raises(CheckpointError, match="try --model deep"):
        load_book_params(path, "simple")


def test_the_wrong_input_size_is_refused_with_the_input_hint(tmp_path, rng):
    path = write_book_pickle(tmp_path / "params.pkl", simple_convnet_params(rng), 4)
    with pytest.raises(CheckpointError, match=r"W2 has shape \(4320, 100\).*--input"):
        load_book_params(path, "simple", input_shape=(1, 32, 32))


def test_import_book_command_writes_a_checkpoint_that_evaluate_can_read(tmp_path, rng):
    path = write_book_pickle(tmp_path / "params.pkl", simple_convnet_params(rng), 2)
    out = tmp_path / "book.npz"
    status, stdout, stderr = run_cli("import-book", path, "--model", "simple", "--out", out)
    assert status == 0, stderr
    assert "W1,b1 -> conv1; W2,b2 -> linear1; W3,b3 -> linear2" in stdout
    assert "note: float64 arrays converted to float32" in stdout
    saved = checkpoint.read(out)
    assert saved.meta["dataset"] == "mnist" and saved.meta["source"]["book_model"] == \
        "SimpleConvNet"
    x = images(rng)
    np.testing.assert_allclose(saved.model.predict(x.astype(np.float32)),
                               softmax(simple_convnet_predict(pickle.loads(path.read_bytes()),
                                                              x)), atol=PROB_ATOL)
    # an existing --out is never replaced without --force
    status, _, stderr = run_cli("import-book", path, "--model", "simple", "--out", out)
    assert status == 2 and "already exists" in stderr and stderr.count("\n") == 1
    assert run_cli("import-book", path, "--model", "simple", "--out", out, "--force")[0] == 0


def test_import_book_with_input_shape_on_the_command_line(tmp_path, rng):
    params = simple_convnet_params(rng, channels=3, size=16, filters=4, hidden=8)
    path = write_book_pickle(tmp_path / "params.pkl", params, 5)
    out = tmp_path / "book.npz"
    status, _, stderr = run_cli("import-book", path, "--model", "simple", "--input", "3x16x16",
                                "--out", out)
    assert status == 0, stderr
    assert checkpoint.load(out).input_shape == (3, 16, 16)
    assert "dataset" not in checkpoint.read(out).meta
