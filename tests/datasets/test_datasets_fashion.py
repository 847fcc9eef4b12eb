"""Fashion-MNIST: where it is looked for, in what order, and what the not-found error says.

The real files are large, so these tests use a tiny stand-in (6 + 3 images of 28x28) with the
checksum table patched to match, and point the Debian location at a fake tree under tmp.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tatamu.cli.flags import cli_message
from tatamu.datasets import cache, load_dataset, load_fashion_mnist, mnist
from tatamu.errors import DataError, Fix

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "fashion-mnist"


@pytest.fixture
def used_folders(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Records the folder of every IDX file the loader reads."""
    folders: list[Path] = []
    real = mnist.read_idx

    def spy(path, **kw):
        folders.append(Path(path).parent)
        return real(path, **kw)

    monkeypatch.setattr(mnist, "read_idx", spy)
    return folders


def test_debian_path_is_the_packaged_one() -> None:
    # `dpkg -c dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb` lists these four files.
    assert mnist.DEBIAN_FASHION_MNIST_DIRS == (Path("/usr/share/datasets/fashion-mnist"),)


def test_root_wins(tiny_fashion, idx_writer, tmp_path: Path, used_folders) -> None:
    root = idx_writer(tmp_path / "mine", tiny_fashion)
    idx_writer(tmp_path / "cache" / "fashion-mnist", tiny_fashion)
    idx_writer(mnist.DEBIAN_FASHION_MNIST_DIRS[0], tiny_fashion)
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(root)
    assert set(used_folders) == {root}
    assert x_train.shape == (6, 1, 28, 28) and x_test.shape == (3, 1, 28, 28)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert y_train.tolist() == [0, 1, 2, 3, 4, 5] and 0 <= x_train.min() <= x_train.max() <= 1


def test_cache_before_debian(tiny_fashion, idx_writer, tmp_path: Path, used_folders) -> None:
    cached = idx_writer(tmp_path / "cache" / "fashion-mnist", tiny_fashion)
    idx_writer(mnist.DEBIAN_FASHION_MNIST_DIRS[0], tiny_fashion)
    load_fashion_mnist()
    assert set(used_folders) == {cached}


def test_incomplete_root_falls_through(tiny_fashion, idx_writer, tmp_path: Path,
                                       used_folders) -> None:
    root = idx_writer(tmp_path / "mine", tiny_fashion, skip=("t10k-labels-idx1-ubyte",))
    debian = idx_writer(mnist.DEBIAN_FASHION_MNIST_DIRS[0], tiny_fashion, compress=False)
    load_fashion_mnist(root)
    assert set(used_folders) == {debian}  # uncompressed files are found too


def test_cache_dir_argument_wins_over_env(tiny_fashion, idx_writer, tmp_path: Path,
                                          used_folders) -> None:
    mine = idx_writer(tmp_path / "elsewhere" / "fashion-mnist", tiny_fashion)
    idx_writer(tmp_path / "cache" / "fashion-mnist", tiny_fashion)  # $TATAMU_CACHE
    load_fashion_mnist(cache_dir=tmp_path / "elsewhere")
    assert set(used_folders) == {mine}


def test_not_found_lists_places_and_fixes(tiny_fashion, idx_writer, tmp_path: Path) -> None:
    root = idx_writer(tmp_path / "mine", tiny_fashion, skip=("train-images-idx3-ubyte",))
    with pytest.raises(DataError) as info:
        load_fashion_mnist(root)
    msg = str(info.value)
    for place in (root, tmp_path / "cache" / "fashion-mnist", mnist.DEBIAN_FASHION_MNIST_DIRS[0]):
        assert str(place) in msg
    assert "missing train-images-idx3-ubyte[.gz]" in msg and "no such folder" in msg
    for fix in ("download=True", "apt-get install dataset-fashion-mnist", "root="):
        assert fix in msg
    # The library names no CLI flag; the CLI writes the same fixes as its options.
    assert "--download" not in msg
    assert info.value.fixes == (Fix("download", True), Fix("root"))
    cli_text = cli_message(info.value)
    assert "pass --download to fetch it" in cli_text and "pass --data-root a folder" in cli_text


def test_corrupt_cached_file_is_an_error(tiny_fashion, idx_writer, tmp_path: Path) -> None:
    folder = idx_writer(tmp_path / "cache" / "fashion-mnist", tiny_fashion)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz.*gzip"):
        load_fashion_mnist()


def test_load_dataset_dispatch(tiny_fashion, idx_writer, tmp_path: Path) -> None:
    root = idx_writer(tmp_path / "mine", tiny_fashion)
    (x_train, _), _ = load_dataset("Fashion_MNIST", root=root, dtype=np.float64,
                                   normalize=True)
    assert x_train.dtype == np.float64 and abs(x_train.mean()) < 1e-9


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TATAMU_CACHE": "T", "XDG_CACHE_HOME": "X"}, "T"),
        ({"TATAMU_CACHE": "", "XDG_CACHE_HOME": "X"}, "X/tatamu"),
        ({"HOME": "H"}, "H/.cache/tatamu"),
    ],
)
def test_user_cache_dir_order(env: dict[str, str], expected: str, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TATAMU_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, str(tmp_path / value) if value else "")
    assert cache.user_cache_dir() == tmp_path / expected
    assert cache.user_cache_dir(tmp_path / "arg") == tmp_path / "arg"


def test_cache_never_inside_package() -> None:
    with pytest.raises(DataError, match="inside the tatamu package"):
        cache.user_cache_dir(cache.PACKAGE_DIR / "datasets" / "files")


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs the real Fashion-MNIST in ../shared")
def test_real_fashion_mnist_via_root() -> None:
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(SHARED)
    assert x_train.shape == (60000, 1, 28, 28) and x_test.shape == (10000, 1, 28, 28)
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
