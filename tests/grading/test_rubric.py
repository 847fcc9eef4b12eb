"""The rubric: points by pattern (first match wins, case ignored), what a NOTE earns, and a
one-line refusal of every kind of mistake in the file."""

from __future__ import annotations

import json

import pytest

from tatamu.errors import ConfigError
from tatamu.learn.grading.rubric import Rubric, load

TOML = """\
default = 0.5
note = "none"
[points]
"convolution: forward*" = 2
"*FLOAT32*" = 0
"convolution: *" = 1
"""


def test_a_toml_rubric_gives_points_by_its_first_matching_pattern(tmp_path):
    path = tmp_path / "rubric.toml"
    path.write_text(TOML)
    rubric = load(path)
    assert rubric.worth("convolution: forward equals tatamu's Conv2D") == 2
    assert rubric.worth("pooling: float32 in -> float32 out") == 0  # case ignored
    assert rubric.worth("convolution: backward equals numerical gradients") == 1
    assert rubric.worth("pooling: backward") == 0.5  # no pattern: the default
    assert rubric.unused() == []


def test_the_same_rubric_in_json(tmp_path):
    path = tmp_path / "rubric.json"
    path.write_text(json.dumps({"default": 0.5, "note": "none",
                                "points": {"convolution: forward*": 2}}))
    rubric = load(path)
    assert rubric.worth("convolution: forward x") == 2 and rubric.default == 0.5


def test_a_note_earns_full_points_unless_the_rubric_says_none():
    assert Rubric().earned("relu: backward leaves dout unchanged", "note") == 1
    assert Rubric(note="none").earned("relu: backward leaves dout unchanged", "note") == 0
    assert Rubric().earned("x", "fail") == 0 and Rubric().earned("x", "pass") == 1


def test_a_pattern_that_matches_no_check_is_reported(tmp_path):
    path = tmp_path / "rubric.toml"
    path.write_text('[points]\n"convolutoin: *" = 3\n')
    rubric = load(path)
    rubric.worth("convolution: forward")
    assert rubric.unused() == ["convolutoin: *"]


@pytest.mark.parametrize("text, words", [
    ("default = -1\n", "default = -1: points must be a number >= 0"),
    ('note = "half"\n', "note = 'half'"),
    ("[points]\n'x' = 'many'\n", "points must be a number"),
    ("bonus = 3\n", "unknown settings bonus"),
    ("default = \n", "is not valid TOML"),
    ("points = 3\n", "points must be a table"),
])
def test_each_mistake_in_a_rubric_is_one_line_naming_it(tmp_path, text, words):
    path = tmp_path / "rubric.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_rubric_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the rubric"):
        load(tmp_path / "nowhere.toml")
