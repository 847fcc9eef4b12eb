"""The shipped MNIST: shapes, dtypes, known labels, checksums, ``root=`` copies, normalisation."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tatamu.datasets import encode_idx, integrity, load_mnist, mnist
from tatamu.errors import ConfigError, DataError

# Per-class counts of the official MNIST splits (LeCun et al.).
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def shipped() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    return load_mnist()


def test_shapes_dtypes_ranges(shipped) -> None:
    (x_train, y_train), (x_test, y_test) = shipped
    assert x_train.shape == (60000, 1, 28, 28) and x_test.shape == (10000, 1, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == np.float32 and x_test.dtype == np.float32
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert 0.12 < x_train.mean() < 0.14  # the well-known MNIST mean 0.1307


def test_known_labels_and_counts(shipped) -> None:
    (_, y_train), (_, y_test) = shipped
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == TEST_COUNTS


@pytest.fixture
def tiny_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_fashion, idx_writer) -> Path:
    """A tiny MNIST stand-in under ``root=``, with MNIST's checksum table patched to match."""
    sums = {k: hashlib.sha256(v).hexdigest() for k, v in tiny_fashion.items()}
    monkeypatch.setattr(mnist, "MNIST_SHA256", sums)
    return idx_writer(tmp_path / "tiny", tiny_fashion)


def test_pixel_scaling_is_exact(shipped) -> None:
    _, (x_test, _) = shipped
    raw = mnist.read_idx(mnist.SHIPPED_MNIST_DIR / "t10k-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(x_test[:, 0], raw.astype(np.float32) / np.float32(255))


def test_shipped_copy_was_verified(shipped) -> None:
    for name, digest in mnist.MNIST_SHA256.items():
        assert integrity.is_verified(mnist.SHIPPED_MNIST_DIR / (name + ".gz"), digest)


def test_checksum_is_memoised(tiny_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = mnist.read_idx
    monkeypatch.setattr(mnist, "read_idx", lambda p, **kw: calls.append(kw) or real(p, **kw))
    load_mnist(tiny_root)
    assert [set(kw) for kw in calls] == [{"sha256"}] * 4
    calls.clear()
    load_mnist(tiny_root)
    assert calls == [{}] * 4  # no sha256 passed: not re-hashed
    labels = tiny_root / "t10k-labels-idx1-ubyte.gz"
    st = labels.stat()
    os.utime(labels, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # "edited": checked again
    calls.clear()
    load_mnist(tiny_root)
    assert [set(kw) for kw in calls] == [set()] * 3 + [{"sha256"}]


def test_standardised_with_training_statistics() -> None:
    (x_train, _), (x_test, _) = load_mnist(normalize=True)
    assert x_train.dtype == np.float32
    assert abs(x_train.mean(dtype=np.float64)) < 1e-6
    assert abs(x_train.std(dtype=np.float64) - 1) < 1e-6
    assert abs(x_test.mean(dtype=np.float64)) < 0.05  # test set: the *training* mean/std


def test_float64_dtype_and_explicit_mean_std(tiny_root: Path) -> None:
    (u8, _), _ = load_mnist(tiny_root, dtype=np.float64)
    assert u8.dtype == np.float64 and u8.min() >= 0 and u8.max() <= 1
    (x_train, _), (x_test, _) = load_mnist(tiny_root, normalize=True, dtype=np.float64)
    assert x_train.dtype == x_test.dtype == np.float64
    np.testing.assert_allclose(x_train, (u8 - u8.mean()) / u8.std(), atol=1e-12)
    (x_train, _), _ = load_mnist(tiny_root, normalize=(0.1307, 0.3081))
    assert x_train.dtype == np.float32
    np.testing.assert_allclose(x_train, (u8 - 0.1307) / 0.3081, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("bad", [(0.1, 0.0), (0.1,), "yes", (np.nan, 1.0)])
def test_bad_normalize(bad) -> None:
    with pytest.raises(ConfigError, match="normalize"):
        load_mnist(normalize=bad)


def test_integer_dtype_refused() -> None:
    with pytest.raises(ConfigError, match="floating"):
        load_mnist(dtype=np.int32)


def test_root_with_uncompressed_copy(tmp_path: Path, shipped) -> None:
    for name in mnist.IDX_NAMES:
        with gzip.open(mnist.SHIPPED_MNIST_DIR / (name + ".gz")) as src:
            (tmp_path / name).write_bytes(src.read())
    (x_train, y_train), (x_test, y_test) = load_mnist(tmp_path)
    np.testing.assert_array_equal(y_train, shipped[0][1])
    np.testing.assert_array_equal(x_test, shipped[1][0])


def test_tampered_copy_fails_checksum(tmp_path: Path) -> None:
    for name in mnist.IDX_NAMES:
        shutil.copy(mnist.SHIPPED_MNIST_DIR / (name + ".gz"), tmp_path)
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    data = bytearray(gzip.decompress(labels.read_bytes()))
    data[8] = 3  # the first label, 5 -> 3: still a perfectly valid IDX file
    labels.unlink()
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte.*sha256"):
        load_mnist(tmp_path)


def test_root_missing_files_listed(tmp_path: Path) -> None:
    shutil.copy(mnist.SHIPPED_MNIST_DIR / "t10k-labels-idx1-ubyte.gz", tmp_path)
    with pytest.raises(DataError, match="missing train-images-idx3-ubyte") as info:
        load_mnist(tmp_path)
    assert "t10k-labels" not in str(info.value) and str(tmp_path) in str(info.value)


def test_wrong_file_kind_in_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Labels where images belong: valid IDX, right checksum table (patched), wrong shape.
    payloads = {name: encode_idx(np.zeros(4, dtype=np.uint8)) for name in mnist.IDX_NAMES}
    for name, data in payloads.items():
        (tmp_path / name).write_bytes(data)
    sums = {k: hashlib.sha256(v).hexdigest() for k, v in payloads.items()}
    monkeypatch.setattr(mnist, "MNIST_SHA256", sums)
    with pytest.raises(DataError, match=r"expected uint8 images of shape \(N, 28, 28\)"):
        load_mnist(tmp_path)
