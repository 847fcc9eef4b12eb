"""The optional packages behind export and import, asked for only when they are used.

tatamu's runtime is NumPy; ``safetensors`` and ``onnx`` come with the extras
``pip install 'tatamu[safetensors]'`` / ``'tatamu[onnx]'``. A missing one is one line naming the
pip command, never an ImportError traceback.
"""

from __future__ import annotations

import importlib

from ..errors import TatamuError
from ..i18n import _

#: The extra that installs each optional module.
EXTRAS = {"safetensors": "safetensors", "safetensors.numpy": "safetensors", "onnx": "onnx"}


class MissingPackageError(TatamuError, ImportError):
    """An optional package a command needs is not installed."""


def require(module: str):
    """Import ``module`` or say, in one line, how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise MissingPackageError(
            _("this needs the package '{top}', which is not installed: pip install "
              "'tatamu[{extra}]' (or pip install {top})", top=top, extra=EXTRAS.get(module, top))
        ) from None
