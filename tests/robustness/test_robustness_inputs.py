"""Bad arrays handed to tatamu from Python: every entry point, every usual mistake.

The same mistakes are tried at each door a learner uses: a layer's ``forward``, the model's
``predict``, ``fit`` (training and validation data) and ``evaluate``. The answer must be
tatamu's own error (``TatamuError``; ``ValueError`` too), one line, naming what was wrong and
the fix. Shapes are those of a model taking (1, 8, 8) images.

Known gaps (strict xfail: they fail loudly once fixed, so this file gets updated) are listed
at the end and in docs/robustness.md.
"""

from __future__ import annotations

import numpy as np
import pytest
from cli_runner import run_cli
from robustness_helpers import one_error_line, tiny_data, tiny_model

from tatamu.cli.flags import cli_message
from tatamu.errors import ConfigError, DataError, ShapeError, TatamuError
from tatamu.im2col import conv_output_size
from tatamu.layers import AvgPool2D, Conv1D, Conv2D, MaxPool2D
from tatamu.losses import SoftmaxCrossEntropy
from tatamu.optim import SGD, Adam
from tatamu.training.loop import evaluate, fit

X, Y = tiny_data(12)


def refused(call, error=TatamuError, *phrases: str) -> str:
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert isinstance(info.value, TatamuError) and isinstance(info.value, ValueError)
    assert "\n" not in message
    for phrase in phrases:
        assert phrase in message, message
    return message


def train(x, y=None, **kwargs):
    settings = {"epochs": 1, "batch_size": 4, "optimizer": Adam(), "progress": False, **kwargs}
    return fit(tiny_model(), (x, Y if y is None else y), **settings)


# -- shapes ---------------------------------------------------------------------------------------
IMAGES = {
    # name: (x, phrases in the message from fit/evaluate)
    "nhwc-for-nchw": (X.transpose(0, 2, 3, 1), ["NHWC", "x.transpose(0, 3, 1, 2)"]),
    "no-channel-axis": (X[:, 0], ["x[:, None]"]),
    "extra-axis": (X[:, None], ["(1, 8, 8)", "(12, 1, 1, 8, 8)"]),
    "three-channels": (np.repeat(X, 3, axis=1), ["(1, 8, 8)", "(12, 3, 8, 8)"]),
    "other-size": (np.zeros((12, 1, 9, 9), np.float32), ["(1, 8, 8)", "(12, 1, 9, 9)"]),
    "uint8-pixels": ((X * 255).astype(np.uint8), ["uint8", "astype(np.float32) / 255"]),
    "a-list": (X.tolist(), ["np.asarray"]),
}


@pytest.mark.parametrize("case", list(IMAGES), ids=list(IMAGES))
def test_wrong_images_are_refused_by_fit_and_evaluate_with_the_fix(case):
    x, phrases = IMAGES[case]
    refused(lambda: train(x), DataError, *phrases)
    refused(lambda: evaluate(tiny_model(), (x, Y)), DataError, *phrases)
    refused(lambda: train(X, val_data=(x, Y)), DataError, *phrases)


PREDICT = {
    "nhwc-for-nchw": (X.transpose(0, 2, 3, 1), ["channels-last (NHWC)", "x.transpose"]),
    "single-sample": (X[0], ["x[None]"]),
    "three-channels": (np.repeat(X, 3, axis=1), ["expected 1 channels", "(12, 3, 8, 8)"]),
    "uint8-pixels": ((X * 255).astype(np.uint8), ["uint8", "astype(np.float32)"]),
    "object-array": (np.array([None] * 4, dtype=object), ["dtype object"]),
    "a-list": (X.tolist(), ["np.asarray"]),
    "no-samples": (X[:0], ["no samples"]),
    "non-dividing-size": (np.zeros((2, 1, 9, 9), np.float32), ["does not divide", "2.5"]),
}


@pytest.mark.parametrize("case", list(PREDICT), ids=list(PREDICT))
def test_wrong_input_to_predict_is_refused_with_the_fix(case):
    x, phrases = PREDICT[case]
    refused(lambda: tiny_model().predict(x), TatamuError, *phrases)


