"""Damaged files of every kind tatamu reads: IDX datasets, checkpoints, run folders, pictures.

Each test builds the damage by hand, checks the library raises tatamu's own error naming the
file and the problem, and (where a command reads the file) that ``tatamu`` answers with one
``tatamu: error:`` line and exit status 2. Memory is measured with tracemalloc where the point
is that nothing large is allocated.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import shutil
import struct
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli
from PIL import Image
from robustness_helpers import one_error_line, tiny_data, tiny_model

import tatamu
import tatamu.digits.images
from tatamu.checkpoint import store as checkpoint
from tatamu.cli.flags import cli_message
from tatamu.datasets import encode_idx, read_idx
from tatamu.datasets.mnist import SHIPPED_MNIST_DIR
from tatamu.digits.images import load_image_for
from tatamu.errors import CheckpointError, ConfigError, DataError
from tatamu.optim import Adam
from tatamu.training.loop import fit

IMAGES = encode_idx(np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5))
MNIST = (1, 28, 28)


def refused_within(limit: int, call, error, match: str) -> str:
    """Assert ``call()`` raises ``error`` matching ``match`` with a traced peak memory (NumPy
    buffers included) under ``limit`` bytes; return the message."""
    tracemalloc.start()
    try:
        with pytest.raises(error, match=match) as info:
            call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < limit, f"peak traced memory {peak:,} bytes"
    return str(info.value)


# -- IDX files ------------------------------------------------------------------------------------
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize(
    ("damage", "phrase"),
    [(lambda d: d[:-7], "truncated IDX file"),
     (lambda d: d[:10], "truncated IDX"),
     (lambda d: d + b"\0" * 5, "trailing bytes"),
     (lambda d: b"\x00\x00\x08\x04" + d[4:], "truncated IDX"),  # 4 dimensions declared, 3 there
     (lambda d: d[:4] + struct.pack(">I", 4) + d[8:], "truncated IDX file"),  # dims 4x4x5
     (lambda d: d[:4] + struct.pack(">I", 2) + d[8:], "trailing bytes"),  # dims 2x4x5
     (lambda d: b"\x08\x03\x00\x00" + d[4:], "not an IDX file"),  # magic bytes swapped
     (lambda d: b"<!DOCTYPE html><title>404</title>", "not an IDX file"),
     (lambda d: b"\x00\x00\x08", "too short")],
    ids=["truncated", "header-cut", "extra-bytes", "more-dims", "dims-too-large",
         "dims-too-small", "wrong-magic", "html-page", "three-bytes"],
)
def test_a_damaged_idx_file_is_refused_naming_the_file(tmp_path, damage, phrase, compress):
    data = damage(IMAGES)
    path = tmp_path / ("images.idx.gz" if compress else "images.idx")
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    with pytest.raises(DataError, match=phrase) as info:
        read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "dims",
    [(60000, 28, 28 * 10**4), (2**32 - 1, 2**32 - 1), (0, 2**21, 2**21, 2**21)],
    ids=["huge", "overflowing", "empty-but-overflowing"],
)
def test_absurd_idx_dimensions_are_refused_before_allocating(dims):
    data = bytes([0, 0, 0x08, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + bytes(16)
    for blob in (data, gzip.compress(data)):
        refused_within(2**20, lambda b=blob: read_idx(b), DataError, "absurd IDX header")


def test_corrupt_gzip_is_a_data_error():
    data = bytearray(gzip.compress(IMAGES, mtime=0))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(DataError, match="corrupt|sha256|truncated"):
        read_idx(bytes(data))


@pytest.fixture
def mnist_copy(tmp_path) -> Path:
    """A copy of the shipped MNIST files, to damage."""
    folder = tmp_path / "mnist"
    shutil.copytree(SHIPPED_MNIST_DIR, folder)
    return folder


TRAIN = ["train", "--limit", "20", "--test-limit", "10", "--epochs", "1", "--batch-size", "10",
         "--no-progress"]


@pytest.mark.parametrize(
    ("damage", "phrase"),
    [(lambda p: p.write_bytes(p.read_bytes()[:-1000]), "truncated"),
     (lambda p: p.write_bytes(gzip.compress(gzip.decompress(p.read_bytes())[:-1] + b"\1")),
      "sha256"),
     (lambda p: p.unlink(), "missing t10k-labels")],
    ids=["truncated-download", "one-byte-changed", "file-missing"],
)
def test_tatamu_train_on_a_damaged_dataset_folder_exits_2_naming_the_file(mnist_copy, tmp_path,
                                                                          damage, phrase):
    damage(mnist_copy / "t10k-labels-idx1-ubyte.gz")
    status, _, err = run_cli(*TRAIN, "--data-root", mnist_copy, "--out", tmp_path / "run")
    assert status == 2
    line = one_error_line(err, phrase)
    assert "t10k-labels" in line


# -- checkpoints ----------------------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path) -> Path:
    x, labels = tiny_data()
    model, opt = tiny_model(), Adam()
    model.gradient(x, labels)
    opt.step(model.params(), model.grads())
    return tatamu.save(model, tmp_path / "model.npz", optimizer=opt)


def rezip(src: Path, dst: Path, edit) -> Path:
    """Copy the archive entry by entry; ``edit(name, bytes)`` returns the new bytes (or None)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = edit(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info.filename, data)
    return dst


