"""Checkpoints: round trips, the format-1 compatibility fixture, and every way a file can be bad.

Each bad file must raise ``CheckpointError`` whose message names the file and the problem:
truncated, bit-flipped, foreign, not a zip, pickled, another architecture, a newer format, a
zip bomb. Saving is atomic: a failed write leaves the old file whole and no temporary files.
"""

from __future__ import annotations

import errno
import io
import json
import os
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tatamu
from tatamu import Sequential
from tatamu.checkpoint import guard as checkpoint_guard
from tatamu.checkpoint import store as checkpoint
from tatamu.checkpoint.store import load, load_weights, read, save
from tatamu.errors import CheckpointError
from tatamu.layers import BatchNorm2D, Conv2D, Flatten, Linear, ReLU
from tatamu.models import lenet5, simple_convnet
from tatamu.optim import Adam, optimizer_from_config

FIXTURES = Path(__file__).parent / "fixtures"
SHAPE = (1, 8, 8)


def small_model(seed: int = 0, hidden: int = 16, dtype=None) -> Sequential:
    return simple_convnet(SHAPE, filters=4, hidden=hidden, rng=seed, dtype=dtype)


def trained(seed: int = 0):
    """A small model and its Adam after three steps (non-trivial weights and state)."""
    rng = np.random.default_rng(seed)
    x = rng.random((8, *SHAPE), dtype=np.float32)
    labels = rng.integers(0, 10, size=8)
    model, opt = small_model(seed), Adam(lr=1e-2)
    for _ in range(3):
        model.gradient(x, labels)
        opt.step(model.params(), model.grads())
    return model, opt, x, labels


@pytest.fixture
def saved(tmp_path) -> Path:
    model, opt, _, _ = trained()
    return save(model, tmp_path / "model.npz", optimizer=opt, metadata={"dataset": "synthetic"})


