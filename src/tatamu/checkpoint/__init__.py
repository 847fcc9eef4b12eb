"""Weights on disk: ``.npz`` plus JSON, never a pickle (``store.py``), and the checks that keep a
hostile or broken file from doing harm before anything is read from it (``guard.py``).
"""

from .store import Checkpoint as Checkpoint
from .store import atomic_write as atomic_write
from .store import copy_weights as copy_weights
from .store import load as load
from .store import load_weights as load_weights
from .store import read as read
from .store import save as save
