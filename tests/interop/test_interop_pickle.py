"""The restricted pickle reader: malicious, truncated and foreign files are refused, unrun.

Every malicious file here would create a marker file if anything in it ran (each one does when
given to plain ``pickle.loads``, which the first test checks); after tatamu refuses it, the
marker must not exist.
"""

from __future__ import annotations

import builtins
import io
import os
import pickle
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli

from tatamu.errors import CheckpointError, TatamuError
from tatamu.interop import UnsafePickleError, load_book_params, read_array_dict
from tatamu.interop.book_pickle import ALLOWED, pickle_globals


class Reduce:
    """A ``__reduce__`` gadget: unpickling calls ``func(*args)``."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


class Evil:
    """A class of the user's own: unpickling builds it and its ``__setstate__`` writes a file."""

    def __init__(self, marker=None):
        self.marker = marker

    def __reduce__(self):
        return Evil, (), str(self.marker)

    def __setstate__(self, marker):
        Path(marker).write_text("ran")


def gadgets(marker: Path) -> dict[str, bytes]:
    """name -> pickle bytes, each of which would create ``marker`` under plain pickle.loads."""
    touch = f"touch {marker}"
    arr = np.zeros(3)
    # The object array holds a gadget: pickled inside the array's state.
    nested = np.empty(1, dtype=object)
    nested[0] = Reduce(os.system, touch)
    # A gadget that hides the global's name from a scanner reading GLOBAL opcodes only:
    # STACK_GLOBAL with both strings fetched back from the memo.
    memo_trick = (b"\x80\x04\x8c\x05posix\x94\x8c\x06system\x94h\x00h\x01\x93"
                  + b"\x8c" + bytes([len(touch)]) + touch.encode() + b"\x85R.")
    return {
        "os.system": pickle.dumps({"W1": arr, "b1": Reduce(os.system, touch)}, protocol=2),
        "subprocess": pickle.dumps(
            {"W1": Reduce(subprocess.check_call, ["touch", str(marker)])}, protocol=4),
        "builtins.eval": pickle.dumps(
            {"W1": Reduce(builtins.eval, f"open({str(marker)!r}, 'w')")}, protocol=5),
        "builtins.exec": pickle.dumps(
            Reduce(builtins.exec, f"open({str(marker)!r}, 'w').close()"), protocol=0),
        "nested-object-array": pickle.dumps({"W1": nested}, protocol=2),
        "reduce-gadget-memo-trick": memo_trick,
        "class-instance-setstate": pickle.dumps({"W1": Evil(marker)}, protocol=2),
    }


EXPECTED_NAMES = {
    "os.system": "os.system", "subprocess": "subprocess.check_call",
    "builtins.eval": "builtins.eval", "builtins.exec": "builtins.exec",
    "nested-object-array": "os.system", "reduce-gadget-memo-trick": "os.system",
    "class-instance-setstate": "Evil",
}


def test_every_gadget_does_run_under_plain_pickle(tmp_path):
    # proves the marker test below can fail: each file really is malicious
    for name, data in gadgets(tmp_path / "m").items():
        marker = tmp_path / f"marker-{name}"
        data = gadgets(marker)[name]
        try:
            pickle.loads(data)  # noqa: S301 - deliberately, to prove the gadget is live
        except Exception:  # noqa: BLE001 - whatever happens after the side effect
            pass
        assert marker.exists(), name


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_a_malicious_pickle_is_refused_naming_the_global_and_nothing_runs(tmp_path, name):
    marker = tmp_path / "marker"
    path = tmp_path / "params.pkl"
    path.write_bytes(gadgets(marker)[name])
    with pytest.raises(UnsafePickleError) as info:
        read_array_dict(path)
    message = str(info.value)
    assert f"wants to call {EXPECTED_NAMES[name]}" in message or (
        EXPECTED_NAMES[name] in message and "wants to call" in message), message
    assert "refused" in message and "nothing" in message and "\n" not in message
    assert not marker.exists()


@pytest.mark.parametrize("name", ["os.system", "builtins.eval", "reduce-gadget-memo-trick"])
def test_import_book_refuses_a_malicious_pickle_in_one_line_and_writes_nothing(tmp_path, name):
    marker = tmp_path / "marker"
    path = tmp_path / "params.pkl"
    path.write_bytes(gadgets(marker)[name])
    out = tmp_path / "out.npz"
    status, stdout, stderr = run_cli("import-book", path, "--model", "simple", "--out", out)
    assert status == 2 and stdout == ""
    assert stderr.startswith("tatamu: error: ") and stderr.count("\n") == 1
    assert "wants to call" in stderr and "Traceback" not in stderr
    assert not marker.exists() and not out.exists()


def test_the_restricted_unpickler_refuses_a_global_the_scan_did_not_see(tmp_path):
    # Second layer: find_class itself knows only the allow-list.
    from tatamu.interop.book_pickle import _ArraysOnly

    marker = tmp_path / "marker"
    data = pickle.dumps(Reduce(os.system, f"touch {marker}"), protocol=2)
    with pytest.raises(UnsafePickleError, match=r"wants to call os\.system"):
        _ArraysOnly(io.BytesIO(data)).load()
    assert not marker.exists()