def edit_meta(src: Path, dst: Path, change) -> Path:
    with np.load(src) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays["meta"].tobytes())
    change(meta)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(dst, **arrays)
    return dst


def npy_header(shape, descr="<f4") -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": descr, "fortran_order": False,
                                               "shape": shape})
    return out.getvalue()


@pytest.mark.parametrize("shape", [(10**8,), (4000, 4000), (2**40,)], ids=["400MB", "64MB", "4TB"])
def test_an_npy_header_claiming_more_than_its_bytes_is_refused_before_allocating(saved, tmp_path,
                                                                                  shape):
    def forge(name, data):
        return npy_header(shape) + bytes(64) if name == "param/conv1.W.npy" else data

    bad = rezip(saved, tmp_path / "claims.npz", forge)
    message = refused_within(2**20, lambda: checkpoint.load(bad), CheckpointError, "declares")
    assert str(bad) in message and "param/conv1.W.npy" in message


def test_a_forged_giant_architecture_is_refused_before_building_it(saved, tmp_path):
    def giant(meta):  # linear1 as a 20000 x 20000 layer: 1.6 GB of weights to draw
        meta["model"]["layers"][3]["config"].update(in_features=20000, out_features=20000)

    bad = edit_meta(saved, tmp_path / "giant.npz", giant)
    message = refused_within(2**20, lambda: checkpoint.load(bad), CheckpointError,
                             r"need 400,02\d,\d+ weights")
    assert "forged" in message


@pytest.mark.parametrize("method", [8, 12, 14, 99], ids=["deflate", "bzip2", "lzma", "unknown"])
def test_a_flipped_compression_method_is_refused(saved, tmp_path, method):
    data = bytearray(saved.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):  # local, central
        pos = data.find(signature)
        while pos != -1:
            struct.pack_into("<H", data, pos + offset, method)
            pos = data.find(signature, pos + 4)
    bad = tmp_path / "method.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt|truncated|not a readable"):
        checkpoint.load(bad)


def test_an_archive_with_a_foreign_entry_is_refused(saved, tmp_path):
    bad = rezip(saved, tmp_path / "extra.npz", lambda name, data: data)
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr("README.txt", b"not an array")
    with pytest.raises(CheckpointError, match="README.txt"):
        checkpoint.load(bad)


def test_an_object_array_is_refused_from_its_header_without_unpickling(saved, tmp_path):
    def pickled(name, data):
        return npy_header((1,), "|O") + b"\x80\x04K\x01." if name == "param/conv1.b.npy" else data

    bad = rezip(saved, tmp_path / "pickled.npz", pickled)
    with pytest.raises(CheckpointError, match="pickled object array.*Refused"):
        checkpoint.load(bad)


