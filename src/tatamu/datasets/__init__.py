"""Datasets: MNIST and MNIST-1D shipped with tatamu, Fashion-MNIST found or downloaded.

Re-exports only; read the modules in this order: ``idx`` (the file format), ``mnist`` (finding,
verifying and loading; with ``integrity`` and ``preprocess``), ``download`` and ``cache``
(fetching into the user cache), ``mnist1d``, ``loader`` (mini-batches), ``catalog`` (names for
the CLI), ``augment`` (random shifts, turns and zooms of training batches). Data licences:
``files/ATTRIBUTION.md``.
"""

from .augment import Augment as Augment
from .catalog import CLASS_NAMES as CLASS_NAMES
from .catalog import DATASETS as DATASETS
from .catalog import class_names as class_names
from .catalog import load_dataset as load_dataset
from .download import download_files as download_files
from .idx import encode_idx as encode_idx
from .idx import read_idx as read_idx
from .idx import sha256_uncompressed as sha256_uncompressed
from .loader import BatchLoader as BatchLoader
from .loader import iterate_batches as iterate_batches
from .mnist import FASHION_MNIST_MIRRORS as FASHION_MNIST_MIRRORS
from .mnist import load_fashion_mnist as load_fashion_mnist
from .mnist import load_mnist as load_mnist
from .mnist1d import load_mnist1d as load_mnist1d
