"""The strict IDX reader: good files, every kind of damage, and a fuzz test (DataError only)."""

from __future__ import annotations

import gzip
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tatamu.datasets import encode_idx, read_idx, sha256_uncompressed
from tatamu.errors import ConfigError, DataError

GOOD = encode_idx(np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4))


@pytest.mark.parametrize(
    "array",
    [
        np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
        np.array([5, 0, 4, 1, 9], dtype=np.uint8),
        np.arange(-3, 3, dtype=np.int8),
        np.arange(6, dtype=np.int16).reshape(3, 2) * -300,
        np.arange(6, dtype=np.int32) * 100_000,
        np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3),
        np.linspace(-1, 1, 4, dtype=np.float64),
        np.zeros((0, 28, 28), dtype=np.uint8),
    ],
    ids=["u8-3d", "u8-1d", "i8", "i16", "i32", "f32", "f64", "empty"],
)
@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_round_trip_bytes_and_path(array: np.ndarray, compress: bool, tmp_path: Path) -> None:
    data = encode_idx(array)
    if compress:
        data = gzip.compress(data)
    path = tmp_path / "a.idx"
    path.write_bytes(data)
    for source in (data, path, str(path)):
        out = read_idx(source)
        assert out.dtype == array.dtype and out.dtype.isnative
        np.testing.assert_array_equal(out, array)
        out[...] = 0  # writable: callers may normalise in place


def test_header_bytes_are_big_endian() -> None:
    # Hand-written: magic 00 00 08 01, dim 3, then three bytes.
    assert read_idx(b"\x00\x00\x08\x01\x00\x00\x00\x03\x07\x08\x09").tolist() == [7, 8, 9]
    # int32 values are big-endian on disk.
    assert read_idx(b"\x00\x00\x0c\x01\x00\x00\x00\x01\x00\x00\x01\x00").tolist() == [256]


def test_sha256_checked_on_uncompressed_bytes() -> None:
    import hashlib

    good = hashlib.sha256(GOOD).hexdigest()
    assert sha256_uncompressed(gzip.compress(GOOD)) == good
    read_idx(gzip.compress(GOOD), sha256=good.upper())  # case-insensitive
    with pytest.raises(DataError, match=r"sha256 .* expected 0{64}"):
        read_idx(GOOD, sha256="0" * 64)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_truncated_file_names_file_and_byte_counts(compress: bool, tmp_path: Path) -> None:
    data = GOOD[:-5]
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(DataError, match="truncated") as info:
        read_idx(path)
    msg = str(info.value)
    assert str(path) in msg and "need 24 bytes" in msg and "found 19" in msg


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_extra_trailing_bytes(compress: bool, tmp_path: Path) -> None:
    data = GOOD + b"\x00" * 7
    path = tmp_path / "x.idx"
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(DataError, match=r"trailing bytes.*found 31 \(extra 7\)"):
        read_idx(path)


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x08\x01\x00\x00\x00\x01\x00",  # second magic byte not zero
        b"\x00\x00\x07\x01\x00\x00\x00\x01\x00",  # unknown type code
        b"\x00\x00\x08\x00",  # zero dimensions
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 20,  # a PNG
        b"<!DOCTYPE html><html><body>403 Forbidden</body></html>",  # a mirror's error page
    ],
    ids=["magic", "type-code", "ndim-0", "png", "html"],
)
def test_foreign_files_say_so(data: bytes) -> None:
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(data)


@pytest.mark.parametrize("data", [b"", b"\x00\x00", b"\x00\x00\x08\x03\x00\x00"])
def test_too_short(data: bytes) -> None:
    with pytest.raises(DataError, match="too short|truncated IDX header"):
        read_idx(data)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_absurd_dimensions_refused_before_allocating(compress: bool) -> None:
    absurd = b"\x00\x00\x08\x02" + struct.pack(">II", 0xFFFFFFFF, 0xFFFFFFFF)  # 12 bytes
    big = b"\x00\x00\x08\x03" + struct.pack(">III", 1000, 1000, 500)  # 500 MB, under the cap
    tracemalloc.start()
    try:
        for data in (absurd, big):
            with pytest.raises(DataError, match="absurd|truncated"):
                read_idx(gzip.compress(data) if compress else data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20  # a few MiB of chunk buffers, never the declared size


def test_max_bytes_caps_declared_size() -> None:
    with pytest.raises(DataError, match="absurd"):
        read_idx(GOOD, max_bytes=10)


def test_corrupt_gzip_becomes_data_error() -> None:
    gz = gzip.compress(GOOD)
    for bad in (gz[: len(gz) // 2], gz[:10] + b"\xff" * 30, b"\x1f\x8b" + b"junk"):
        with pytest.raises(DataError, match="gzip|IDX"):
            read_idx(bad)
        with pytest.raises(DataError):
            sha256_uncompressed(bad)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot open"):
        read_idx(tmp_path / "nope.gz")


def test_encode_rejects_unstorable() -> None:
    with pytest.raises(ConfigError):
        encode_idx(np.zeros(3, dtype=np.int64))


_SEEDS = [GOOD, gzip.compress(GOOD, mtime=0), encode_idx(np.arange(6, dtype=np.float32))]


@st.composite
def _damaged(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "append", "insert"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[pos:]
        elif op == "append":
            data += draw(st.binary(max_size=8))
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
    return bytes(data)


@settings(max_examples=150, deadline=2000)
@given(st.one_of(st.binary(max_size=64), _damaged()))
def test_fuzz_only_data_error(data: bytes) -> None:
    try:
        out = read_idx(data)
    except DataError:
        return
    assert isinstance(out, np.ndarray)