@pytest.mark.parametrize(
    ("make", "phrase"),
    [(lambda p, d: d.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "truncated"),
     (lambda p, d: edit_meta(p, d, lambda m: m.update(format_version=2)), "Upgrade"),
     (lambda p, d: np.savez(d, W1=np.ones(3)), "not a tatamu checkpoint"),
     (lambda p, d: d.write_bytes(b"\x80\x04\x95pickle"), "not a readable .npz")],
    ids=["truncated", "newer-format", "foreign-npz", "pickle-file"],
)
@pytest.mark.parametrize("command", ["evaluate", "summary", "predict"])
def test_commands_given_a_bad_checkpoint_exit_2_with_one_line(saved, tmp_path, make, phrase,
                                                              command):
    bad = tmp_path / "bad.npz"
    make(saved, bad)
    picture = tmp_path / "digit.npy"
    np.save(picture, np.zeros((28, 28), np.float32))
    argv = [command, bad] + ([picture] if command == "predict" else [])
    status, _, err = run_cli(*argv)
    assert status == 2
    one_error_line(err, str(bad), phrase)


# -- a run folder to resume -----------------------------------------------------------------------
@pytest.fixture
def run_folder(tmp_path) -> Path:
    fit(tiny_model(), tiny_data(12), epochs=1, batch_size=5, optimizer=Adam(), progress=False,
        checkpoint_dir=tmp_path / "run")
    return tmp_path / "run"


def resume(folder: Path, batch_size: int = 5, data=None):
    return fit(tiny_model(seed=3), data or tiny_data(12), epochs=2, batch_size=batch_size,
               optimizer=Adam(), progress=False, checkpoint_dir=folder, resume=True)


def test_resuming_from_a_model_only_checkpoint_says_it_has_no_training_state(saved, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(saved, folder / "last.npz")  # tatamu.save output where a run's belongs
    with pytest.raises(CheckpointError, match="no training state"):
        resume(folder)


@pytest.mark.parametrize(
    "damage",
    [lambda m: m["train_state"].pop("position"),
     lambda m: m["train_state"].update(position={"epoch": "two", "batch": 0}),
     lambda m: m["train_state"].update(position={"epoch": 0, "batch": -1}),
     lambda m: m["train_state"].update(rng_states={"linear1": {"state": 1}}),
     lambda m: m["train_state"].update(partial={"loss": None}),
     lambda m: m["train_state"].update(best_val_loss="low"),
     lambda m: m.update(history=None),
     lambda m: m["history"].update(train_loss=["x"]),
     lambda m: m["history"].update(lr=[1, 2, 3])],
    ids=["no-position", "string-epoch", "epoch-0", "rng-on-a-linear", "partial-none",
         "string-loss", "no-history", "string-history", "history-lengths"],
)
def test_resuming_from_a_damaged_training_state_is_refused_and_changes_nothing(run_folder,
                                                                               damage):
    last = run_folder / "last.npz"
    edit_meta(last, last, damage)
    model = tiny_model(seed=3)
    before = {k: v.copy() for k, v in model.params().items()}
    with pytest.raises(CheckpointError, match="damaged|training state"):
        fit(model, tiny_data(12), epochs=2, batch_size=5, optimizer=Adam(), progress=False,
            checkpoint_dir=run_folder, resume=True)
    for key, value in before.items():
        np.testing.assert_array_equal(model.params()[key], value)


@pytest.mark.parametrize(("batch_size", "n", "words", "option"),
                         [(4, 12, "batch_size=5", "--batch-size 5"),
                          (5, 10, "the same 12 samples", "--limit 12")],
                         ids=["other-batch-size", "other-data-size"])
def test_resuming_mid_epoch_with_other_settings_says_which(tmp_path, batch_size, n, words,
                                                           option):
    folder = tmp_path / "run"
    fit(tiny_model(), tiny_data(12), epochs=1, batch_size=5, optimizer=Adam(), progress=False,
        checkpoint_dir=folder)
    edit_meta(folder / "last.npz", folder / "last.npz",
              lambda m: m["train_state"].update(position={"epoch": 2, "batch": 1}))
    with pytest.raises(ConfigError, match="middle of epoch 2") as info:
        resume(folder, batch_size=batch_size, data=tiny_data(n))
    # The library names the argument (batch_size=5); the CLI names its option (--batch-size 5).
    assert f"settings ({words})" in str(info.value) and len(info.value.fixes) == 1
    assert option.split()[0] not in str(info.value)
    assert f"settings ({option})" in cli_message(info.value)


# -- pictures for `tatamu predict` ----------------------------------------------------------------
def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels, with almost no data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        import zlib

        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"x\x9c\x03\x00\x00\x00"
            b"\x00\x01") + chunk(b"IEND", b""))