def test_the_allowed_globals_cannot_be_modified_by_the_file(tmp_path):
    # BUILD on an allowed global (setting its attributes) would alter it for the process.
    data = (b"\x80\x02cnumpy\ndtype\n}X\x08\x00\x00\x00__call__K\x01sN\x86b.")
    path = tmp_path / "p.pkl"
    path.write_bytes(data)
    with pytest.raises(CheckpointError):
        read_array_dict(path)
    assert ALLOWED[("numpy", "dtype")]("f8") == np.dtype("f8")


@pytest.mark.parametrize("payload, words", [
    (b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R.",
     "_codecs.encode other than"),
    (b"\x80\x02cnumpy\ndtype\nX\x03\x00\x00\x00V16\x89\x88\x87R.", "dtype"),
], ids=["codecs-other-encoding", "structured-dtype"])
def test_allowed_globals_refuse_unusual_arguments(tmp_path, payload, words):
    path = tmp_path / "p.pkl"
    path.write_bytes(payload)
    with pytest.raises(CheckpointError, match=words):
        read_array_dict(path)


def test_an_object_array_without_globals_is_refused_by_its_dtype(tmp_path):
    path = tmp_path / "p.pkl"
    path.write_bytes(pickle.dumps({"W1": np.array([1, "a", (2,)], dtype=object)}, protocol=2))
    with pytest.raises(CheckpointError, match="W1 is an array of dtype object"):
        read_array_dict(path)


def test_out_of_band_buffers_are_refused(tmp_path):
    buffers = []
    data = pickle.dumps({"W1": np.zeros(4)}, protocol=5, buffer_callback=buffers.append)
    path = tmp_path / "p.pkl"
    path.write_bytes(data)
    with pytest.raises(UnsafePickleError, match="out-of-band"):
        read_array_dict(path)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_every_protocol_reads_back_the_same_arrays(tmp_path, rng, protocol):
    params = {"W1": rng.standard_normal((2, 3, 4)), "b1": np.arange(3, dtype=np.int32),
              "F": np.asfortranarray(rng.standard_normal((3, 5))).astype(">f4"),
              "T": rng.standard_normal((4, 6))[:, ::2]}
    path = tmp_path / "p.pkl"
    path.write_bytes(pickle.dumps(params, protocol=protocol))
    got = read_array_dict(path)
    assert sorted(got) == sorted(params)
    for key, value in params.items():
        np.testing.assert_array_equal(got[key], value)
        assert got[key].dtype == value.dtype.newbyteorder("=")
    # a big-endian array in the file must not change NumPy's shared float32 dtype (a pickle's
    # BUILD sets the byte order on the dtype object it was given)
    assert np.dtype(np.float32).isnative and np.float32(1.5).item() == 1.5


def test_a_book_pickle_names_only_the_allowed_globals(rng):
    data = pickle.dumps({"W1": rng.standard_normal(3)}, protocol=2)
    assert set(pickle_globals(data)) == {"numpy._core.multiarray._reconstruct", "numpy.ndarray",
                                         "numpy.dtype", "_codecs.encode"}


def test_every_truncation_of_a_params_pkl_is_refused_in_one_line(tmp_path, rng):
    data = pickle.dumps({"W1": rng.standard_normal((2, 2)), "b1": np.zeros(2)}, protocol=4)
    path = tmp_path / "p.pkl"
    for cut in range(1, len(data)):
        path.write_bytes(data[:cut])
        with pytest.raises(TatamuError) as info:
            read_array_dict(path)
        assert "\n" not in str(info.value), cut
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        read_array_dict(path)


def _npz_bytes():
    buf = io.BytesIO()
    np.savez(buf, W1=np.zeros(2))
    return buf.getvalue()


def _zip_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "hello")
    return buf.getvalue()


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n" + bytes(40), "not a pickle file"),
    (b'{"W1": [1, 2]}', "not a pickle"),
    (_npz_bytes(), "zip archive"),
    (_zip_bytes(), "zip archive"),
    (pickle.dumps([np.zeros(2)], protocol=4), "holds a list"),
    (pickle.dumps({1: np.zeros(2)}, protocol=4), "is not a string"),
    (pickle.dumps({"W1": [1.0, 2.0]}, protocol=4), "W1 is a list"),
    (pickle.dumps({"W1": np.array(["a"])}, protocol=4), "dtype"),
], ids=["empty", "png", "json", "npz", "zip", "list", "int-key", "list-value", "str-array"])
def test_a_foreign_file_is_refused_in_one_line(tmp_path, data, words):
    path = tmp_path / "params.pkl"
    path.write_bytes(data)
    with pytest.raises(CheckpointError) as info:
        read_array_dict(path)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_import_book_on_a_truncated_or_missing_file_is_one_line(tmp_path, rng):
    path = tmp_path / "params.pkl"
    path.write_bytes(pickle.dumps({"W1": rng.standard_normal(100)}, protocol=2)[:300])
    for target in (path, tmp_path / "absent.pkl"):
        status, _, stderr = run_cli("import-book", target, "--model", "deep", "--out",
                                    tmp_path / "o.npz")
        assert status == 2 and stderr.count("\n") == 1 and "Traceback" not in stderr


def test_load_book_params_never_calls_pickle_load(tmp_path, rng, monkeypatch):
    # the restricted reader is the only way in: plain pickle.load/loads are never used
    def forbidden(*args, **kwargs):
        raise AssertionError("pickle.load called")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    from book_forward import simple_convnet_params

    path = tmp_path / "params.pkl"
    path.write_bytes(pickle.dumps(simple_convnet_params(rng, size=12), protocol=2))
    load_book_params(path, "simple", input_shape=(1, 12, 12))
