"""BatchLoader: every sample once per epoch, partial batches, seeds, resume, argument errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tatamu.datasets import BatchLoader, iterate_batches
from tatamu.errors import DataError


def data(n: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 1, 2)  # sample i holds 2i, 2i+1
    return x, np.arange(n)


def epoch_labels(loader: BatchLoader) -> list[list[int]]:
    out = []
    for xb, yb in loader:
        np.testing.assert_array_equal(xb[:, 0, 0], 2 * yb)  # x and y stay paired
        out.append(yb.tolist())
    return out


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), shuffle=st.booleans(),
       drop_last=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_each_sample_once_per_epoch(n, batch_size, shuffle, drop_last, seed) -> None:
    loader = BatchLoader(*data(n), batch_size, shuffle=shuffle, rng=seed, drop_last=drop_last)
    batches = epoch_labels(loader)
    assert len(batches) == len(loader) >= 1
    seen = [i for b in batches for i in b]
    size = min(batch_size, n)
    assert all(len(b) == size for b in batches[:-1])
    if drop_last:
        assert len(seen) == n - n % size and len(set(seen)) == len(seen)
    else:
        assert sorted(seen) == list(range(n))  # without replacement, nothing dropped


def test_partial_batch_included_or_dropped() -> None:
    x, y = data(10)
    assert [len(b) for b in epoch_labels(BatchLoader(x, y, 3))] == [3, 3, 3, 1]
    assert [len(b) for b in epoch_labels(BatchLoader(x, y, 3, drop_last=True))] == [3, 3, 3]
    assert len(BatchLoader(x, y, 3)) == 4 and len(BatchLoader(x, y, 3, drop_last=True)) == 3


def test_oversized_batch_is_one_batch() -> None:
    x, y = data(5)
    for drop_last in (False, True):
        loader = BatchLoader(x, y, 100, drop_last=drop_last, rng=0)
        assert len(loader) == 1 and sorted(epoch_labels(loader)[0]) == list(range(5))


def test_seeded_is_deterministic_and_epochs_differ() -> None:
    x, y = data(50)
    a, b = BatchLoader(x, y, 8, rng=42), BatchLoader(x, y, 8, rng=np.random.default_rng(42))
    epochs_a = [epoch_labels(a) for _ in range(3)]
    assert epochs_a == [epoch_labels(b) for _ in range(3)]
    assert epochs_a[0] != epochs_a[1] != epochs_a[2]


def test_one_permutation_per_epoch_allows_resume() -> None:
    x, y = data(20)
    rng = np.random.default_rng(7)
    loader = BatchLoader(x, y, 6, rng=rng)
    next(iter(loader))  # an abandoned epoch still consumed exactly one permutation
    state = rng.bit_generator.state  # what a checkpoint would save between epochs

    assert sum(epoch_labels(loader), []) == _epoch(7, 2, 20)

    resumed = np.random.default_rng()
    resumed.bit_generator.state = state
    assert sum(epoch_labels(BatchLoader(x, y, 6, rng=resumed)), []) == _epoch(7, 2, 20)


def _epoch(seed: int, k: int, n: int) -> list[int]:
    """The order of epoch ``k`` (1-based) for a loader seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    for _ in range(k - 1):
        rng.permutation(n)
    return rng.permutation(n).tolist()


def test_no_shuffle_keeps_order_and_leaves_rng_alone() -> None:
    x, y = data(7)
    rng = np.random.default_rng(3)
    before = rng.bit_generator.state
    assert epoch_labels(BatchLoader(x, y, 3, shuffle=False, rng=rng)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert rng.bit_generator.state == before


def test_global_rng_untouched() -> None:
    before = np.random.get_state()[1].copy()  # noqa: NPY002 - checking it is untouched
    for _ in BatchLoader(*data(30), 4):
        pass
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "8"])
def test_bad_batch_size(batch_size) -> None:
    with pytest.raises(DataError, match="batch_size"):
        BatchLoader(*data(4), batch_size)


def test_empty_and_mismatched_data() -> None:
    with pytest.raises(DataError, match="empty"):
        BatchLoader(np.zeros((0, 3)), np.zeros(0), 2)
    with pytest.raises(DataError, match="same number of samples; got 4 and 3"):
        BatchLoader(np.zeros((4, 3)), np.zeros(3), 2)


def test_iterate_batches_checks_eagerly() -> None:
    with pytest.raises(DataError):
        iterate_batches(*data(4), 0, shuffle=False)  # raised at the call, not at next()
    batches = list(iterate_batches(*data(5), 2, shuffle=True, rng=0))
    assert sorted(int(i) for _, yb in batches for i in yb) == list(range(5))
