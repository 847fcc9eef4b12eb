"""Old import paths (before the regrouping of issue 21) answer with the modules that moved."""

import importlib
import importlib.util

import pytest

import tatamu
from tatamu import _moved


@pytest.mark.parametrize("old", sorted(_moved.MOVED))
def test_an_old_path_is_the_same_module_object_as_its_new_home(old):
    module = importlib.import_module(old)
    assert module is importlib.import_module(_moved.MOVED[old])
    # the module keeps its real spec: it still knows its own name and file
    assert module.__spec__.name == _moved.MOVED[old]


def test_old_names_below_a_moved_package_and_the_public_attributes():
    assert importlib.import_module("tatamu.checker.loading").__name__ == (
        "tatamu.learn.checker.loading")
    assert tatamu.train.fit is importlib.import_module("tatamu.training.loop").fit


def test_a_name_that_never_existed_is_still_not_found():
    assert importlib.util.find_spec("tatamu.checker.no_such_module") is None
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("tatamu.train.no_such_module")
    assert _moved.new_name("tatamu.layers") is None