def read_entries(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def write_with_meta(src: Path, dst: Path, edit) -> Path:
    """Copy checkpoint ``src`` to ``dst`` with its JSON metadata changed by ``edit(meta)``."""
    arrays = read_entries(src)
    meta = json.loads(arrays["meta"].tobytes())
    edit(meta)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(dst, **arrays)
    return dst


def write_zip(src: Path, dst: Path, extra: dict[str, bytes],
              compression: int = zipfile.ZIP_STORED) -> Path:
    """Copy the entries of ``src`` into a new zip ``dst`` and add ``extra`` raw entries."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
        for name, data in extra.items():
            zout.writestr(name, data)
    return dst


def refused(path: Path, *phrases: str, loader=load) -> str:
    """Assert that loading ``path`` raises CheckpointError naming the file and ``phrases``."""
    with pytest.raises(CheckpointError) as info:
        loader(path)
    message = str(info.value)
    assert str(path) in message
    for phrase in phrases:
        assert phrase in message, message
    return message


# -- round trips ---------------------------------------------------------------------------------
def test_save_and_load_round_trip(tmp_path, rng):
    model, _, _, _ = trained()
    path = save(model, tmp_path / "m.npz")
    assert path == tmp_path / "m.npz"
    loaded = load(path)
    assert isinstance(loaded, Sequential)
    assert loaded.config() == model.config()
    assert list(loaded.params()) == list(model.params())
    for key, value in model.params().items():
        np.testing.assert_array_equal(loaded.params()[key], value)
        assert loaded.params()[key].dtype == value.dtype
    x = rng.random((11, *SHAPE), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_the_public_save_and_load_names(tmp_path, rng):
    model = small_model()
    tatamu.save(model, tmp_path / "public.npz")
    x = rng.random((3, *SHAPE), dtype=np.float32)
    np.testing.assert_array_equal(tatamu.load(tmp_path / "public.npz").predict(x),
                                  model.predict(x))
    tatamu.save(model, str(tmp_path / "as-string.npz"))  # str paths work too
    assert tatamu.load(str(tmp_path / "as-string.npz")).config() == model.config()


def test_the_file_is_plain_npz_with_json_metadata(saved):
    entries = read_entries(saved)  # allow_pickle=False: nothing pickled anywhere
    assert "param/conv1.W" in entries and "optim/m/conv1.W" in entries
    meta = json.loads(entries["meta"].tobytes())
    assert meta["format"] == "tatamu-checkpoint"
    assert meta["format_version"] == 1
    assert meta["dtype"] == "float32"
    assert meta["dataset"] == "synthetic"
    assert meta["model"] == small_model().config()
    assert meta["optimizer"]["name"] == "adam"


def test_load_rebuilds_a_float64_model_and_batchnorm_buffers(tmp_path, rng):
    model = Sequential([Conv2D(1, 3, 3, rng=0, dtype=np.float64), BatchNorm2D(3, dtype=np.float64),
                        ReLU(), Flatten(), Linear(108, 4, rng=1, dtype=np.float64)], SHAPE)
    x = rng.random((6, *SHAPE))
    model.gradient(x, np.arange(6) % 4)  # a training forward moves the running statistics
    assert not np.allclose(model["bn1"].running_mean, 0)
    loaded = load(save(model, tmp_path / "bn.npz"))
    assert loaded.dtype == np.float64
    for key, value in model.buffers().items():
        np.testing.assert_array_equal(loaded.buffers()[key], value)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_optimizer_state_is_restored_and_training_continues_identically(tmp_path):
    model, opt, x, labels = trained()
    ckpt = read(save(model, tmp_path / "m.npz", optimizer=opt))
    opt2 = optimizer_from_config(ckpt.meta["optimizer"])
    opt2.load_state_dict(ckpt.optimizer_state)
    for key, value in opt.state_dict().items():
        np.testing.assert_array_equal(opt2.state_dict()[key], value)
    model2 = ckpt.model
    for m, o in ((model, opt), (model2, opt2)):
        m.gradient(x, labels)
        o.step(m.params(), m.grads())
    for key, value in model.params().items():
        np.testing.assert_array_equal(model2.params()[key], value)


def test_load_weights_into_a_model_of_the_same_architecture(saved, rng):
    target = small_model(seed=5)
    w = target.params()["linear1.W"]
    assert load_weights(target, saved) is target
    assert target.params()["linear1.W"] is w  # copied in place: optimizers keep their arrays
    x = rng.random((4, *SHAPE), dtype=np.float32)
    np.testing.assert_array_equal(target.predict(x), load(saved).predict(x))


# -- the compatibility promise -------------------------------------------------------------------
def test_the_committed_format_1_fixture_loads_and_predicts_as_recorded():
    path = FIXTURES / "simple_convnet_1x8x8_v1.npz"
    assert path.stat().st_size < 50_000
    ckpt = read(path)
    assert ckpt.meta["format_version"] == 1
    assert ckpt.meta["tatamu_version"] == "0.1.0"
    model = ckpt.model
    assert model.config() == small_model().config()
    with np.load(FIXTURES / "simple_convnet_1x8x8_v1_expected.npz") as expected:
        x, probs = expected["x"], expected["probs"]
    got = model.predict(x)
    np.testing.assert_array_equal(got.argmax(axis=1), probs.argmax(axis=1))
    np.testing.assert_allclose(got, probs, rtol=1e-5, atol=1e-6)
    opt = optimizer_from_config(ckpt.meta["optimizer"])
    opt.load_state_dict(ckpt.optimizer_state)
    assert opt.t == 5
    load_weights(small_model(seed=9), path)


# -- never overwrite; atomic writes --------------------------------------------------------------
def test_an_existing_file_is_never_overwritten_without_overwrite_true(saved):
    before = saved.read_bytes()
    with pytest.raises(CheckpointError, match="already exists") as info:
        save(small_model(seed=3), saved)
    assert "overwrite=True" in str(info.value) and str(saved) in str(info.value)
    assert saved.read_bytes() == before
    save(small_model(seed=3), saved, overwrite=True)
    assert saved.read_bytes() != before
    np.testing.assert_array_equal(load(saved).params()["conv1.W"],
                                  small_model(seed=3).params()["conv1.W"])


def _failing_savez(exc):
    def savez(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")  # some bytes reach the disk first
        raise exc
    return savez


@pytest.mark.parametrize(
    ("exc", "error"),
    [(OSError(errno.ENOSPC, "No space left on device"), CheckpointError),
     (KeyboardInterrupt(), KeyboardInterrupt)],
    ids=["disk-full", "ctrl-c"],
)
def test_a_failed_save_leaves_the_old_file_intact_and_no_temp_files(saved, monkeypatch, exc,
                                                                     error):
    before = saved.read_bytes()
    monkeypatch.setattr(np, "savez", _failing_savez(exc))
    with pytest.raises(error) as info:
        save(small_model(seed=3), saved, overwrite=True)
    monkeypatch.undo()
    if error is CheckpointError:
        message = str(info.value)
        assert str(saved) in message and "No space left" in message
        assert "unchanged" in message
    assert saved.read_bytes() == before
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]
    load(saved)


def test_a_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(np, "savez", _failing_savez(OSError(errno.ENOSPC, "No space left")))
    with pytest.raises(CheckpointError):
        save(small_model(), tmp_path / "new.npz")
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_folder_gives_a_clear_error(tmp_path, monkeypatch):
    # A folder path that runs through a regular file cannot be created (even as root).
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(CheckpointError, match="cannot write to folder") as info:
        save(small_model(), blocker / "sub" / "m.npz")
    assert str(blocker / "sub") in str(info.value)
    # A folder without write permission (simulated: chmod does not stop root).
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(checkpoint.tempfile, "mkstemp", refuse)
    with pytest.raises(CheckpointError, match="Permission denied") as info:
        save(small_model(), tmp_path / "m.npz")
    assert str(tmp_path) in str(info.value) and "writable" in str(info.value)
    assert not (tmp_path / "m.npz").exists()


def test_save_creates_missing_folders_and_gives_normal_permissions(tmp_path):
    path = save(small_model(), tmp_path / "run" / "deep" / "m.npz")
    assert path.is_file()
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [({"path_name": "m.pkl"}, "end in .npz"),
     ({"metadata": {"bad": {1, 2}}}, "not JSON-serialisable"),
     ({"metadata": {"bad": float("nan")}}, "not JSON-serialisable")],
)
def test_save_refuses_bad_names_and_metadata(tmp_path, kwargs, phrase):
    path = tmp_path / kwargs.pop("path_name", "m.npz")
    with pytest.raises(CheckpointError, match=phrase):
        save(small_model(), path, **kwargs)
    assert list(tmp_path.iterdir()) == []


# -- refusing bad files ---------------------------------------------------------------------------
@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, -1, -22])
def test_a_truncated_file_is_refused(saved, tmp_path, fraction):
    data = saved.read_bytes()
    cut = int(len(data) * fraction) if fraction >= 0 else len(data) + int(fraction)
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(data[:cut])
    refused(bad, "truncated")


def test_bit_flips_in_the_middle_are_refused(saved, tmp_path):
    data = saved.read_bytes()
    n = len(data)
    for pos in range(n // 3, 2 * n // 3, max(1, n // 60)):
        flipped = bytearray(data)
        flipped[pos] ^= 0x5A
        bad = tmp_path / "flipped.npz"
        bad.write_bytes(bytes(flipped))
        refused(bad, "corrupt")


def test_a_flipped_zip_version_field_is_refused(saved, tmp_path):
    # Regression: a damaged "version needed to extract" in the central directory made
    # zipfile raise NotImplementedError, which escaped as a crash.
    data = bytearray(saved.read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + 6] ^= 0x55  # version needed to extract
    bad = tmp_path / "version.npz"
    bad.write_bytes(bytes(data))
    refused(bad, "corrupt")


def test_a_foreign_npz_is_refused(tmp_path, rng):
    bad = tmp_path / "foreign.npz"
    np.savez(bad, W1=rng.random((3, 3)), b1=rng.random(3))
    message = refused(bad, "not a tatamu checkpoint")
    assert "W1" in message  # says what the file holds instead


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    for name, content in (("text.npz", b"hello, I am not a checkpoint\n" * 20), ("empty.npz", b""),
                          ("params.pkl.npz", b"\x80\x04\x95 pickle bytes")):
        bad = tmp_path / name
        bad.write_bytes(content)
        refused(bad, "not a tatamu checkpoint", "not a readable .npz")


UNPICKLED: list[str] = []


def _mark_unpickled() -> None:
    UNPICKLED.append("ran")


class _Payload:
    """Unpickling this runs code: exactly what tatamu must never do."""

    def __reduce__(self):
        return (_mark_unpickled, ())


def test_an_object_array_is_refused_without_unpickling(saved, tmp_path):
    payload = io.BytesIO()
    np.save(payload, np.array([_Payload()], dtype=object), allow_pickle=True)
    bad = write_zip(saved, tmp_path / "pickled.npz", {"param/evil.npy": payload.getvalue()})
    refused(bad, "pickle", "Refused")
    assert UNPICKLED == []
    only_pickle = tmp_path / "only-pickle.npz"  # without a meta entry at all
    with zipfile.ZipFile(only_pickle, "w") as zf:
        zf.writestr("meta.npy", payload.getvalue())
    refused(only_pickle)
    assert UNPICKLED == []


@pytest.mark.parametrize(
    "other",
    [lambda: small_model(hidden=32), lenet5,
     lambda: simple_convnet((3, 8, 8), filters=4, hidden=16)],
    ids=["other-hidden-size", "lenet5", "three-channels"],
)
def test_load_weights_from_another_architecture_is_refused(saved, other):
    target = other()
    before = {k: v.copy() for k, v in target.params().items()}
    message = refused(saved, "another model", loader=lambda p: load_weights(target, p))
    assert "shape" in message or "missing" in message
    for key, value in before.items():  # refused before any weight was touched
        np.testing.assert_array_equal(target.params()[key], value)


def test_a_newer_format_version_is_refused_with_an_upgrade_hint(saved, tmp_path):
    def newer(meta):
        meta["format_version"] = 2
        meta["tatamu_version"] = "9.0.0"
    bad = write_with_meta(saved, tmp_path / "newer.npz", newer)
    refused(bad, "newer tatamu", "9.0.0", "Upgrade")


@pytest.mark.parametrize(
    ("edit", "phrase"),
    [(lambda m: m.update(format_version=0), "invalid format_version"),
     (lambda m: m.update(format_version="1"), "invalid format_version"),
     (lambda m: m.pop("format"), "format marker"),
     (lambda m: m.update(format="keras"), "format marker"),
     (lambda m: m.pop("model"), "invalid architecture"),
     (lambda m: m["model"]["layers"][0].update({"class": "Conv9D"}), "invalid architecture"),
     (lambda m: m["model"]["layers"][3]["config"].update(in_features=10**7, out_features=10**7),
      "invalid architecture")],
    ids=["version-0", "version-string", "no-marker", "other-marker", "no-model",
         "unknown-layer", "absurd-layer-size"],
)
def test_bad_metadata_is_refused(saved, tmp_path, edit, phrase):
    refused(write_with_meta(saved, tmp_path / "meta.npz", edit), phrase)


def test_metadata_that_is_not_json_is_refused(saved, tmp_path):
    arrays = read_entries(saved)
    arrays["meta"] = np.frombuffer(b"{not json", dtype=np.uint8)
    np.savez(tmp_path / "json.npz", **arrays)
    refused(tmp_path / "json.npz", "not valid JSON")
    arrays["meta"] = np.zeros(3, dtype=np.float32)
    np.savez(tmp_path / "type.npz", **arrays)
    refused(tmp_path / "type.npz", "wrong type")


@pytest.mark.parametrize(
    ("change", "phrase"),
    [(lambda a: a.__setitem__("param/conv1.W", np.full_like(a["param/conv1.W"], np.nan)),
      "NaN or inf"),
     (lambda a: a.__setitem__("param/conv1.b", np.zeros(4, dtype=np.int32)), "non-float"),
     (lambda a: a.pop("param/linear2.b"), "missing: ['linear2.b']"),
     (lambda a: a.__setitem__("param/linear9.W", np.zeros(3, np.float32)), "unexpected"),
     (lambda a: a.__setitem__("param/linear2.W", np.zeros((10, 16), np.float32)), "shape")],
    ids=["nan-weights", "int-weights", "missing-array", "extra-array", "transposed-array"],
)
def test_bad_arrays_are_refused(saved, tmp_path, change, phrase):
    arrays = read_entries(saved)
    change(arrays)
    np.savez(tmp_path / "arrays.npz", **arrays)
    refused(tmp_path / "arrays.npz", phrase)


def test_a_missing_file_or_a_folder_is_refused(tmp_path):
    refused(tmp_path / "nothing.npz", "no checkpoint file")
    refused(tmp_path, "no checkpoint file")


# -- zip bombs -------------------------------------------------------------------------------------
def _npy_header(shape, dtype="<f4") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def test_a_zip_bomb_is_refused_before_unpacking(saved, tmp_path):
    # One entry that inflates from ~50 KB to 50 MB of zeros (written by streaming).
    bomb = tmp_path / "bomb.npz"
    size = 50 * 2**20
    write_zip(saved, bomb, {})
    with zipfile.ZipFile(bomb, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("param/bomb.npy", "w", force_zip64=True) as entry:
            entry.write(_npy_header((size // 4,)))
            chunk = bytes(2**20)
            for _ in range(size // len(chunk)):
                entry.write(chunk)
    assert bomb.stat().st_size < 200_000
    refused(bomb, "would unpack to", "refused")


def test_an_entry_claiming_a_huge_size_is_refused(saved, tmp_path):
    # Central-directory records that claim ~4 GB each for entries of a few hundred bytes.
    data = bytearray(saved.read_bytes())
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        struct.pack_into("<I", data, pos + 24, 0xFFFFFFF0)  # uncompressed size
        pos = data.find(b"PK\x01\x02", pos + 4)
    bad = tmp_path / "claims.npz"
    bad.write_bytes(bytes(data))
    refused(bad, "would unpack to")


def test_the_unpacked_size_limit_applies_to_any_archive(saved, monkeypatch):
    monkeypatch.setattr(checkpoint_guard, "MAX_UNPACKED_BYTES", 1000)
    refused(saved, "would unpack to")


def test_an_npy_header_claiming_a_huge_array_is_refused(saved, tmp_path):
    # A few bytes whose .npy header promises 10**12 floats (4 TB): refused, not allocated.
    header = _npy_header((10**12,)) + bytes(64)
    bad = write_zip(saved, tmp_path / "huge-header.npz", {"param/huge.npy": header})
    refused(bad, "corrupt")
