"""The ``tatamu`` command, run in-process through ``tatamu.cli.main(argv)``.

One short training run on real MNIST (600 images) is shared by the train, evaluate and predict
tests; everything the commands print is checked against the library called directly. A user
error is exactly one stderr line starting with ``tatamu: error:`` (exit 2), a bug one line
saying how to report it (exit 1), never a traceback. One subprocess test runs the installed
console script.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from cli_runner import run_cli
from PIL import Image

import tatamu
import tatamu.cli.commands.size
import tatamu.cli.commands.summary
from tatamu.cli import app as cli
from tatamu.datasets import load_mnist

TRAIN_ARGS = ["--limit", "600", "--test-limit", "300", "--epochs", "1", "--batch-size", "20",
              "--no-progress"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"



def assert_one_error_line(err: str, *phrases: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tatamu: error: "), err
    assert "Traceback" not in err
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


def files_state(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder`` (epochs/ too): its bytes and modification time."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def mnist_test():
    _, (x_test, y_test) = load_mnist()
    return x_test, y_test


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One `tatamu train` run: (folder, argv, status, stdout, stderr)."""
    folder = tmp_path_factory.mktemp("cli") / "run"
    argv = ["train", *TRAIN_ARGS, "--out", str(folder)]
    status, out, err = run_cli(*argv)
    return folder, argv, status, out, err


@pytest.fixture(scope="module")
def model(run):
    return tatamu.load(run[0] / "best.npz")


# -- train -------------------------------------------------------------------------------------
def test_train_writes_checkpoints_history_and_a_plot(run, mnist_test):
    folder, argv, status, out, err = run
    assert status == 0, err
    assert {"best.npz", "curves.png", "history.json", "initial.npz", "last.npz",
            "plan.json"} <= {p.name for p in folder.iterdir()}
    history = json.loads((folder / "history.json").read_text())
    assert history["epoch"] == [1] and history["stop_reason"] == "completed"
    # the printed test accuracy is the one in the history, on the 300 test images
    match = re.search(r"test accuracy: (\d+\.\d\d)% on 300 test images after 1 epoch", out)
    assert match, out
    assert float(match.group(1)) == pytest.approx(100 * history["test_accuracy"][0], abs=0.006)
    x, y = mnist_test
    result = tatamu.train.evaluate(tatamu.load(folder / "last.npz"), (x[:300], y[:300]))
    assert result["accuracy"] == history["test_accuracy"][0]
    # 600 training images: 50 held out (1 in 12) as the validation set, which chose best.npz
    match = re.search(r"validation accuracy: (\d+\.\d\d)% on 50 held-out training images", out)
    assert match, out
    assert float(match.group(1)) == pytest.approx(100 * history["val_accuracy"][0], abs=0.006)
    assert result["accuracy"] > 0.5  # 30 Adam steps: well above chance (10%)
    ckpt = tatamu.checkpoint.read(folder / "last.npz")
    assert ckpt.meta["dataset"] == "mnist" and ckpt.meta["model_name"] == "simple"
    assert ckpt.meta["command"] == argv  # as given to main(), not the test runner's sys.argv
    assert ckpt.model.num_params() == 433_890


def test_train_plot_is_a_valid_png(run):
    path = run[0] / "curves.png"
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (400, 1000)  # figsize (10, 4) at 100 dpi
    assert pixels.std() > 0  # something was drawn


def test_train_into_a_non_empty_folder_exits_2_and_touches_nothing(run):
    folder = run[0]
    before = files_state(folder)
    status, out, err = run_cli("train", *TRAIN_ARGS, "--out", folder)
    assert status == 2
    assert_one_error_line(err, str(folder), "not empty", "--resume")
    assert files_state(folder) == before