@pytest.mark.parametrize(
    ("layer", "shape", "phrases"),
    [(Conv2D(3, 4, 3, rng=0), (2, 8, 8, 3), ["NHWC", "transpose(0, 3, 1, 2)"]),
     (Conv2D(3, 4, 3, rng=0), (3, 8, 8), ["x[None]"]),
     (Conv1D(2, 4, 3, rng=0), (5, 16, 2), ["(N, C, L)"]),
     (MaxPool2D(2), (2, 3, 8), ["(N, C, H, W)"])],
    ids=["conv-nhwc", "conv-3d", "conv1d-nlc", "pool-3d"],
)
def test_a_layer_given_the_wrong_layout_says_which_it_takes(layer, shape, phrases):
    refused(lambda: layer(np.zeros(shape, np.float32)), ShapeError, *phrases)


# -- sizes that do not divide ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "shape", "phrases"),
    [(lambda: Conv2D(1, 2, 3, stride=2, rng=0), (1, 1, 10, 10), ["4.5", "rounding="]),
     (lambda: MaxPool2D(2), (1, 1, 7, 7), ["3.5", "rounding="]),
     (lambda: AvgPool2D(3, stride=2), (1, 1, 8, 8), ["3.5"]),
     (lambda: Conv2D(1, 2, 9, rng=0), (1, 1, 5, 5), ["larger than"])],
    ids=["conv-stride-2", "pool-odd-size", "avgpool-3-2", "kernel-larger-than-input"],
)
def test_a_size_that_does_not_divide_is_refused_with_the_numbers_and_the_fix(make, shape,
                                                                            phrases):
    refused(lambda: make()(np.zeros(shape, np.float32)), ConfigError, *phrases)


def test_the_size_formula_and_the_size_command_refuse_the_same():
    refused(lambda: conv_output_size(10, 3, 2), ConfigError, "4.5")
    status, out, err = run_cli("size", "10", "--kernel", "3", "--stride", "2")
    assert status == 2
    one_error_line(err, "4.5")


# -- NaN and inf ----------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_nan_or_inf_in_the_images_is_refused_before_training(value):
    x = X.copy()
    x[3, 0, 2, 2] = value
    refused(lambda: train(x), DataError, "NaN or inf")
    refused(lambda: evaluate(tiny_model(), (x, Y)), DataError, "NaN or inf")


def test_a_loss_that_becomes_nan_stops_training_with_the_reason_and_the_fix(tmp_path):
    history = fit(tiny_model(), (X, Y), epochs=3, batch_size=4, optimizer=SGD(lr=1e30),
                  progress=False, checkpoint_dir=tmp_path)
    assert history.stop_reason == "diverged"
    assert "smaller one (lr)" in history.message and "learning rate" in history.message
    # the same message as an error whose fix is data: the CLI names its option
    assert str(history.error) == history.message and cli_message(history.error) == (
        history.message.replace("(lr)", "(--lr)"))
    assert "error" not in history.to_dict()
    for name in ("initial.npz",):  # nothing non-finite was ever saved
        for value in tatamu_load(tmp_path / name).params().values():
            assert np.isfinite(value).all()


def tatamu_load(path):
    import tatamu

    return tatamu.load(path)


# -- labels ---------------------------------------------------------------------------------------
LABELS = {
    "out-of-range": (Y + 10, ShapeError, ["[0, 10)"]),
    "negative": (Y - 20, ShapeError, ["[0, 10)"]),
    "float-dtype": (Y.astype(np.float32), ShapeError, ["integers", "astype(np.int64)"]),
    "bool-dtype": (Y > 4, ShapeError, ["integers"]),
    "strings": (Y.astype(str), ShapeError, ["integers"]),
    "too-few": (Y[:7], DataError, ["12 images but 7 labels"]),
    "one-hot-too-narrow": (np.eye(3, dtype=np.float32)[Y % 3], ShapeError, ["(12, 10)"]),
    "one-hot-with-nan": (np.full((12, 10), np.nan, np.float32), DataError, ["NaN"]),
    "one-hot-scaled": (3 * np.eye(10, dtype=np.float32)[Y], DataError, ["summing to 1"]),
    "one-hot-negative": (np.eye(10, dtype=np.float32)[Y] * 2 - np.float32(0.1), DataError,
                         [">= 0"]),
}


