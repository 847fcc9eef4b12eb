"""Dataset names, class names, ``load_dataset`` dispatch, and library hygiene rules."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import tatamu.datasets as ds
from tatamu.errors import ConfigError

SRC = Path(ds.__file__).parent


def test_class_names() -> None:
    assert ds.class_names("mnist") == tuple("0123456789")
    assert ds.class_names("fashion-mnist") == (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    )
    assert ds.class_names("MNIST1D") == tuple("0123456789")
    assert set(ds.CLASS_NAMES) == set(ds.DATASETS) == {"mnist", "fashion-mnist", "mnist1d"}


def test_unknown_name() -> None:
    with pytest.raises(ConfigError, match="unknown dataset 'cifar10'; choose one of mnist, "):
        ds.load_dataset("cifar10")
    with pytest.raises(ConfigError):
        ds.class_names("cifar10")


def test_load_dataset_mnist1d() -> None:
    (x_train, y_train), _ = ds.load_dataset("mnist-1d", dtype=np.float64)
    assert x_train.shape == (4000, 1, 40) and x_train.dtype == np.float64
    with pytest.raises(ConfigError, match="takes no root"):
        ds.load_dataset("mnist1d", root="/tmp")


def test_no_pickle_no_print_no_global_rng() -> None:
    legacy = {"seed", "rand", "randn", "randint", "random", "shuffle", "choice", "permutation"}
    for path in SRC.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):  # code only: docstrings may quote
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert "pickle" not in names, path
            elif isinstance(node, ast.Call):
                assert not (isinstance(node.func, ast.Name) and node.func.id == "print"), path
                for kw in node.keywords:
                    assert not (kw.arg == "allow_pickle" and getattr(kw.value, "value", 0)), path
            elif isinstance(node, ast.Attribute) and node.attr in legacy:
                assert ast.unparse(node.value) not in ("np.random", "numpy.random"), path


def test_shipped_files_and_attribution_present() -> None:
    files = SRC / "files"
    assert (files / "ATTRIBUTION.md").is_file()
    assert (files / "mnist1d" / "LICENSE-Apache-2.0.txt").is_file()
    assert sorted(p.name for p in (files / "mnist").iterdir()) == sorted(
        n + ".gz" for n in ds.mnist.IDX_NAMES)
