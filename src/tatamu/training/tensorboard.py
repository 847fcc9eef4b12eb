"""TensorBoard event files, written by tatamu itself: ``tensorboard --logdir runs`` shows its runs.

Not in the book. An event file is a sequence of TFRecords, each holding one ``Event`` protocol
buffer. Both formats are small enough to write by hand, so TensorBoard (or TensorFlow, or
protobuf) is never a dependency of tatamu; the tests read the files with TensorBoard's own
reader. What is written, in TensorBoard's field numbers (``tensorflow/core/util/event.proto``,
``tensorflow/core/framework/summary.proto``):

    TFRecord  = uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)
    Event     = 1 wall_time (double), 2 step (int64), 3 file_version (string),
                5 summary (Summary), 7 session_log (SessionLog)
    Summary   = 1 value (repeated Value)
    Value     = 1 tag (string), 2 simple_value (float), 4 image (Image)
    Image     = 1 height, 2 width, 3 colorspace (int32), 4 encoded_image_string (bytes: a PNG)
    SessionLog= 1 status (enum; START = 1): on a resume, tells readers to forget the events a
                killed process wrote past the step the run continues from
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
import time
import zlib
from pathlib import Path

import numpy as np

# -- CRC-32C (Castagnoli), as TFRecord frames use it ---------------------------------------------
_POLY = 0x82F63B78  # the Castagnoli polynomial, bit-reversed


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` (``crc32c(b"123456789") == 0xE3069283``, the standard check value).
    """
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """The CRC TFRecord stores: rotated right by 15 bits plus a constant, so a CRC of data
    that itself holds CRCs stays well mixed."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(data: bytes) -> bytes:
    """One TFRecord frame around ``data``."""
    length = struct.pack("<Q", len(data))
    return (length + struct.pack("<I", masked_crc32c(length)) + data
            + struct.pack("<I", masked_crc32c(data)))


# -- the few protocol-buffer fields --------------------------------------------------------------
def _varint(value: int) -> bytes:
    value &= 0xFFFFFFFFFFFFFFFF  # negative int64s as two's complement, as protobuf does
    out = bytearray()
    while True:
        bits, value = value & 0x7F, value >> 7
        out.append(bits | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _tag(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)  # wire types: 0 varint, 1 64-bit, 2 bytes, 5 32-bit


def _bytes(field: int, data: bytes) -> bytes:
    return _tag(field, 2) + _varint(len(data)) + data


def _int(field: int, value: int) -> bytes:
    return _tag(field, 0) + _varint(value)


def _event(step: int, wall_time: float, body: bytes) -> bytes:
    return _tag(1, 1) + struct.pack("<d", wall_time) + _int(2, step) + body


def scalar_event(tag: str, value: float, step: int, wall_time: float) -> bytes:
    """An Event holding one scalar (``Summary.Value.simple_value``)."""
    value_pb = _bytes(1, tag.encode()) + _tag(2, 5) + struct.pack("<f", float(value))
    return _event(step, wall_time, _bytes(5, _bytes(1, value_pb)))


def image_event(tag: str, png: bytes, height: int, width: int, channels: int, step: int,
                wall_time: float) -> bytes:
    """An Event holding one PNG image (``Summary.Value.image``)."""
    image_pb = _int(1, height) + _int(2, width) + _int(3, channels) + _bytes(4, png)
    value_pb = _bytes(1, tag.encode()) + _bytes(4, image_pb)
    return _event(step, wall_time, _bytes(5, _bytes(1, value_pb)))


def file_version_event(wall_time: float) -> bytes:
    """The first Event of every file: which format the rest is in."""
    return _event(0, wall_time, _bytes(3, b"brain.Event:2"))


def session_start_event(step: int, wall_time: float) -> bytes:
    """``SessionLog.START`` at ``step``: readers drop every event an earlier process wrote at
    ``step`` or later (a run killed after its last checkpoint, then resumed from it)."""
    return _event(step, wall_time, _bytes(7, _int(1, 1)))


# -- PNG, for image summaries ----------------------------------------------------------------------
def png(pixels: np.ndarray) -> bytes:
    """A PNG of ``pixels``: (H, W) grey or (H, W, 3) RGB, uint8."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = pixels.shape[:2]
    colour = 2 if pixels.ndim == 3 else 0  # PNG colour types: 0 grey, 2 RGB

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = pixels.reshape(height, -1)  # (H, W) or (H, W*3): one scanline per row
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)  # filter type 0 on every line
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def filter_grid(weights: np.ndarray, *, scale: int = 6, gap: int = 2) -> np.ndarray:
    """The filters of a first layer as one grey image (uint8), as the book's ``filter_show``.

    Shapes: weights (FN, C, FH, FW) or (FN, C, K) (1-D) -> (rows*(FH*scale+gap)-gap, ...).
    Each filter is averaged over its input channels, scaled to its own min..max (white = most
    positive) and enlarged ``scale`` times; filters are laid out in rows of up to 8.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim == 3:
        w = w[:, :, None, :]  # (FN, C, K) -> (FN, C, 1, K)
    tiles = w.mean(axis=1)  # (FN, FH, FW)
    low = tiles.min(axis=(1, 2), keepdims=True)
    span = tiles.max(axis=(1, 2), keepdims=True) - low
    tiles = np.where(span > 0, (tiles - low) / np.where(span > 0, span, 1), 0.5)
    tiles = np.kron(tiles, np.ones((1, scale, scale)))  # (FN, FH*scale, FW*scale)
    count, th, tw = tiles.shape
    cols = min(count, 8)
    rows = -(-count // cols)
    grid = np.zeros((rows * (th + gap) - gap, cols * (tw + gap) - gap))
    for index, tile in enumerate(tiles):
        r, c = divmod(index, cols)
        grid[r * (th + gap): r * (th + gap) + th, c * (tw + gap): c * (tw + gap) + tw] = tile
    return np.round(255 * grid).astype(np.uint8)


# -- the file --------------------------------------------------------------------------------------
class EventWriter:
    """Writes events to a new file ``events.out.tfevents.TIME.HOST.PID.N.tatamu`` in ``folder``.

    One file per training session of the run (a resume starts another, as TensorBoard's own
    writers do; readers take them in name order); each event is flushed at once, so
    ``tensorboard`` shows a run as it grows.
    """

    def __init__(self, folder: str | Path) -> None:
        now = time.time()
        stem = f"events.out.tfevents.{int(now):010d}.{socket.gethostname()}.{os.getpid()}"
        for number in itertools.count():  # a second session in the same second: the next N
            self.path = Path(folder) / f"{stem}.{number}.tatamu"
            try:
                self._file = open(self.path, "xb")  # noqa: SIM115 (closed by close())
                break
            except FileExistsError:
                continue
        self.write(file_version_event(now))

    def write(self, event: bytes) -> None:
        self._file.write(tfrecord(event))
        self._file.flush()

    def scalar(self, tag: str, value: float, step: int) -> None:
        self.write(scalar_event(tag, value, step, time.time()))

    def image(self, tag: str, pixels: np.ndarray, step: int) -> None:
        height, width = pixels.shape[:2]
        channels = pixels.shape[2] if pixels.ndim == 3 else 1
        self.write(image_event(tag, png(pixels), height, width, channels, step, time.time()))

    def start_session(self, step: int) -> None:
        self.write(session_start_event(step, time.time()))

    def close(self) -> None:
        self._file.close()
