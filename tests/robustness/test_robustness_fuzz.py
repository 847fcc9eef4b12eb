"""Fuzzing the readers of untrusted files: IDX, checkpoints (load and resume), pictures.

Each fuzzer feeds random bytes and mutated valid files (bytes flipped, cut, inserted, 32-bit
fields overwritten; for checkpoints also well-formed archives whose JSON, arrays or .npy
headers are garbage) and requires, for every example:

- the only exception is tatamu's own (``TatamuError``; its subclass for that reader);
- the traced peak memory stays under ``MEMORY_LIMIT`` (tracemalloc sees NumPy's buffers too);
- it returns within ``TIME_LIMIT`` seconds.

Budget: ``FUZZ_EXAMPLES`` (100) examples per fuzzer in the default suite; the ``slow`` tests
run ``LONG_EXAMPLES`` (5,000) each (``make test-slow``, or ``pytest -m slow
tests/robustness``). ``TATAMU_FUZZ_EXAMPLES=N`` sets both budgets to N.
"""

from __future__ import annotations

import io
import json
import os
import struct
import time
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robustness_helpers import tiny_data, tiny_model

import tatamu
from tatamu.datasets import encode_idx, read_idx
from tatamu.digits.images import load_image_for, prepare_digit
from tatamu.errors import CheckpointError, DataError, TatamuError
from tatamu.optim import Adam, StepLR
from tatamu.training.loop import fit

_ENV = os.environ.get("TATAMU_FUZZ_EXAMPLES")
FUZZ_EXAMPLES = int(_ENV) if _ENV else 100
LONG_EXAMPLES = int(_ENV) if _ENV else 5000
MEMORY_LIMIT = 64 * 2**20  # bytes: inputs are at most tens of KB
TIME_LIMIT = 5.0  # seconds per example (a hang would be minutes)
#: Examples each fuzzer ran in this session, for the report (pytest -s prints them).
COUNTS: dict[str, int] = {}


def run_fuzz(name: str, strategy, check, examples: int) -> int:
    """Run ``check(example)`` on ``examples`` examples of ``strategy`` under the bounds."""
    seen = [0]

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(strategy)
    def fuzz(example):
        seen[0] += 1
        tracemalloc.start()
        start = time.perf_counter()
        try:
            check(example)
        finally:
            elapsed = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert elapsed < TIME_LIMIT, f"took {elapsed:.1f} s"
        assert peak < MEMORY_LIMIT, f"peak memory {peak:,} bytes"

    fuzz()
    COUNTS[name] = COUNTS.get(name, 0) + seen[0]
    print(f"\n{name}: {seen[0]} examples")
    assert seen[0] >= min(examples, 10)
    return seen[0]


# -- mutations ------------------------------------------------------------------------------------
@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    """A seed file with 1-6 random edits."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "byte", "cut", "insert", "delete", "u32", "copy"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 64))]
        elif op == "u32" and len(data) >= pos + 4:  # sizes, counts and offsets are 32-bit
            value = draw(st.sampled_from([0, 1, 2**31 - 1, 2**32 - 1, 2**16, 10**9]))
            data[pos : pos + 4] = struct.pack(draw(st.sampled_from(["<I", ">I"])), value)
        elif op == "copy" and data:
            n = draw(st.integers(1, 256))
            data[pos:pos] = data[draw(st.integers(0, len(data) - 1)):][:n]
    return bytes(data)


def bytes_like(seeds: list[bytes]):
    return st.one_of(st.binary(max_size=512), mutated(seeds))


# -- IDX ------------------------------------------------------------------------------------------
def _idx_seeds() -> list[bytes]:
    import gzip

    raw = [encode_idx(np.arange(2 * 5 * 5, dtype=np.uint8).reshape(2, 5, 5)),
           encode_idx(np.array([5, 0, 4, 1, 9], dtype=np.uint8)),
           encode_idx(np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2)),
           encode_idx(np.arange(4, dtype=np.int16))]
    return raw + [gzip.compress(r, mtime=0) for r in raw]


@st.composite
def idx_headers(draw) -> bytes:
    """Well-formed magic with any type code, ndim, dimensions and payload length."""
    ndim = draw(st.integers(0, 5))
    dims = draw(st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 9), min_size=ndim,
                         max_size=ndim))
    code = draw(st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF]))
    return (bytes([0, 0, code, ndim]) + struct.pack(f">{ndim}I", *dims)
            + draw(st.binary(max_size=64)))


def check_idx(data: bytes) -> None:
    try:
        out = read_idx(data)
    except DataError:
        return
    assert isinstance(out, np.ndarray) and out.dtype.isnative


IDX_STRATEGY = st.one_of(bytes_like(_idx_seeds()), idx_headers())


def test_fuzz_idx_parser():
    run_fuzz("idx", IDX_STRATEGY, check_idx, FUZZ_EXAMPLES)


@pytest.mark.slow
def test_fuzz_idx_parser_long():
    run_fuzz("idx-long", IDX_STRATEGY, check_idx, LONG_EXAMPLES)


# -- checkpoints ----------------------------------------------------------------------------------
def _checkpoint_bytes(folder: Path) -> list[bytes]:
    """A trained model with Adam state, and a run's last.npz (history, train_state)."""
    x, labels = tiny_data(12)
    model, opt = tiny_model(), Adam(lr=1e-2)
    model.gradient(x, labels)
    opt.step(model.params(), model.grads())
    plain = tatamu.save(model, folder / "plain.npz", optimizer=opt,
                        metadata={"dataset": "synthetic"}, overwrite=True)
    run = folder / "run"
    fit(tiny_model(), (x, labels), epochs=1, batch_size=5, optimizer=Adam(), progress=False,
        checkpoint_dir=run)
    return [plain.read_bytes(), (run / "last.npz").read_bytes()]


