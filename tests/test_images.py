"""Reading a picture for ``tatamu predict``: conversions reported as notes, bad files refused.

The pictures are drawn here (a bright bar on black, like an MNIST stroke) and written with
Pillow, so the expected pixel values are known exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tatamu.digits.images import load_image_for
from tatamu.errors import DataError, TatamuError

MNIST = (1, 28, 28)


def stroke(size: int = 28) -> np.ndarray:
    """uint8 (size, size): a white vertical bar on black, like a digit '1'."""
    img = np.zeros((size, size), dtype=np.uint8)
    img[size // 5 : -size // 5, size // 2 - size // 14 : size // 2 + size // 14] = 255
    img[size // 5, size // 3] = 128  # one grey pixel, to see the scaling
    return img


def write_png(path, array, mode=None):
    Image.fromarray(array, mode=mode).save(path)
    return path


def test_a_white_on_black_grey_png_is_read_as_is(tmp_path):
    img = stroke()
    x, notes = load_image_for(write_png(tmp_path / "digit.png", img), MNIST)
    assert notes == []
    assert x.shape == MNIST and x.dtype == np.float32
    np.testing.assert_array_equal(x[0], img.astype(np.float32) / 255)


def test_dark_ink_on_light_paper_is_inverted(tmp_path):
    img = 255 - stroke()
    x, notes = load_image_for(write_png(tmp_path / "paper.png", img), MNIST)
    assert any("inverted" in n for n in notes)
    np.testing.assert_allclose(x[0], 1 - img.astype(np.float32) / 255, atol=1e-7)
    kept, notes = load_image_for(tmp_path / "paper.png", MNIST, invert=False)
    assert notes == []
    np.testing.assert_array_equal(kept[0], img.astype(np.float32) / 255)


def test_a_colour_png_is_converted_to_grey(tmp_path):
    img = stroke()
    rgb = np.stack([img, img, img // 2], axis=-1)  # a yellowish stroke
    x, notes = load_image_for(write_png(tmp_path / "colour.png", rgb), MNIST)
    assert any("converted RGB to grey" in n for n in notes)
    assert x.shape == MNIST
    grey = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float32) / 255
    np.testing.assert_array_equal(x[0], grey)


def test_a_larger_png_is_resized(tmp_path):
    big = np.kron(stroke(), np.ones((2, 2), dtype=np.uint8))  # 56x56, each pixel doubled
    x, notes = load_image_for(write_png(tmp_path / "big.png", big), MNIST)
    assert any("resized 56x56 to 28x28" in n for n in notes)
    assert x.shape == MNIST
    assert np.abs(x[0] - stroke() / 255).mean() < 0.05
    wide = np.zeros((20, 40), dtype=np.uint8)
    x, notes = load_image_for(write_png(tmp_path / "wide.png", wide), MNIST)
    assert any("resized 40x20 to 28x28" in n for n in notes)


def test_a_grey_picture_is_repeated_over_the_channels_a_model_takes(tmp_path):
    x, _ = load_image_for(write_png(tmp_path / "digit.png", stroke(32)), (3, 32, 32))
    assert x.shape == (3, 32, 32)
    np.testing.assert_array_equal(x[0], x[2])


@pytest.mark.parametrize(
    ("array", "note"),
    [(stroke() / 255.0, None),
     (stroke(), "scaled 0-255 to 0-1"),
     ((stroke() / 255.0)[None], None),
     (np.repeat((stroke() / 255.0)[None], 3, axis=0), None),
     (np.kron(stroke() / 255.0, np.ones((2, 2))), "resized 56x56 to 28x28")],
    ids=["2d-float", "2d-uint8", "1x28x28", "3x28x28-averaged", "56x56"],
)
def test_npy_arrays(tmp_path, array, note):
    np.save(tmp_path / "digit.npy", array)
    x, notes = load_image_for(tmp_path / "digit.npy", MNIST)
    assert x.shape == MNIST and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    if note is None:
        assert notes == []
        np.testing.assert_allclose(x[0], stroke() / 255.0, atol=1e-6)
    else:
        assert any(note in n for n in notes)


@pytest.mark.parametrize(
    ("content", "phrase"),
    [(b"just some text, not a picture\n", "not an image"),
     (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "not an image"),  # a PNG signature, then nothing
     (b"", "not an image")],
    ids=["text", "broken-png", "empty"],
)
def test_a_file_that_is_not_a_picture_is_refused(tmp_path, content, phrase):
    path = tmp_path / "digit.png"
    path.write_bytes(content)
    with pytest.raises(DataError, match=phrase) as info:
        load_image_for(path, MNIST)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("array", "phrase"),
    [(np.array(["a", "b"]), "numeric array"),
     (np.zeros(28), r"2-D \(H, W\) or 3-D"),
     (np.zeros((1, 1, 28, 28)), r"2-D \(H, W\) or 3-D")],
    ids=["strings", "1-d", "4-d"],
)
def test_bad_npy_arrays_are_refused(tmp_path, array, phrase):
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(DataError, match=phrase):
        load_image_for(tmp_path / "x.npy", MNIST)


def test_a_pickled_npy_is_refused_without_unpickling(tmp_path):
    np.save(tmp_path / "x.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="not a readable .npy"):
        load_image_for(tmp_path / "x.npy", MNIST)


def test_a_npy_with_nan_is_refused(tmp_path):
    array = stroke() / 255.0
    array[3, 3] = np.nan
    np.save(tmp_path / "nan.npy", array)
    with pytest.raises(DataError, match="NaN"):
        load_image_for(tmp_path / "nan.npy", MNIST)


def test_missing_files_and_non_image_models_are_refused(tmp_path):
    with pytest.raises(DataError, match="no image file"):
        load_image_for(tmp_path / "absent.png", MNIST)
    write_png(tmp_path / "digit.png", stroke())
    with pytest.raises(TatamuError, match="not images"):
        load_image_for(tmp_path / "digit.png", (1, 40))