def test_train_resume_continues_the_run(run, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(run[0], folder)
    first = json.loads((folder / "history.json").read_text())
    initial = (folder / "initial.npz").read_bytes()
    args = [a if a != "1" else "2" for a in TRAIN_ARGS]  # --epochs 2
    assert args[args.index("--epochs") + 1] == "2"
    status, out, err = run_cli("train", "--resume", *args, "--out", folder)
    assert status == 0, err
    history = json.loads((folder / "history.json").read_text())
    assert history["epoch"] == [1, 2]
    for key in ("train_loss", "train_accuracy"):
        assert history[key][0] == first[key][0], key
    for key in ("val_loss", "val_accuracy", "test_loss", "test_accuracy"):
        assert history[key][0] == first[key][0], key
    assert (folder / "initial.npz").read_bytes() == initial
    assert "after 2 epochs" in out


def test_train_resume_without_out_is_a_user_error():
    status, _, err = run_cli("train", "--resume")
    assert status == 2
    assert_one_error_line(err, "--resume needs --out")


def test_train_into_a_file_is_a_user_error(tmp_path):
    target = tmp_path / "a-file"
    target.write_text("x")
    status, _, err = run_cli("train", *TRAIN_ARGS, "--out", target)
    assert status == 2
    assert_one_error_line(err, "is a file")


def test_train_that_diverges_exits_2_with_the_reason(tmp_path):
    status, out, err = run_cli("train", "--limit", "40", "--test-limit", "10", "--epochs", "2",
                               "--optimizer", "sgd", "--lr", "1e30", "--no-progress",
                               "--out", tmp_path / "run")
    assert status == 2
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("tatamu: error:")]
    assert len(errors) == 1 and errors[0] == err.splitlines()[-1]
    assert "smaller one (--lr)" in errors[0]


# -- evaluate ------------------------------------------------------------------------------------
def test_evaluate_prints_accuracy_per_class_accuracy_and_a_confusion_matrix(run, model,
                                                                            mnist_test):
    status, out, err = run_cli("evaluate", run[0], "--limit", "300")
    assert status == 0, err
    x, y = mnist_test[0][:300], mnist_test[1][:300]
    pred = model.predict(x).argmax(axis=1)
    correct = int((pred == y).sum())
    assert f"accuracy: {100 * correct / 300:.2f}% ({correct} correct)" in out
    assert "300 images" in out
    matrix = np.zeros((10, 10), dtype=np.int64)
    for t, p in zip(y, pred, strict=True):
        matrix[t, p] += 1
    lines = out.splitlines()
    start = lines.index("per-class accuracy:") + 1
    for digit in range(10):
        line = lines[start + digit]
        total = matrix[digit].sum()
        assert re.match(rf"\s+{digit}: +{100 * matrix[digit, digit] / total:.2f}%  "
                        rf"\({total} images\)", line), line
    head = lines.index("confusion matrix (rows: true class, columns: predicted):")
    rows = [[int(v) for v in line.split()[1:]] for line in lines[head + 2: head + 12]]
    np.testing.assert_array_equal(np.array(rows), matrix)


def test_evaluate_a_missing_checkpoint_is_one_error_line(tmp_path):
    status, _, err = run_cli("evaluate", tmp_path / "nothing.npz")
    assert status == 2
    assert_one_error_line(err, "no checkpoint file")
    status, _, err = run_cli("evaluate", tmp_path)  # a folder without checkpoints
    assert status == 2
    assert_one_error_line(err, "without best.npz or last.npz")


# -- predict -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digit(model, mnist_test):
    """A test digit the trained model gets right with high confidence: (uint8 28x28, label)."""
    x, y = mnist_test
    probs = model.predict(x[:200])
    confident = np.flatnonzero((probs.argmax(axis=1) == y[:200]) & (probs.max(axis=1) > 0.9))
    assert confident.size, "no confidently classified digit among the first 200"
    i = int(confident[0])
    return np.round(x[i, 0] * 255).astype(np.uint8), int(y[i])


def parse_prediction(out: str, path: Path) -> tuple[int, float, str]:
    """The first class, its percentage and the notes line of one picture's two lines."""
    lines = out.strip().splitlines()
    match = re.fullmatch(rf"{re.escape(str(path))}: (?:unsure: )?(\d) \((\d+\.\d)%\)(, .*)?",
                         lines[0])
    assert match, out
    return int(match.group(1)), float(match.group(2)), lines[1]


