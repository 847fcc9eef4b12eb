"""``Sequential.predict`` is memory-bounded: chunked prediction equals one whole-batch forward,
and its peak working memory does not grow with the number of images.

NumPy reports its array allocations to ``tracemalloc``, so the peak is measured exactly and
only for this process's arrays. The sizes are small so the file runs in a few seconds; the
benchmark (``python -m benchmarks --only memory``) does the real 10,000 vs 1,000,000 images.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from tatamu.model import softmax
from tatamu.models import simple_convnet

SHAPE = (1, 10, 10)  # small images keep the test fast; the net is the book's SimpleConvNet


@pytest.fixture
def model():
    return simple_convnet(SHAPE, filters=4, kernel_size=3, hidden=16, rng=0)


class FakeImages:
    """Looks like an (N, 1, 10, 10) float32 array on disk: rows are made on demand when
    sliced, so a million "images" cost no memory until predict reads a chunk of them."""

    def __init__(self, n: int) -> None:
        self.n, self.shape, self.dtype, self.ndim = n, (n, *SHAPE), np.dtype(np.float32), 4

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: slice) -> np.ndarray:
        start, stop, _ = index.indices(self.n)
        ids = np.arange(start, stop, dtype=np.float32)[:, None, None, None]
        # (rows, 1, 1, 1) * (1, 10, 10) -> (rows, 1, 10, 10): a different image per index
        return np.sin(ids * 0.37 + np.linspace(0, 3, 100, dtype=np.float32).reshape(SHAPE))


def whole_batch(model, x):
    """Probabilities from one forward over every image at once, in eval mode."""
    model.eval()
    try:
        return softmax(model.forward(np.asarray(x)))
    finally:
        model.train()


@pytest.mark.parametrize("batch_size, budget", [(None, None), (7, None), (None, 50_000)])
def test_chunked_predict_equals_whole_batch(model, batch_size, budget):
    x = FakeImages(103)[0:103]  # 103: chunks never divide it evenly
    kw = {} if budget is None else {"memory_budget": budget}
    probs = model.predict(x, batch_size=batch_size, **kw)
    np.testing.assert_allclose(probs, whole_batch(model, x), rtol=1e-5, atol=1e-6)
    assert probs.dtype == np.float32 and probs.shape == (103, 10)
    assert model.training  # the mode is restored


def test_predict_reads_a_memmap_like_an_array(model, tmp_path):
    x = FakeImages(500)[0:500]
    np.save(tmp_path / "x.npy", x)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    np.testing.assert_array_equal(model.predict(mm, batch_size=64), model.predict(x, batch_size=64))


def test_chunk_size_follows_the_budget(model):
    per_sample = model.bytes_per_sample()
    assert model.chunk_size(10 * per_sample) == 10
    assert model.chunk_size(1) == 1  # never zero
    assert model.chunk_size() * per_sample <= 64 * 2**20


def traced_working_memory(model, images, budget, threads=1) -> int:
    """Peak traced bytes above the start while predicting, less the (N, 10) result."""
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        probs = model.predict(images, memory_budget=budget, threads=threads)
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    return peak - probs.nbytes


def test_predict_peak_memory_does_not_grow_with_n(model):
    budget = 200 * model.bytes_per_sample()  # chunks of 200 images
    model.predict(FakeImages(400), memory_budget=budget, threads=1)  # warm-up
    small = traced_working_memory(model, FakeImages(2_000), budget)
    large = traced_working_memory(model, FakeImages(200_000), budget)
    # 100x the images: the same working memory (a little slack for allocator bookkeeping)
    assert large <= small * 1.1 + 64 * 1024, (small, large)
    assert small <= budget  # and the budget is honoured


@pytest.mark.parametrize("threads", [2, 3])
def test_predict_on_threads_stays_within_the_budget(model, threads):
    # The shards of a chunk share its budget; when each thread frees its arrays depends on
    # timing, so the peak moves a little from run to run, but never past the budget.
    budget = 200 * model.bytes_per_sample()
    model.predict(FakeImages(400), memory_budget=budget, threads=threads)  # warm-up
    for n in (2_000, 200_000):
        peak = traced_working_memory(model, FakeImages(n), budget, threads)
        assert peak <= budget, (n, peak, budget)


def test_predict_of_nothing_is_refused(model):
    with pytest.raises(Exception, match="no samples"):
        model.predict(np.zeros((0, *SHAPE), dtype=np.float32))
