"""What every command's options share: the argument types, and the error for a bad usage."""

from __future__ import annotations

import argparse
import math


class UserError(Exception):
    """An error in how the command was used (printed as one line, exit status 2)."""


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def whole_number(text: str) -> int:
    """An int >= 0 (a count where 0 means none)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value



def add_device_option(parser) -> None:
    """``--device cpu|cuda|cuda:N``: where the model runs (the data stays on the host)."""
    parser.add_argument("--device", default="cpu", metavar="DEVICE",
                        help="where the model runs: cpu (NumPy, the default) or cuda / cuda:N "
                             "(CuPy on a GPU: pip install 'tatamu[gpu13]' or 'tatamu[gpu12]')")


def checked_device(args) -> str:
    """The device asked for, checked before anything is written (a missing CuPy or GPU is one
    line naming what is missing and the install command)."""
    from ...backend.arrays import parse_device, require_cuda

    device = parse_device(args.device)
    if device != "cpu":
        require_cuda(device)
    return device