def _variants(img: np.ndarray) -> dict[str, tuple[np.ndarray, str | None]]:
    return {
        "mnist-like": (img, "cropped 28x28 to the ink"),
        "dark-on-light": (255 - img, "inverted"),
        "colour": (np.stack([img, img, img // 3], axis=-1), "converted RGB to grey"),
        "56x56": (np.kron(img, np.ones((2, 2), dtype=np.uint8)), "cropped 56x56 to the ink"),
    }


@pytest.mark.parametrize("variant", ["mnist-like", "dark-on-light", "colour", "56x56"])
def test_predict_a_png(run, digit, tmp_path, variant):
    img, label = digit
    array, note = _variants(img)[variant]
    path = tmp_path / f"{variant}.png"
    Image.fromarray(array).save(path)
    status, out, err = run_cli("predict", run[0], path)
    assert status == 0, err
    predicted, percent, notes = parse_prediction(out, path)
    assert predicted == label
    assert percent > 50
    assert note in notes


def test_predict_an_npy_gives_the_library_s_probability(run, model, digit, tmp_path):
    img, label = digit
    x = img.astype(np.float32)[None] / 255  # (1, 28, 28)
    np.save(tmp_path / "digit.npy", x)
    status, out, err = run_cli("predict", run[0] / "best.npz", tmp_path / "digit.npy")
    assert status == 0, err
    predicted, percent, notes = parse_prediction(out, tmp_path / "digit.npy")
    probs = model.predict(x[None])[0]
    assert predicted == label == int(probs.argmax())
    assert percent == pytest.approx(100 * probs.max(), abs=0.051)
    assert "used as given" in notes


def test_predict_top_k_and_several_files(run, digit, tmp_path):
    img, _ = digit
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    for p in paths:
        Image.fromarray(img).save(p)
    status, out, err = run_cli("predict", run[0], *paths, "--top", "2")
    assert status == 0, err
    lines = out.splitlines()
    assert len(lines) == 4  # per picture: the answer, then the steps
    for line, p in zip(lines[::2], paths, strict=True):
        assert line.startswith(f"{p}: ")
        assert len(re.findall(r"\d \(\d+\.\d%\)", line)) == 2
    status, out, err = run_cli("predict", run[0], paths[0])
    assert len(re.findall(r"\d \(\d+\.\d%\)", out.splitlines()[0])) == 3  # top 3 by default


@pytest.mark.parametrize(
    ("name", "content", "phrase"),
    [("notes.txt", b"hello", "not an image"), ("fake.png", b"not a png at all", "not an image"),
     ("absent.png", None, "no image file")],
)
def test_predict_a_non_image_exits_1_with_one_line(run, tmp_path, name, content, phrase):
    """A picture that cannot be read is that picture's failure (exit 1; issue 27: the others
    are still answered), not a bad command (exit 2)."""
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    status, out, err = run_cli("predict", run[0], path)
    assert status == 1 and out == ""
    assert_one_error_line(err, str(path), phrase)


# -- summary and size ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "total"),
    [(["summary", "simple"], "433,890"), (["summary", "lenet5"], "61,706"),
     (["summary", "simple", "--input", "3,32,32"], "591,390"),
     (["summary", "conv1d"], "5,210")],
)
def test_summary_shows_the_parameter_count(argv, total):
    status, out, err = run_cli(*argv)
    assert status == 0, err
    assert f"total parameters: {total}" in out


def test_summary_of_a_checkpoint(run):
    status, out, _ = run_cli("summary", run[0] / "last.npz")
    assert status == 0
    assert "433,890" in out


@pytest.mark.parametrize(
    ("argv", "phrase"),
    [(["summary", "resnet"], "neither a model name"),
     (["summary", "simple", "--input", "one,two"], "--input takes numbers"),
     (["summary", "simple", "--input", "1,27,27"], "does not divide")],
)
def test_summary_user_errors(argv, phrase):
    status, _, err = run_cli(*argv)
    assert status == 2
    assert_one_error_line(err, phrase)


def test_size_works_through_the_formula():
    status, out, err = run_cli("size", "7", "--kernel", "3", "--stride", "2")
    assert status == 0, err
    assert "= (7 + 2*0 - 3) / 2 + 1 = 4 / 2 + 1 = 3" in out
    assert out.strip().endswith("output size: 3")
    status, out, _ = run_cli("size", "28", "28", "--kernel", "5", "--padding", "2")
    assert status == 0 and out.strip().endswith("output size: 28 x 28")


def test_size_that_does_not_divide_exits_2_and_says_4_5():
    status, out, err = run_cli("size", "10", "--kernel", "3", "--stride", "2")
    assert status == 2
    assert_one_error_line(err, "4.5")
    assert "4.5" in out  # the worked formula, up to the fraction
    status, out, _ = run_cli("size", "10", "--kernel", "3", "--stride", "2", "--rounding", "floor")
    assert status == 0 and out.strip().endswith("output size: 4")


# -- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [["train", "--epochs", "0"], ["train", "--epochs", "two"], ["train", "--lr", "-1"],
     ["train", "--lr", "nan"], ["train", "--model", "resnet"], ["frobnicate"], ["size"],
     ["size", "7"], ["evaluate"], ["predict", "model.npz"], ["train", "--no-such-option"]],
    ids=lambda a: " ".join(a),
)
def test_bad_arguments_exit_2_with_one_line(argv):
    status, out, err = run_cli(*argv)
    assert status == 2
    assert_one_error_line(err)
    assert "--help" in err