def save_npy(array):
    def write(path):
        np.save(path, array)
    return write


PICTURES = {
    "text-as-png": ("digit.png", lambda p: p.write_text("hello"), "not an image"),
    "empty-file": ("digit.png", lambda p: p.write_bytes(b""), "not an image"),
    "truncated-png": ("digit.png", lambda p: p.write_bytes(png_claiming(28, 28)[:40]),
                      "not an image"),
    "bomb-30000x30000": ("bomb.png", lambda p: p.write_bytes(png_claiming(30000, 30000)),
                         "too large a picture"),
    "bomb-10000x10000": ("bomb.png", lambda p: p.write_bytes(png_claiming(10000, 10000)),
                         "too large a picture"),
    "broken-png-chunk": ("digit.png", lambda p: p.write_bytes(png_claiming(10, 12)[:33]
                                                              + bytes(4) + b"IDAT" + bytes(8)),
                         "not an image"),
    "png-chunk-claiming-80MB": ("digit.png", lambda p: p.write_bytes(
        png_claiming(10, 12)[:33] + b"\x05\x00\x00\x00IDAT\x00\x00"), "not an image"),
    "a-folder": ("folder.png", lambda p: p.mkdir(), "no image file"),
    "npy-empty": ("x.npy", save_npy(np.zeros((0, 0), np.float32)), "non-empty"),
    "npy-channels-last": ("x.npy", save_npy(np.zeros((28, 28, 3), np.float32)),
                          "np.transpose(a, (2, 0, 1))"),
    "npy-negative": ("x.npy", save_npy(-np.ones((28, 28), np.float32)), "[0, 1] or [0, 255]"),
    "npy-huge-values": ("x.npy", save_npy(np.full((28, 28), 2**40)), "[0, 1] or [0, 255]"),
    "npy-nan": ("x.npy", save_npy(np.full((28, 28), np.nan)), "NaN"),
    "npy-pickle": ("x.npy", lambda p: np.save(p, np.array([{}]), allow_pickle=True),
                   "not a readable .npy"),
    "npy-4d": ("x.npy", save_npy(np.zeros((1, 1, 28, 28))), "2-D (H, W) or 3-D"),
}


@pytest.mark.parametrize("case", list(PICTURES), ids=list(PICTURES))
def test_a_picture_that_is_not_one_is_refused_and_predict_exits_1(tmp_path, saved, case):
    """One line, exit 1: that picture failed (issue 27; 2 is for a bad command)."""
    name, make, phrase = PICTURES[case]
    path = tmp_path / name
    make(path)
    refused_within(16 * 2**20, lambda: load_image_for(path, MNIST), DataError, re.escape(phrase))
    mnist = tmp_path / "mnist.npz"  # a checkpoint taking 28x28 pictures
    tatamu.save(tatamu.models.simple_convnet(MNIST, filters=2, hidden=4, rng=0), mnist)
    status, _, err = run_cli("predict", mnist, path)
    assert status == 1
    one_error_line(err, str(path), phrase)


def test_a_picture_file_over_the_size_limit_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(tatamu.digits.images, "MAX_PICTURE_BYTES", 1000)
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), np.uint8)).save(path)
    with pytest.raises(DataError, match="tatamu reads pictures up to 1,000"):
        load_image_for(path, MNIST)


def test_a_real_picture_still_reads(tmp_path):
    path = tmp_path / "digit.png"
    Image.fromarray(np.eye(28, dtype=np.uint8) * 255).save(path)
    x, notes = load_image_for(path, MNIST)
    assert x.shape == MNIST and notes == [] and x.max() == 1.0