@pytest.mark.parametrize("case", list(LABELS), ids=list(LABELS))
def test_wrong_labels_are_refused_by_fit_and_evaluate(case):
    labels, error, phrases = LABELS[case]
    refused(lambda: train(X, labels), error, *phrases)
    refused(lambda: evaluate(tiny_model(), (X, labels)), error, *phrases)


def test_the_loss_refuses_labels_out_of_range_too():
    logits = np.zeros((12, 10), np.float32)
    refused(lambda: SoftmaxCrossEntropy().forward(logits, Y + 10), ShapeError, "[0, 10)")


def test_integer_one_hot_labels_still_train():
    history = train(X, np.eye(10, dtype=np.int64)[Y])
    assert history.stop_reason == "completed"


# -- empty data and batch sizes -------------------------------------------------------------------
def test_an_empty_dataset_is_refused():
    refused(lambda: train(X[:0], Y[:0]), DataError, "empty")
    refused(lambda: evaluate(tiny_model(), (X[:0], Y[:0])), DataError, "empty")


@pytest.mark.parametrize("batch_size", [13, 10**9], ids=["n-plus-1", "billion"])
def test_a_batch_larger_than_the_data_trains_on_all_of_it_once_per_epoch(batch_size):
    history = train(X, epochs=2, batch_size=batch_size, val_data=(X, Y))
    assert history.stop_reason == "completed" and history.epoch == [1, 2]
    assert evaluate(tiny_model(), (X, Y), batch_size=batch_size)["n"] == 12


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [({"batch_size": 0}, "batch_size"), ({"batch_size": 2.5}, "batch_size"),
     ({"batch_size": True}, "batch_size"), ({"epochs": 0}, "epochs"),
     ({"epochs": -1}, "epochs"), ({"threads": 0}, "threads must be an int >= 1"),
     ({"threads": 1.5}, "threads must be an int >= 1")],
    ids=["batch-0", "batch-float", "batch-bool", "epochs-0", "epochs-negative", "threads-0",
         "threads-float"],
)
def test_impossible_settings_are_config_errors(kwargs, phrase):
    refused(lambda: train(X, **kwargs), ConfigError, phrase)


@pytest.mark.parametrize("argv", [["--batch-size", "0"], ["--epochs", "-3"], ["--limit", "0"],
                                  ["--lr", "inf"], ["--batch-size", "ten"], ["--threads", "0"]],
                         ids=["batch-0", "epochs-neg", "limit-0", "lr-inf", "batch-word",
                              "threads-0"])
def test_the_same_settings_on_the_command_line_exit_2(argv):
    status, _, err = run_cli("train", *argv)
    assert status == 2
    one_error_line(err, argv[0])


@pytest.mark.parametrize("value", ["two", "0"], ids=["word", "zero"])
def test_a_bad_thread_count_in_the_environment_is_one_line_naming_the_variable(monkeypatch,
                                                                              value):
    monkeypatch.setenv("TATAMU_NUM_THREADS", value)
    status, _, err = run_cli("train", "--limit", "10", "--test-limit", "10", "--epochs", "1",
                             "--no-progress")
    assert status == 2
    one_error_line(err, "TATAMU_NUM_THREADS", repr(value))


# -- known gaps (not counted in docs/robustness.md's totals) --------------------------------------
def test_gap_nan_input_to_predict_is_refused():
    x = X.copy()
    x[0, 0, 0, 0] = np.nan
    with pytest.raises(TatamuError):
        tiny_model().predict(x)


def test_gap_an_empty_batch_into_forward_is_a_shape_error():
    with pytest.raises(TatamuError):
        tiny_model().forward(X[:0])


def test_gap_a_scalar_into_predict_is_a_shape_error():
    with pytest.raises(TatamuError):
        tiny_model().predict(np.float32(1))

