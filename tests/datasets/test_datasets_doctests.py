"""Run the examples in the dataset modules' docstrings, so the documentation stays true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["cache", "catalog", "download", "idx", "loader", "mnist", "mnist1d", "preprocess"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"tatamu.datasets.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
