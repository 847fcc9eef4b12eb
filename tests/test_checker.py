"""``tatamu check`` / ``tatamu.checker``: a correct book-style layer passes, each planted mistake
fails with its diagnosis, and a file that cannot be loaded is one line with exit status 2.

The learners' files are in tests/learners/: book_correct.py (the book's code with its three
tatamu fixes), book_verbatim.py (the book's code as printed), book_common_import.py (imports
``common.util``), and planted_*.py (one common mistake per class).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cli_runner import run_cli

from tatamu.layers import book
from tatamu.learn.checker import check_class, check_file, detect_kind
from tatamu.learn.checker.loading import LearnerCodeError

LEARNERS = Path(__file__).parent / "learners"
BOOK_PY = Path(__file__).parents[1] / "src" / "tatamu" / "layers" / "book.py"


def learner(name: str) -> str:
    return str(LEARNERS / name)


# -- correct implementations pass everything ------------------------------------------------
@pytest.mark.parametrize("cls, kind", [("Convolution", "convolution"), ("Pooling", "pooling"),
                                       ("Affine", "affine"), ("Relu", "relu"),
                                       ("SoftmaxWithLoss", "softmax")])
def test_correct_book_style_file_passes_every_check(cls, kind):
    report = check_file(f"{learner('book_correct.py')}:{cls}")
    assert report.kind == kind
    assert report.passed and not report.noted, str(report)
    assert len(report.checks) >= 6


@pytest.mark.parametrize("cls", [book.Convolution, book.Pooling, book.Affine, book.Relu,
                                 book.SoftmaxWithLoss])
def test_tatamu_layers_book_passes_tatamu_check(cls):
    report = check_class(cls)
    assert report.passed, str(report)


@pytest.mark.parametrize("target", ["tatamu.layers.book:Convolution", f"{BOOK_PY}:Pooling"])
def test_cli_on_tatamu_layers_book_exits_0(target):
    status, out, err = run_cli("check", target)
    assert status == 0, out + err
    assert "FAIL" not in out and out.rstrip().endswith("all good")


def test_common_util_import_resolves_to_tatamu_and_is_undone():
    path_before = list(sys.path)
    report = check_file(f"{learner('book_common_import.py')}:Convolution", rounding="floor")
    assert report.passed, str(report)
    assert any("common" in note for note in report.notes)
    assert "common" not in sys.modules and "common.util" not in sys.modules
    assert sys.path == path_before
    # by default the book's int() flooring a size that does not divide is a note, not a failure
    default = check_file(f"{learner('book_common_import.py')}:Convolution")
    assert default.failed == []
    assert [c.name for c in default.noted] == [default["a size that does not divide"].name]


BOOK_NOTES = {  # class -> the checks that are notes: the book's own departures, no failures
    "Convolution": {"a size that does not divide", "float32 in"},
    "Pooling": {"a size that does not divide", "padded windows", "float32 in"},
    "Affine": set(),
    "Relu": {"forward leaves"},
    "SoftmaxWithLoss": set(),
}


@pytest.mark.parametrize("cls", list(BOOK_NOTES))
def test_the_books_code_as_printed_passes_with_its_departures_as_notes(cls):
    report = check_file(f"{learner('book_verbatim.py')}:{cls}")
    assert report.failed == [], str(report)
    assert report.passed
    assert {next(p for p in BOOK_NOTES[cls] if c.name.startswith(p))
            for c in report.noted} == BOOK_NOTES[cls], str(report)
    for note in report.noted:
        assert note.detail and note.diagnosis  # what was seen, and what it means


def test_the_books_notes_say_what_they_mean():
    conv = check_file(f"{learner('book_verbatim.py')}:Convolution")
    assert "floor" in conv["a size that does not divide"].diagnosis
    assert "np.zeros" in conv["float32 in"].diagnosis
    relu = check_file(f"{learner('book_verbatim.py')}:Relu")
    assert "dout[self.mask] = 0" in relu["forward leaves"].diagnosis
    pool = check_file(f"{learner('book_verbatim.py')}:Pooling")
    assert "-inf" in pool["padded windows"].diagnosis
    assert check_file(f"{learner('book_verbatim.py')}:Convolution", rounding="floor")[
        "a size that does not divide"].status == "pass"


def test_the_books_code_exits_0_and_strict_makes_its_notes_fail():
    status, out, err = run_cli("check", learner("book_verbatim.py"))
    assert status == 0, out + err
    assert "  NOTE  " in out and "  FAIL  " not in out
    assert out.rstrip().endswith("5 layers checked: all good (Convolution, Pooling, Relu with "
                                 "notes)")
    status, out, _ = run_cli("check", learner("book_verbatim.py"), "--strict")
    assert status == 1
    assert "  NOTE  " not in out
    assert out.rstrip().endswith("5 layers checked: Convolution, Pooling, Relu failed")


NOTED = [  # (file, class, the check that is a note, words of its meaning): the book's own ways
    ("planted_conv.py", "Floors", "a size that does not divide", "floors the output size"),
]


@pytest.mark.parametrize("file, cls, check, words", NOTED, ids=[c for _, c, _, _ in NOTED])
def test_a_departure_the_book_makes_is_a_note(file, cls, check, words):
    report = check_file(f"{learner(file)}:{cls}")
    assert report.passed and report[check].status == "note", str(report)
    assert words in report[check].diagnosis


# -- each planted mistake fails with its diagnosis ------------------------------------------
PLANTED = [  # (file, class, the check that fails, words of the diagnosis)
    ("planted_conv.py", "FlippedKernel", "the seeds' example", "kernel is flipped"),
    ("planted_conv.py", "NoTranspose", "the seeds' example", "last transpose is missing"),
    ("planted_conv.py", "NoTranspose", "output shapes", "(N, OH, OW, FN)"),
    ("planted_conv.py", "ReshapeNoTranspose", "forward equals", "reshaped straight"),
    ("planted_conv.py", "StrideIgnored", "output shapes", "stride is ignored"),
    ("planted_conv.py", "StrideIgnored", "forward equals", "stride is ignored"),
    ("planted_conv.py", "PaddingIgnored", "the seeds' example with padding", "padding is ignored"),
    ("planted_conv.py", "PaddingIgnored", "output shapes", "padding is ignored"),
    ("planted_conv.py", "Col2imOverwrites", "backward dx, dW, db", "col2im overwrites"),
    ("planted_conv.py", "DWNotReshaped", "backward dx, dW, db", "not reshaped back"),
    ("planted_conv.py", "DWReshapedWithoutTranspose", "backward dx, dW, db",
     "without transpose(1, 0)"),
    ("planted_conv.py", "DbWrongAxis", "backward dx, dW, db", "wrong axis"),
    ("planted_conv.py", "DoutNotTransposed", "backward dx, dW, db", "dout.transpose(0, 2, 3, 1)"),
    ("planted_conv.py", "DWAccumulates", "backward twice", "self.dW +="),
    ("planted_conv.py", "SlashDivision", "the seeds' example", "use //"),
    ("planted_conv.py", "HardCodedFloat32", "float32 in", "dtype written into the code"),
    ("planted_conv.py", "BiasMissing", "the seeds' example with bias", "bias is not added"),
    ("planted_pool.py", "GradientToEveryElement", "backward sends", "every element"),
    ("planted_pool.py", "GradientSpreadEvenly", "backward sends", "spread evenly"),
    ("planted_pool.py", "GradientToWrongElement", "backward sends", "not to its maximum"),
    ("planted_pool.py", "GradientToFirstElement", "backward sends", "not to its maximum"),
    ("planted_pool.py", "DoutNotTransposed", "backward sends", "another window's"),
    ("planted_pool.py", "ForwardNoTranspose", "forward equals", "reshaped straight"),
    ("planted_pool.py", "MeanNotMax", "the book's max-pooling figure", "average pooling"),
    ("planted_pool.py", "StrideIsPoolSize", "output shapes", "stride and padding"),
    ("planted_pool.py", "Col2imOverwrites", "backward sends", "col2im overwrites"),
    ("planted_pool.py", "StrideIgnored", "the book's max-pooling figure", "stride is ignored"),
    ("planted_pool.py", "StrideIgnored", "output shapes", "stride is ignored"),
    ("planted_pool.py", "PaddingIgnored", "output shapes", "padding is ignored"),
    ("planted_pool.py", "PaddingIgnored", "forward equals", "padding is ignored"),
    ("planted_dense.py", "AffineShapeNotRestored", "backward dx", "restore the input's shape"),
    ("planted_dense.py", "AffineDWTransposed", "backward dx", "dW is transposed"),
    ("planted_dense.py", "AffineDbWrongAxis", "backward dx", "wrong axis"),
    ("planted_dense.py", "ReluZeroesX", "forward leaves", "forward wrote into x"),
    ("planted_dense.py", "ReluMaskChangedInBackward", "backward twice", "cached mask"),
    ("planted_dense.py", "ReluInvertedMask", "a hand example", "mask is inverted"),
    ("planted_dense.py", "ReluInvertedMask", "forward max(0, x)", "mask is inverted"),
    ("planted_dense.py", "ReluIgnoresMask", "a hand example", "ignores the mask"),
    ("planted_dense.py", "AffineNoFlatten", "forward equals", "flattened"),
    ("planted_dense.py", "SoftmaxLossSummed", "loss equals", "sum over the batch"),
    ("planted_dense.py", "SoftmaxWrongAxis", "a hand example", "wrong axis"),
    ("planted_dense.py", "SoftmaxWrongAxis", "loss equals", "wrong axis"),
    ("planted_dense.py", "SoftmaxOverflows", "loss equals", "subtract each row's maximum"),
    ("planted_dense.py", "SoftmaxNotDividedByBatch", "backward() =", "not divided by the batch"),
    ("planted_dense.py", "SoftmaxOneHotOnly", "loss equals", "integer labels"),
    ("planted_dense.py", "SoftmaxDividedByTSize", "a hand example", "t.size"),
    ("planted_dense.py", "SoftmaxDividedByTSize", "backward() =", "t.size"),
    ("planted_conv.py", "DcolWithoutTranspose", "backward dx, dW, db", ".T missing"),
]


@pytest.mark.parametrize("file, cls, check, words", PLANTED,
                         ids=[f"{c}-{k.split()[0]}" for _, c, k, _ in PLANTED])
def test_planted_mistake_is_diagnosed(file, cls, check, words):
    report = check_file(f"{learner(file)}:{cls}")
    assert not report.passed
    failed = report[check]
    assert not failed.passed, str(report)
    assert words in failed.diagnosis, str(report)
    assert failed.detail  # the first mismatch, in numbers or the exception


def test_first_mismatch_is_shown_in_numbers():
    report = check_file(f"{learner('planted_conv.py')}:FlippedKernel")
    detail = report["the seeds' example:"].detail
    assert "out[0, 0, 0, 0]: expected 15, got 11 (4 of 4 values differ)" in detail
    assert "expected 15 16 / 6 15; got 11 12 / 10 11" in detail


def test_cli_prints_pass_fail_and_exits_1_on_a_failure():
    status, out, err = run_cli("check", f"{learner('planted_conv.py')}:Col2imOverwrites")
    assert status == 1
    assert "  PASS  the seeds' example: 4x4 ⊛ 3x3 -> 15 16 / 6 15" in out
    assert "  FAIL  backward dx, dW, db" in out
    assert "diagnosis: col2im overwrites" in out
    assert out.rstrip().splitlines()[-1].endswith("failed")


def test_an_exception_in_the_learners_forward_is_a_failed_check_with_their_line():
    report = check_file(f"{learner('planted_conv.py')}:SlashDivision")
    detail = report["the seeds' example:"].detail
    assert detail.startswith("SlashDivision.forward raised TypeError")
    assert "planted_conv.py, line" in detail and "Traceback" not in detail


def test_a_forward_returning_a_list_or_none_fails_without_crashing(tmp_path):
    path = tmp_path / "odd.py"
    path.write_text("class Relu:\n    def forward(self, x):\n        return None\n"
                    "    def backward(self, dout):\n        return [1, 2]\n")
    report = check_file(f"{path}:Relu")
    assert not report.passed
    assert "out is None" in report["a hand example"].detail


# -- loading errors: one line, exit 2 -------------------------------------------------------
@pytest.mark.parametrize("source, expected", [
    ("import numpy as np\nclass Convolution:\n    def __init__(self, W, b, stride=1, pad=0)\n",
     "could not import bad.py: SyntaxError: expected ':' (bad.py, line 3)"),
    ("x = undefined_name\n", "could not import bad.py: NameError: name 'undefined_name' is not "
                             "defined (bad.py, line 1: x = undefined_name)"),
    ("import sys\nsys.exit(3)\n", "could not import bad.py: SystemExit: 3 (bad.py, line 2"),
    ("import not_a_module_anywhere\n", "ModuleNotFoundError: No module named "
                                       "'not_a_module_anywhere'"),
])
def test_a_file_that_cannot_be_imported_is_one_line_and_exit_2(tmp_path, source, expected):
    path = tmp_path / "bad.py"
    path.write_text(source)
    status, out, err = run_cli("check", f"{path}:Convolution")
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("tatamu: error: ") and expected in err


def test_missing_file_or_class_is_exit_2(tmp_path):
    status, _, err = run_cli("check", str(tmp_path / "none.py") + ":Convolution")
    assert status == 2 and "no such file" in err
    status, _, err = run_cli("check", f"{learner('book_correct.py')}:Nope")
    assert status == 2 and "class Nope not found" in err and "Convolution" in err


def test_help_says_it_runs_the_files_code():
    status, out, _ = run_cli("check", "--help")
    assert status == 0
    assert "RUNS" in out and "NOT a security boundary" in out


# -- kinds ------------------------------------------------------------------------------------
def test_kind_is_detected_from_the_arguments_or_asked_for(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("class MyLayer:\n    def forward(self, x):\n        return x\n"
                    "    def backward(self, dout):\n        return dout\n")
    with pytest.raises(LearnerCodeError, match="--kind"):
        check_file(f"{path}:MyLayer")
    status, _, err = run_cli("check", f"{path}:MyLayer")
    assert status == 2 and "--kind" in err
    report = check_file(f"{path}:MyLayer", kind="relu")
    assert report.kind == "relu" and not report.passed  # the identity is not ReLU

    class Conv:
        def __init__(self, W, b, stride=1, pad=0): ...

    class Pool:
        def __init__(self, pool_h, pool_w, stride=2, pad=0): ...

    class Dense:
        def __init__(self, W, b): ...

    class Loss:
        def forward(self, x, t): ...

    assert [detect_kind(c)[0] for c in (Conv, Pool, Dense, Loss)] == [
        "convolution", "pooling", "affine", "softmax"]


def test_kind_aliases_on_the_command_line():
    status, out, _ = run_cli("check", f"{learner('book_correct.py')}:Affine", "--kind", "linear")
    assert status == 0 and ": affine (as asked)" in out


def test_a_file_alone_checks_every_layer_class_in_it():
    status, out, _ = run_cli("check", learner("book_correct.py"))
    assert status == 0
    assert out.rstrip().endswith("5 layers checked: all good")


def test_the_learners_own_common_package_wins_over_tatamus(tmp_path):
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "__init__.py").write_text("")
    (tmp_path / "common" / "util.py").write_text(
        "def im2col(*args, **kwargs):\n    raise RuntimeError('my own im2col')\n\n"
        "def col2im(*args, **kwargs):\n    raise RuntimeError('my own col2im')\n")
    conv = tmp_path / "ch07" / "conv.py"
    conv.parent.mkdir()
    conv.write_text((LEARNERS / "book_common_import.py").read_text())  # imports common.util
    report = check_file(f"{conv}:Convolution")
    assert "my own im2col" in report["the seeds' example:"].detail
    assert not report.notes  # tatamu's stand-in was not used
    assert "common" not in sys.modules


def test_the_files_main_block_does_not_run(tmp_path):
    path = tmp_path / "train_and_layers.py"
    path.write_text((LEARNERS / "book_correct.py").read_text()
                    + "\nif __name__ == '__main__':\n    raise SystemExit('training...')\n")
    assert check_file(f"{path}:Relu").passed


def test_the_books_arguments_are_given_by_name_in_another_order(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text((LEARNERS / "book_correct.py").read_text().replace(
        "class Convolution:\n    def __init__(self, W, b, stride=1, pad=0):",
        "class Convolution:\n    def __init__(self, W, b, pad=0, stride=1):"))
    assert "def __init__(self, W, b, pad=0, stride=1)" in path.read_text()
    report = check_file(f"{path}:Convolution")
    assert report.passed and not report.noted, str(report)
