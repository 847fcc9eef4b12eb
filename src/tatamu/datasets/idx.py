"""Read and write IDX files, the format MNIST and Fashion-MNIST are published in.

The book's ``dataset/mnist.py`` reads IDX with ``np.frombuffer(f.read(), offset=16)``: it trusts
the header, so a truncated download becomes a silent reshape error or a wrong-sized array. This
reader is strict instead: it checks the magic number, the type code, the declared dimensions
against the bytes actually there (before allocating anything that large), and turns every
gzip/zlib failure into a :class:`~tatamu.errors.DataError` that names the file.

IDX layout: ``0x00 0x00 <type code> <ndim>``, then ``ndim`` big-endian uint32 dimensions, then the
data, big-endian, C order. Files may be gzip-compressed (detected by the gzip magic ``1f 8b``).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import math
import os
import struct
import zlib
from typing import BinaryIO

import numpy as np

from ..errors import ConfigError, DataError
from ..i18n import _

#: IDX type code (the third magic byte) -> the big-endian dtype it stores.
IDX_DTYPES: dict[int, str] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}

#: The largest payload (and decompressed size) accepted: 1 GiB. The largest real IDX file,
#: Fashion-MNIST's training images, is 47 MB; anything declaring more is damaged or hostile.
MAX_IDX_BYTES = 1 << 30

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20  # read in 1 MiB steps so memory follows the bytes present, not the header's claim

#: What ``read_idx`` accepts: a path, or the file's bytes (gzip-compressed or not).
IdxSource = str | os.PathLike[str] | bytes | bytearray | memoryview

# Errors the gzip/zlib stack raises on corrupt or truncated compressed data.
_GZIP_ERRORS = (OSError, EOFError, zlib.error)


def read_idx(
    source: IdxSource, *, sha256: str | None = None, max_bytes: int = MAX_IDX_BYTES
) -> np.ndarray:
    """Parse an IDX file strictly and return its array in native byte order.

    Parameters
    ----------
    source : path or bytes
        The file, raw or gzip-compressed (detected by its first two bytes).
    sha256 : str, optional
        Expected sha256 (hex) of the *uncompressed* bytes; checked while reading, so a verified
        load decompresses once.
    max_bytes : int
        Refuse files whose declared payload is larger than this.

    Returns
    -------
    numpy.ndarray
        Shape as declared by the header, dtype from the type code (uint8 for MNIST).

    Raises
    ------
    DataError
        Missing or unreadable file, foreign (non-IDX) content, truncated data, trailing bytes,
        absurd dimensions, corrupt gzip data, or a sha256 mismatch. The message names the file.

    Shapes
    ------
    MNIST images: ``(N, 28, 28)`` uint8; labels: ``(N,)`` uint8.

    Examples
    --------
    >>> read_idx(encode_idx(np.arange(6, dtype=np.uint8).reshape(2, 3))).tolist()
    [[0, 1, 2], [3, 4, 5]]
    """
    name = _name_of(source)
    with contextlib.ExitStack() as stack:
        stream, raw_size = _open_uncompressed(source, name, stack)
        try:
            return _parse(stream, name, raw_size, sha256, max_bytes)
        except _GZIP_ERRORS as e:
            raise DataError(_("{name}: corrupt or truncated gzip data ({e})", name=name,
                              e=e)) from e
    raise AssertionError("unreachable")  # pragma: no cover - for type checkers: ExitStack


def sha256_uncompressed(source: IdxSource, *, max_bytes: int = MAX_IDX_BYTES) -> str:
    """Return the sha256 (hex) of a file's bytes after gunzip (of the bytes as-is if not gzip).

    The published checksums are of the uncompressed files because gzip output differs between
    gzip versions. Decompression stops with a :class:`DataError` past ``max_bytes``.
    """
    name = _name_of(source)
    digest = hashlib.sha256()
    total = 0
    with contextlib.ExitStack() as stack:
        stream, _raw = _open_uncompressed(source, name, stack)
        try:
            while chunk := stream.read(_CHUNK):
                total += len(chunk)
                if total > max_bytes:
                    raise DataError(_("{name}: decompresses to more than {max_bytes} bytes",
                                      name=name, max_bytes=max_bytes))
                digest.update(chunk)
        except _GZIP_ERRORS as e:
            raise DataError(_("{name}: corrupt or truncated gzip data ({e})", name=name,
                              e=e)) from e
    return digest.hexdigest()


def encode_idx(array: np.ndarray) -> bytes:
    """Return the uncompressed IDX bytes of ``array`` (the inverse of :func:`read_idx`).

    Used to build test fixtures and to export data; dtype must be one IDX can store
    (uint8, int8, int16, int32, float32, float64).

    Shapes
    ------
    Any ``(d1, ..., dn)`` with n >= 1 -> ``4 + 4n`` header bytes + the data, big-endian.
    """
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in IDX_DTYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None or array.ndim == 0:
        raise ConfigError(_("IDX stores 1+-d arrays of {map}; got {ndim}-d {dtype}",
                            map=sorted(map(str, codes)), ndim=array.ndim, dtype=array.dtype))
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(IDX_DTYPES[code], copy=False).tobytes()


def _name_of(source: IdxSource) -> str:
    if isinstance(source, bytes | bytearray | memoryview):
        return f"<{len(source)} bytes in memory>"
    return os.fspath(source)


def _open_uncompressed(
    source: IdxSource, name: str, stack: contextlib.ExitStack
) -> tuple[BinaryIO, int | None]:
    """Open ``source`` for reading its uncompressed bytes; also return its size if known."""
    if isinstance(source, bytes | bytearray | memoryview):
        raw: BinaryIO = io.BytesIO(source)
        size = len(source)
    else:
        try:
            raw = stack.enter_context(open(source, "rb"))  # closed by the stack
            size = os.fstat(raw.fileno()).st_size
        except OSError as e:
            raise DataError(_("{name}: cannot open ({strerror})",
                              name=name, strerror=e.strerror or e)) from e
    if raw.read(2) != GZIP_MAGIC:
        raw.seek(0)
        return raw, size
    raw.seek(0)
    # Size unknown until decompressed: the parser reads in chunks and compares as it goes.
    return stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb")), None


def _read_upto(stream: BinaryIO, n: int) -> bytes:
    """Read at most ``n`` bytes, in chunks, stopping early at end of file."""
    chunks, got = [], 0
    while got < n and (chunk := stream.read(min(_CHUNK, n - got))):
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)  # one copy at the end, not one per growth step


def _parse(
    stream: BinaryIO, name: str, raw_size: int | None, sha256: str | None, max_bytes: int
) -> np.ndarray:
    head = _read_upto(stream, 4)
    if len(head) < 4:
        raise DataError(_("{name}: too short to be an IDX file ({n_head} bytes; the magic "
                          "number alone is 4 bytes)", name=name, n_head=len(head)))
    code, ndim = head[2], head[3]
    if head[:2] != b"\0\0" or code not in IDX_DTYPES or ndim == 0:
        raise DataError(
            _("{name}: not an IDX file: it starts with {hex}, but IDX starts with 00 00, a type "
              "code in ({items}) and the number of dimensions (a foreign file, an HTML error "
              "page, or the wrong path?)",
              name=name, hex=head.hex(' '), items=', '.join(f'{c:02x}' for c in IDX_DTYPES))
        )
    dims_bytes = _read_upto(stream, 4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise DataError(_("{name}: truncated IDX header: {ndim} dimensions need {value} bytes "
                          "after the magic number; found {n_dims_bytes}",
                          name=name, ndim=ndim, value=4 * ndim, n_dims_bytes=len(dims_bytes)))
    dims = struct.unpack(f">{ndim}I", dims_bytes)
    dtype = np.dtype(IDX_DTYPES[code])
    header_len = 4 + 4 * ndim
    expected = math.prod(dims) * dtype.itemsize  # Python ints: no overflow on absurd dims
    what = _("dimensions {dims} of {dtype} need {expected} bytes after the {header_len}-byte",
             dims=dims, dtype=dtype.name, expected=expected, header_len=header_len)
    # A zero dimension empties the data, but NumPy still refuses a shape such as
    # (0, 2**21, 2**21, 2**21) whose other dimensions overflow: bound those too.
    nonzero = math.prod(max(d, 1) for d in dims) * dtype.itemsize
    if expected > max_bytes or nonzero > max_bytes:
        need = what if expected > max_bytes else _(
            "dimensions {dims} of {dtype} without the zero ones need {nonzero} bytes after the "
            "{header_len}-byte", dims=dims, dtype=dtype.name, nonzero=nonzero,
            header_len=header_len)
        raise DataError(_("{name}: absurd IDX header: {need} header, more than the "
                          "{max_bytes}-byte limit (damaged or not an IDX file)",
                          name=name, need=need, max_bytes=max_bytes))
    # Raw files: compare sizes before reading or allocating anything.
    if raw_size is not None and raw_size - header_len != expected:
        _raise_size_mismatch(name, what, raw_size - header_len, expected)
    payload = _read_upto(stream, expected + 1)  # +1 detects trailing bytes in gzip streams
    if len(payload) != expected:
        actual = len(payload)
        if actual > expected:  # count the rest without keeping it, up to the cap
            while actual <= max_bytes and (chunk := stream.read(_CHUNK)):
                actual += len(chunk)
        _raise_size_mismatch(name, what, actual, expected)
    if sha256 is not None:
        digest = hashlib.sha256(head)
        digest.update(dims_bytes)
        digest.update(payload)  # no concatenation: the payload can be 47 MB
        got = digest.hexdigest()
        if got != sha256.lower():
            raise DataError(_("{name}: sha256 of the uncompressed bytes is {got}, expected "
                              "{sha256}: the file is corrupt or not the official release; "
                              "replace it with a fresh copy",
                              name=name, got=got, sha256=sha256.lower()))
    # big-endian bytes -> native-endian array, shape as declared
    return np.frombuffer(payload, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def _raise_size_mismatch(name: str, what: str, actual: int, expected: int) -> None:
    if actual < expected:
        kind, missing = _("truncated IDX file"), _("missing {count}", count=expected - actual)
    else:
        kind, missing = _("IDX file with trailing bytes"), _("extra {count}",
                                                            count=actual - expected)
    raise DataError(_("{name}: {kind}: {what} header; found {actual} ({difference})",
                      name=name, kind=kind, what=what, actual=actual, difference=missing))