def _entries(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.integers(-3, 40)
    | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4),
    max_leaves=8,
)


def _edit_json(draw, node):
    """Replace, delete or add one value somewhere in a JSON tree (in place); return the tree."""
    if isinstance(node, dict) and node and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(node)))
        action = draw(st.sampled_from(["descend", "replace", "delete"]))
        if action == "descend" and isinstance(node[key], dict | list) and node[key]:
            _edit_json(draw, node[key])
        elif action == "delete":
            del node[key]
        else:
            node[key] = draw(json_values)
    elif isinstance(node, list) and node:
        i = draw(st.integers(0, len(node) - 1))
        if isinstance(node[i], dict | list) and draw(st.booleans()):
            _edit_json(draw, node[i])
        else:
            node[i] = draw(json_values)
    elif isinstance(node, dict):
        node[draw(st.text(max_size=6))] = draw(json_values)
    return node


def _npy(shape, descr: str, payload: bytes) -> bytes:
    header = {"descr": descr, "fortran_order": False, "shape": tuple(shape)}
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, header)
    return out.getvalue() + payload


@st.composite
def wellformed_checkpoints(draw, seeds: list[bytes]) -> bytes:
    """Valid zip archives (right CRCs) whose contents are damaged: what no bit flip reaches."""
    entries = _entries(draw(st.sampled_from(seeds)))
    meta = json.loads(entries["meta"].tobytes())
    raw: dict[str, bytes] = {}
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["json", "json", "json", "array", "drop", "npy"]))
        name = draw(st.sampled_from(sorted(entries)))
        if kind == "json":
            meta = _edit_json(draw, meta)
        elif kind == "array" and name != "meta":
            dtype = draw(st.sampled_from(["f4", "f8", "f2", "i4", "u1", "?", "c8", "U3", "V4"]))
            shape = draw(st.lists(st.integers(0, 5), max_size=4))
            entries[name] = np.zeros(shape, dtype=dtype)
        elif kind == "drop":
            entries.pop(name, None)
        elif kind == "npy":  # a raw .npy whose header says anything
            shape = draw(st.lists(st.integers(0, 10**12) | st.integers(0, 9), max_size=3))
            descr = draw(st.sampled_from(["<f4", ">f8", "|u1", "|O", "<U4", "|V8", "<i8"]))
            raw[name + ".npy"] = _npy(shape, descr, draw(st.binary(max_size=64)))
            entries.pop(name, None)
    text = json.dumps(meta) if draw(st.integers(0, 9)) else draw(st.text(max_size=20))
    entries["meta"] = np.frombuffer(text.encode(), dtype=np.uint8)
    out = io.BytesIO()
    np.savez(out, **entries)
    if raw:
        with zipfile.ZipFile(out, "a") as zf, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a duplicate entry name is a fine test case
            for entry, data in raw.items():
                zf.writestr(entry, data)
    return out.getvalue()


