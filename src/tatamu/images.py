"""Reading a user's image file into the shape a model takes (for ``tatamu predict``).

MNIST digits are white on black, 28x28, centred. A photo or drawing rarely is: it may be in
colour, of another size, or dark ink on white paper. Each conversion made is reported back as
a note so the user knows what the network actually saw.
"""

from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path

import numpy as np

from .errors import DataError

#: Larger picture files are refused unread (a 12-megapixel photo is a few MB).
MAX_PICTURE_BYTES = 64 * 2**20


def load_image_for(path: str | Path, input_shape: tuple[int, ...],
                   invert: bool = True) -> tuple[np.ndarray, list[str]]:
    """Load ``path`` (PNG, JPEG, ... or .npy) as float32 in [0, 1] of ``input_shape``.

    Returns the sample and notes describing each conversion (grey, resize, invert).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no image file at {path}")
    if len(input_shape) != 3:
        raise DataError(f"this model takes {input_shape} samples, not images")
    channels, height, width = input_shape
    notes: list[str] = []
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise DataError(f"{path} is not a readable .npy array ({exc})") from exc
        if arr.dtype.kind not in "uif" or arr.ndim not in (2, 3) or arr.size == 0:
            raise DataError(f"{path}: expected a non-empty 2-D (H, W) or 3-D (C, H, W) numeric "
                            f"array; got {arr.dtype} of shape {arr.shape}")
        if arr.ndim == 3 and arr.shape[0] not in (1, 3, 4) and arr.shape[-1] in (1, 3, 4):
            raise DataError(f"{path}: shape {arr.shape} looks channels-last (H, W, C); tatamu "
                            f"takes (C, H, W): save np.transpose(a, (2, 0, 1)) instead")
        arr = arr.astype(np.float64)  # float32 would turn huge integers into inf
        if not np.isfinite(arr).all():
            raise DataError(f"{path} contains NaN or inf values; it is not an image")
        if arr.min() < 0 or arr.max() > 255:
            raise DataError(f"{path}: pixel values must lie in [0, 1] or [0, 255]; got "
                            f"[{arr.min():g}, {arr.max():g}] (standardised data? undo the "
                            f"normalisation first)")
        if arr.max(initial=0) > 1.0:
            arr = arr / 255.0
            notes.append("scaled 0-255 to 0-1")
        if arr.ndim == 3:
            arr = arr.mean(axis=0) if channels == 1 else arr
        image = _resize(arr, height, width, notes)
    else:
        image = _read_picture(path, height, width, notes)
    if invert and image.mean() > 0.5:
        image = 1.0 - image
        notes.append("inverted (dark on light -> light on dark, like MNIST)")
    if image.ndim == 2:
        image = np.repeat(image[None], channels, axis=0)  # (H, W) -> (C, H, W)
    if image.shape != tuple(input_shape):
        raise DataError(f"{path}: could not make an image of shape {input_shape} "
                        f"(got {image.shape})")
    return image.astype(np.float32), notes


def _read_picture(path: Path, height: int, width: int, notes: list[str]) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError  # Pillow comes with matplotlib

    size = path.stat().st_size
    if size > MAX_PICTURE_BYTES:
        raise DataError(f"{path} is {size:,} bytes; tatamu reads pictures up to "
                        f"{MAX_PICTURE_BYTES:,}: scale it down to about {width}x{height} first")
    try:
        with warnings.catch_warnings():
            # Pillow warns about damaged metadata it skips (noise for a user) and about
            # "decompression bombs" (over 89 million pixels): those are refused below.
            warnings.filterwarnings("ignore", module="PIL")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # From memory: a damaged chunk length then cannot make a file read reserve
            # gigabytes (Pillow reads what a chunk header claims).
            with Image.open(io.BytesIO(path.read_bytes())) as img:
                img.load()
                if img.mode != "L":
                    notes.append(f"converted {img.mode} to grey")
                    img = img.convert("L")
                if img.size != (width, height):
                    notes.append(f"resized {img.size[0]}x{img.size[1]} to {width}x{height}")
                    img = img.resize((width, height), Image.Resampling.LANCZOS)
                return np.asarray(img, dtype=np.float32) / 255.0
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise DataError(f"{path} is too large a picture for tatamu ({exc}); scale it down to "
                        f"about {width}x{height} pixels first") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, struct.error,
            IndexError) as exc:  # SyntaxError: Pillow's "broken PNG file"
        raise DataError(f"{path} is not an image tatamu can read (PNG, JPEG, BMP, .npy): "
                        f"{exc or type(exc).__name__}") from exc


def _resize(arr: np.ndarray, height: int, width: int, notes: list[str]) -> np.ndarray:
    if arr.shape[-2:] == (height, width):
        return arr
    from PIL import Image

    notes.append(f"resized {arr.shape[-1]}x{arr.shape[-2]} to {width}x{height}")
    img = Image.fromarray(arr.astype(np.float32), mode="F")
    resized = np.asarray(img.resize((width, height), Image.Resampling.LANCZOS), dtype=np.float32)
    return np.clip(resized, 0.0, 1.0)  # Lanczos rings below 0 / above 1 at sharp edges
