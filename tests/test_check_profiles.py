"""Course profiles: the DIVE INTO CODE form (``dic``), CS231n's function pairs (``cs231n``) and a
teacher's adapter file read by the same checks; correct layers in each form pass, and the book's
planted-mistake diagnoses hold in every form (tests/learners/dic_*.py, cs231n_*.py,
mycourse_*.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli

from tatamu.learn.checker import check_file, check_target
from tatamu.learn.checker.course_arrays import KnownArrays, RecordingOptimizer
from tatamu.learn.checker.course_roles import roles

LEARNERS = Path(__file__).parent / "learners"


def learner(name: str) -> str:
    return str(LEARNERS / name)


@pytest.mark.parametrize("file, profile, layers", [
    ("dic_correct.py", "dic", ["Conv2d", "MaxPool2D", "Conv1d", "FC", "ReLU"]),
    ("dic_variants.py", "dic", ["Conv2d", "Conv2dHWCF", "SimpleConv1d", "Conv1dMiniBatch",
                                "MaxPool2D", "FC"]),
    ("cs231n_correct.py", "cs231n", ["affine_forward", "relu_forward", "conv_forward_naive",
                                     "max_pool_forward_naive", "softmax_loss"]),
])
def test_correct_layers_in_each_form_pass(file, profile, layers):
    report = check_target(learner(file))
    assert [la.name for la in report.layers] == layers
    for layer in report.layers:
        assert layer.profile == profile
        assert layer.passed and not layer.noted, str(layer)
        assert len(layer.checks) >= 6 or layer.name == "SimpleConv1d"


def test_the_kinds_of_the_courses_layers():
    kinds = {la.name: la.kind for la in check_target(learner("dic_correct.py")).layers}
    assert kinds == {"Conv2d": "convolution", "MaxPool2D": "pooling", "Conv1d": "conv1d",
                     "FC": "affine", "ReLU": "relu"}
    kinds = {la.name: la.kind for la in check_target(learner("cs231n_correct.py")).layers}
    assert kinds == {"affine_forward": "affine", "relu_forward": "relu",
                     "conv_forward_naive": "convolution", "max_pool_forward_naive": "pooling",
                     "softmax_loss": "softmax"}


def test_what_a_form_cannot_take_is_said_not_hidden():
    pool = check_file(f"{learner('cs231n_correct.py')}:max_pool_forward_naive")
    assert "not checked in this form: no padding (pool_param has none)" in pool.notes
    fc = check_file(f"{learner('dic_correct.py')}:FC")
    assert any("(N, D) input only" in n for n in fc.notes)
    status, out, _ = run_cli("check", f"{learner('dic_correct.py')}:MaxPool2D", "--json")
    assert status == 0
    notes = json.loads(out)["layers"][0]["notes"]
    assert "not checked in this form: no padding (no padding argument)" in notes


def test_a_pair_is_named_by_either_function_or_its_stem():
    for name in ("conv_forward_naive", "conv_backward_naive", "conv"):
        report = check_file(f"{learner('cs231n_correct.py')}:{name}")
        assert report.name == "conv_forward_naive" and report.kind == "convolution"


def test_the_profile_can_be_given_and_a_wrong_one_finds_nothing():
    status, out, _ = run_cli("check", f"{learner('dic_correct.py')}:ReLU", "--profile", "book")
    assert status == 0 and "relu (detected" in out
    status, out, err = run_cli("check", learner("dic_correct.py"), "--profile", "cs231n",
                               "--json")
    assert status == 2 and json.loads(out)["status"] == "not-found"
    status, out, err = run_cli("check", learner("cs231n_correct.py"), "--profile", "nope")
    assert status == 2 and "invalid choice" in err


# -- the planted mistakes, in each course's form ---------------------------------------------
PLANTED = [  # (file, name, the check that fails, words of the diagnosis)
    ("dic_planted.py", "Conv2dFlipped", "the seeds' example", "kernel is flipped"),
    ("dic_planted.py", "Conv2dNoTranspose", "the seeds' example", "last transpose is missing"),
    ("dic_planted.py", "Conv2dStrideIgnored", "forward equals", "stride is ignored"),
    ("dic_planted.py", "Conv2dPaddingIgnored", "the seeds' example with padding",
     "padding is ignored"),
    ("dic_planted.py", "Conv2dCol2imOverwrites", "backward dx, dW, db", "col2im overwrites"),
    ("dic_planted.py", "Conv2dCol2imOverwrites", "backward equals float64",
     "only where windows overlap"),
    ("dic_planted.py", "Conv2dDWNotReshaped", "backward dx, dW, db", "not reshaped back"),
    ("dic_planted.py", "Conv2dDBWrongAxis", "backward dx, dW, db", "wrong axis"),
    ("dic_planted.py", "MaxPool2DSpread", "backward sends", "spread evenly"),
    ("dic_planted.py", "MaxPool2DFirstElement", "backward sends", "not to its maximum"),
    ("dic_planted.py", "MaxPool2DDoutNotTransposed", "backward sends", "another window's"),
    ("dic_planted.py", "FCdWTransposed", "backward dx", "dW is transposed"),
    ("dic_planted.py", "Conv1dFlipped", "the course's example", "kernel is flipped"),
    ("cs231n_planted.py", "conv_forward_flipped", "the seeds' example", "kernel is flipped"),
    ("cs231n_planted.py", "conv_forward_nostride", "forward equals", "stride is ignored"),
    ("cs231n_planted.py", "conv_forward_nopad", "the seeds' example with padding",
     "padding is ignored"),
    ("cs231n_planted.py", "conv_forward_overwrite", "backward dx, dW, db", "col2im overwrites"),
    ("cs231n_planted.py", "conv_forward_overwrite", "backward equals float64",
     "only where windows overlap"),
    ("cs231n_planted.py", "conv_forward_dbaxis", "backward dx, dW, db", "wrong axis"),
    ("cs231n_planted.py", "conv_forward_mean", "backward equals float64",
     "divided by the batch size N = 2"),
    ("cs231n_planted.py", "max_pool_forward_spread", "backward sends", "spread evenly"),
    ("cs231n_planted.py", "max_pool_forward_first", "backward sends", "not to its maximum"),
    ("cs231n_planted.py", "affine_forward_transposed", "backward dx", "dW is transposed"),
    ("cs231n_planted.py", "relu_forward_nomask", "a hand example", "ignores the mask"),
]


@pytest.mark.parametrize("file, name, check, words", PLANTED,
                         ids=[f"{n}-{c.split()[0]}" for _, n, c, _ in PLANTED])
def test_planted_mistakes_are_diagnosed_in_every_form(file, name, check, words):
    report = check_file(f"{learner(file)}:{name}")
    assert report.profile == file.split("_")[0]
    failed = report[check]
    assert failed.status == "fail", str(report)
    assert words in failed.diagnosis, str(report)
    assert failed.detail


# -- a teacher's adapter -----------------------------------------------------------------------
def test_a_teachers_adapter_reads_a_form_no_profile_knows():
    status, out, err = run_cli("check", learner("mycourse_layers.py"), "--adapter",
                               learner("mycourse_adapter.py"), "--json")
    assert status == 1, err
    report = json.loads(out)
    assert report["profile"] == "mycourse"
    layers = {la["name"]: la for la in report["layers"]}
    assert layers["MyConv"]["counts"] == {"pass": 11, "fail": 0, "note": 0}
    wrong = [c for c in layers["MyConvForgetsBias"]["checks"] if c["status"] == "fail"]
    assert any("bias is not added" in (c["diagnosis"] or "") for c in wrong)


def test_without_the_adapter_the_form_is_not_read():
    status, _, err = run_cli("check", learner("mycourse_layers.py"))
    assert status == 2 and "name the class to check" in err


def test_an_adapter_without_its_functions_is_one_line(tmp_path):
    adapter = tmp_path / "half.py"
    adapter.write_text("def build(cls, kind, **geometry):\n    return cls()\n")
    status, out, err = run_cli("check", f"{learner('mycourse_layers.py')}:MyConv", "--adapter",
                               str(adapter))
    assert status == 2 and out == ""
    assert "lacks forward, backward, gradients" in err and len(err.strip().splitlines()) == 1


# -- how the DIVE INTO CODE form is read -------------------------------------------------------
def test_argument_roles_come_from_names_then_the_courses_order():
    class A:
        def __init__(self, F, C, FH, FW, P, S, initializer, optimizer): ...

    class B:
        def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                     optimizer=None, initializer=None): ...

    class Pool:
        def __init__(self, P): ...

    class Anonymous:
        def __init__(self, n1, n2, n3, n4, init, opt, activation): ...

    assert roles(A, "convolution") == {"F": "FN", "C": "C", "FH": "FH", "FW": "FW", "P": "pad",
                                       "S": "stride", "initializer": "initializer",
                                       "optimizer": "optimizer"}
    assert roles(B, "convolution") == {"in_channels": "C", "out_channels": "FN",
                                       "kernel_size": "FS", "stride": "stride",
                                       "padding": "pad", "optimizer": "optimizer",
                                       "initializer": "initializer"}
    assert roles(Pool, "pooling") == {"P": "PS"}
    assert roles(Anonymous, "convolution") == {
        "n1": "FN", "n2": "C", "n3": "FH", "n4": "FW", "init": "initializer",
        "opt": "optimizer", "activation": "none"}


def test_the_initializer_answers_any_method_in_the_shape_asked():
    W = np.arange(24.0).reshape(4, 3, 2, 1)
    b = np.arange(4.0)
    init = KnownArrays(W, b)
    assert np.array_equal(init.W(4, 3, 2, 1), W)
    assert np.array_equal(init.he_weights((4, 3, 2, 1)), W)
    assert np.array_equal(init.B_zeros(4), b) and np.array_equal(init.bias(1, 4), b[None])
    assert np.array_equal(init.W(2, 1, 3, 4), W.transpose(2, 3, 1, 0))  # (FH, FW, C, FN)
    assert init.calls[0] == ("W", (4, 3, 2, 1))


def test_the_optimizer_records_and_changes_nothing():
    class Layer:
        W = np.ones(3)
        dW = np.ones(3)

    layer = Layer()
    opt = RecordingOptimizer()
    assert opt.update(layer) is layer
    assert opt.step(layer, 0.1) is layer
    assert opt.calls == ["update", "step"] and np.array_equal(layer.W, np.ones(3))


def test_a_course_name_with_the_books_arguments_is_read_as_the_book(tmp_path):
    path = tmp_path / "named.py"
    path.write_text("from tatamu.layers.book import Convolution\n\n\n"
                    "class Conv2d(Convolution):\n"
                    "    def __init__(self, W, b, stride=1, pad=0):\n"
                    "        super().__init__(W, b, stride, pad)\n")
    report = check_target(str(path))
    assert [(la.name, la.profile, la.kind) for la in report.layers] == [
        ("Conv2d", "book", "convolution")]
    assert report.passed