def test_a_model_that_does_not_fit_the_dataset_is_a_user_error(tmp_path):
    status, _, err = run_cli("train", "--model", "conv1d", "--out", tmp_path / "r")
    assert status == 2
    assert_one_error_line(err, "does not fit --dataset mnist")
    assert not (tmp_path / "r").exists()


def test_no_command_prints_help_and_exits_2():
    status, out, _ = run_cli()
    assert status == 2
    assert "train" in out and "predict" in out


def test_help_returns_0():
    status, out, _ = run_cli("--help")
    assert status == 0
    assert "usage: tatamu" in out


def test_an_internal_error_exits_1_and_says_how_to_report_it(monkeypatch):
    def broken(args):
        raise RuntimeError("something inside broke")

    monkeypatch.delenv("TATAMU_DEBUG", raising=False)
    monkeypatch.setattr(tatamu.cli.commands.size, "run", broken)
    status, out, err = run_cli("size", "7", "--kernel", "3")
    assert status == 1
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "internal error" in lines[0] and "RuntimeError: something inside broke" in lines[0]
    assert "TATAMU_DEBUG=1" in lines[0] and "report it with the command that was run" in lines[0]
    assert "http" not in lines[0]  # no invented address to report to
    monkeypatch.setenv("TATAMU_DEBUG", "1")  # developers get the traceback
    with pytest.raises(RuntimeError, match="something inside broke"):
        run_cli("size", "7", "--kernel", "3")


def test_ctrl_c_in_a_command_exits_130(monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(tatamu.cli.commands.summary, "run", interrupted)
    status, _, err = run_cli("summary", "simple")
    assert status == 130
    assert err.strip() == "tatamu: interrupted"


def test_the_installed_console_script_runs():
    script = Path(sys.executable).parent / "tatamu"
    if not script.exists():
        found = shutil.which("tatamu")
        assert found, "the tatamu console script is not installed (pip install -e .)"
        script = Path(found)
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "usage: tatamu" in result.stdout
    for command in ("train", "evaluate", "predict", "summary", "size"):
        assert command in result.stdout


def test_a_fix_names_only_the_running_commands_options_given_or_not():
    from tatamu.cli.flags import cli_message, write_fix
    from tatamu.errors import ConfigError, Name

    parser = cli.build_parser()
    dream = cli.options_of(parser, parser.parse_args(["show", "dream", "run"]))
    assert {"--channel", "--layer", "--out", "--seed"} <= dream
    assert "--class" not in dream and "--kernel" not in dream and "--batch-size" not in dream
    assert write_fix(Name("channels"), dream) == "--channel"  # its own spelling of `channels`
    # train's plan options default to "not given" (argparse.SUPPRESS): still its options
    train = cli.options_of(parser, parser.parse_args(["train"]))
    error = ConfigError("use ", Name("batch_size", 5), " or ", Name("kernel_size"))
    assert cli_message(error, train) == "use --batch-size 5 or kernel_size"
