"""Mini-batches for training: every sample exactly once per epoch, in a fresh random order.

The book's training loop (ch. 4.5, ``TwoLayerNet``; ch. 7 ``Trainer``) draws each batch with
``np.random.choice(train_size, batch_size)``: sampling *with* replacement from the global RNG,
so some images are never seen in an "epoch" and runs cannot be reproduced. ``BatchLoader``
draws one permutation per epoch from a ``numpy.random.Generator`` instead, keeps the last
partial batch unless told not to, and never touches NumPy's global random state.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ..errors import DataError
from ..i18n import _
from ..validate import as_rng, positive_int


class BatchLoader:
    """Iterate over ``(xb, yb)`` mini-batches; each ``iter()`` is one epoch.

    Parameters
    ----------
    x, y : numpy.ndarray
        Samples and targets with the same first dimension ``N``.
    batch_size : int
        Samples per batch, at least 1. Larger than ``N`` gives a single batch of all samples.
    shuffle : bool
        Visit samples in a new random order each epoch (else in stored order).
    rng : numpy.random.Generator or int, optional
        Source of the permutations, or a seed for one. ``None``: a fresh unseeded Generator.
    drop_last : bool
        Skip the final batch when it is smaller than ``batch_size``.

    Raises
    ------
    DataError
        ``batch_size`` < 1 or not an integer, empty data, or ``x`` and ``y`` of different lengths.

    Notes
    -----
    Determinism and resume: with ``shuffle=True`` every epoch draws exactly one
    ``rng.permutation(N)`` when iteration starts, and nothing else is drawn from ``rng``. So a
    seed fixes all epochs, and saving ``rng.bit_generator.state`` between epochs (then
    restoring it into a Generator passed as ``rng``) resumes the exact sequence of batches.
    With ``shuffle=False`` the ``rng`` is never used.

    Shapes
    ------
    x ``(N, ...)``, y ``(N, ...)`` -> xb ``(B, ...)``, yb ``(B, ...)`` with ``B = batch_size``
    except possibly the last batch (``N % batch_size``).

    Examples
    --------
    >>> loader = BatchLoader(np.arange(5), np.arange(5), 2, rng=0)
    >>> len(loader), sorted(int(v) for xb, _ in loader for v in xb)
    (3, [0, 1, 2, 3, 4])
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        *,
        shuffle: bool = True,
        rng: np.random.Generator | int | None = None,
        drop_last: bool = False,
    ) -> None:
        positive_int(batch_size, "batch_size", error=DataError)
        n = len(x)
        if n == 0:
            raise DataError(_("cannot make batches from empty data (x has 0 samples)"))
        if len(y) != n:
            raise DataError(_("x and y must have the same number of samples; got {n} and {n_y}",
                              n=n, n_y=len(y)))
        self.x, self.y = x, y
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.rng = as_rng(rng)

    @property
    def num_samples(self) -> int:
        """N, the number of samples."""
        return len(self.x)

    def __len__(self) -> int:
        """Number of batches per epoch."""
        size = min(self.batch_size, self.num_samples)  # oversized batch: one batch of all
        if self.drop_last:
            return self.num_samples // size
        return math.ceil(self.num_samples / size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        # Draw the permutation now, not lazily inside a generator, so the rng advances exactly
        # once per iter() call even if the epoch is abandoned half-way.
        order = self.rng.permutation(self.num_samples) if self.shuffle else None
        return self._batches(order)

    def _batches(self, order: np.ndarray | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        size = min(self.batch_size, self.num_samples)
        for b in range(len(self)):
            if order is None:  # stored order: slices are views, no copy
                yield self.x[b * size:(b + 1) * size], self.y[b * size:(b + 1) * size]
            else:
                idx = order[b * size:(b + 1) * size]
                yield self.x[idx], self.y[idx]

    def __repr__(self) -> str:
        return (f"BatchLoader(N={self.num_samples}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, batches={len(self)})")


def iterate_batches(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = True,
    rng: np.random.Generator | int | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Return one epoch of ``(xb, yb)`` batches; ``iter(BatchLoader(...))`` as a function.

    Arguments are checked immediately (not at the first ``next()``). See :class:`BatchLoader`.

    Shapes
    ------
    As :class:`BatchLoader`.

    Examples
    --------
    >>> [xb.tolist() for xb, _ in iterate_batches(np.arange(5), np.arange(5), 2, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    """
    return iter(BatchLoader(x, y, batch_size, shuffle=shuffle, rng=rng, drop_last=drop_last))
