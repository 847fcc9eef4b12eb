"""The shipped MNIST-1D: NCL shapes, dtypes, checksum, and refusal of pickled or odd files."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import numpy as np
import pytest

from tatamu.datasets import integrity, load_mnist1d, mnist1d
from tatamu.errors import DataError


def test_shapes_and_dtypes() -> None:
    (x_train, y_train), (x_test, y_test) = load_mnist1d()
    assert x_train.shape == (4000, 1, 40) and x_test.shape == (1000, 1, 40)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert y_train.shape == (4000,) and y_test.shape == (1000,)
    assert y_train[:5].tolist() == [2, 6, 4, 5, 6]
    assert set(np.unique(y_train).tolist()) == set(range(10))


def test_float64_and_normalize() -> None:
    (x_train, _), (x_test, _) = load_mnist1d(normalize=True, dtype=np.float64)
    assert x_train.dtype == np.float64 and x_test.dtype == np.float64
    assert abs(x_train.mean()) < 1e-9 and abs(x_train.std() - 1) < 1e-9


def _use(path: Path, monkeypatch: pytest.MonkeyPatch, *, trust: bool = False) -> None:
    monkeypatch.setattr(mnist1d, "MNIST1D_PATH", path)
    if trust:  # pretend the published hash is this file's, to reach the format checks
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        monkeypatch.setattr(mnist1d, "MNIST1D_SHA256", digest)
    integrity.forget_all()


def test_tampered_copy_fails_checksum(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "mnist1d.npz"
    shutil.copy(mnist1d.MNIST1D_PATH, copy)
    data = bytearray(copy.read_bytes())
    data[-100] ^= 1
    copy.write_bytes(bytes(data))
    _use(copy, monkeypatch)
    with pytest.raises(DataError, match="sha256"):
        load_mnist1d()


def _npz(path: Path, **arrays) -> Path:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())
    return path


def test_pickled_arrays_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    objects = np.array([{"evil": 1}] * 3, dtype=object)
    _use(_npz(tmp_path / "m.npz", x_train=objects, y_train=objects, x_test=objects,
              y_test=objects), monkeypatch, trust=True)
    with pytest.raises(DataError, match="not a readable MNIST-1D"):
        load_mnist1d()


def test_wrong_shapes_and_missing_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good_y = np.zeros(4, dtype=np.int64)
    _use(_npz(tmp_path / "a.npz", x_train=np.zeros((4, 39)), y_train=good_y,
              x_test=np.zeros((4, 40)), y_test=good_y), monkeypatch, trust=True)
    with pytest.raises(DataError, match=r"x_train should be float \(N, 40\)"):
        load_mnist1d()
    _use(_npz(tmp_path / "b.npz", x_train=np.zeros((4, 40))), monkeypatch, trust=True)
    with pytest.raises(DataError, match="KeyError"):
        load_mnist1d()
    _use(tmp_path / "missing.npz", monkeypatch)
    with pytest.raises(DataError, match="cannot read"):
        load_mnist1d()