@pytest.fixture(scope="module")
def checkpoint_seeds(tmp_path_factory) -> list[bytes]:
    return _checkpoint_bytes(tmp_path_factory.mktemp("seeds"))


def _checkpoint_strategy(seeds):
    return st.one_of(bytes_like(seeds), wellformed_checkpoints(seeds))


def check_checkpoint(folder: Path):
    path = folder / "fuzzed.npz"

    def check(data: bytes) -> None:
        path.write_bytes(data)
        try:
            model = tatamu.load(path)
        except CheckpointError as exc:
            assert str(path) in str(exc)
            return
        for value in model.params().values():
            assert np.isfinite(value).all()

    return check


def test_fuzz_checkpoint_loader(checkpoint_seeds, tmp_path):
    run_fuzz("checkpoint", _checkpoint_strategy(checkpoint_seeds), check_checkpoint(tmp_path),
             FUZZ_EXAMPLES)


@pytest.mark.slow
def test_fuzz_checkpoint_loader_long(checkpoint_seeds, tmp_path):
    run_fuzz("checkpoint-long", _checkpoint_strategy(checkpoint_seeds),
             check_checkpoint(tmp_path), LONG_EXAMPLES)


def check_resume(folder: Path):
    """fit(resume=True) from a damaged last.npz: TatamuError, or a run that completes."""
    run = folder / "run"
    data = tiny_data(12)

    def check(blob: bytes) -> None:
        run.mkdir(exist_ok=True)
        (run / "last.npz").write_bytes(blob)
        opt = Adam()
        try:
            history = fit(tiny_model(), data, epochs=2, batch_size=5, optimizer=opt,
                          progress=False, checkpoint_dir=run, resume=True,
                          schedule=StepLR(opt, step_size=1))
        except TatamuError:
            return
        assert history.stop_reason in ("completed", "diverged")

    return check


def test_fuzz_resume_from_a_damaged_run(checkpoint_seeds, tmp_path):
    run_fuzz("resume", wellformed_checkpoints(checkpoint_seeds[1:]), check_resume(tmp_path),
             FUZZ_EXAMPLES)


@pytest.mark.slow
def test_fuzz_resume_from_a_damaged_run_long(checkpoint_seeds, tmp_path):
    run_fuzz("resume-long", wellformed_checkpoints(checkpoint_seeds[1:]),
             check_resume(tmp_path), LONG_EXAMPLES)


# -- pictures for `tatamu predict` ----------------------------------------------------------------
def _picture_seeds() -> list[bytes]:
    from PIL import Image

    rng = np.random.default_rng(0)
    grey = Image.fromarray(rng.integers(0, 256, (12, 10), dtype=np.uint8), mode="L")
    seeds = []
    for image, fmt in ((grey, "PNG"), (grey.convert("RGB"), "JPEG"), (grey, "BMP"),
                       (grey, "GIF"), (grey.convert("RGBA"), "PNG"), (grey, "TIFF"),
                       (grey, "WEBP")):
        out = io.BytesIO()
        image.save(out, format=fmt)
        seeds.append(out.getvalue())
    return seeds


def check_picture(folder: Path):
    path = folder / "picture.png"

    def check(data: bytes) -> None:
        path.write_bytes(data)
        try:
            x, _ = load_image_for(path, (1, 28, 28))
        except DataError as exc:
            assert str(path) in str(exc)
            return
        assert x.shape == (1, 28, 28) and x.dtype == np.float32
        assert 0.0 <= x.min() and x.max() <= 1.0
        try:  # what `tatamu predict` and `tatamu draw` do with the same bytes
            x, _ = prepare_digit(data, name=str(path))
        except DataError as exc:
            assert str(path) in str(exc)
            return
        assert x.shape == (1, 28, 28) and x.dtype == np.float32
        assert 0.0 <= x.min() and x.max() <= 1.0

    return check


PICTURES = bytes_like(_picture_seeds())


def test_fuzz_picture_reader(tmp_path):
    run_fuzz("picture", PICTURES, check_picture(tmp_path), FUZZ_EXAMPLES)


@pytest.mark.slow
def test_fuzz_picture_reader_long(tmp_path):
    run_fuzz("picture-long", PICTURES, check_picture(tmp_path), LONG_EXAMPLES)

