"""Speed and memory of tatamu next to PyTorch, measured side by side: ``python -m benchmarks``.

One command (from the repository root, with the test extra installed)::

    python -m benchmarks                 # full run, 1 and 2 threads (about 10 minutes)
    python -m benchmarks --quick         # short run (about 2 minutes); epochs extrapolated
    python -m benchmarks --threads 1     # one thread count only
    python -m benchmarks --only train,layers --json out.json

What it measures (float32, the same architecture, batch, optimizer and data for both):

- ``train``: one epoch of SimpleConvNet on the 60,000 MNIST images, batch 100, Adam (tatamu
  through ``tatamu.training.loop.fit``, PyTorch through the equivalent loop);
- ``deep``: training steps per second of DeepConvNet (the book's ch. 8 net), batch 100;
- ``predict``: class probabilities for the 10,000 test images, and the peak memory above the
  loaded model (tracemalloc for tatamu; RSS high-water mark in a fresh process for both);
- ``layers``: forward and backward of single layers (conv, conv1d, pooling, linear), with the
  conv/linear GFLOP/s against the machine's float32 GEMM rate (``gemm``);
- ``memory``: training memory per step of the default nets, and predict's working memory for
  10,000 and 1,000,000 images (an ``np.memmap`` in a temporary folder; 100,000 with --quick).

How: each thread count runs in its own worker process, whose environment sets
``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` before NumPy is imported,
and ``torch.set_num_threads`` to the same count; tatamu takes ``OMP_NUM_THREADS`` as its own
thread count (``tatamu.parallel``: shards of each batch on that many threads). The worker also drops
``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` from its environment (this process only, never
the tests), so OpenBLAS picks its kernel for the real CPU; the kernel it runs is printed.
Repetitions alternate between tatamu and PyTorch (the order flips every repetition), so load
from other processes on a shared machine hits both alike. The table shows medians, min-max
over the repetitions, and the ratio tatamu / PyTorch (< 1 means tatamu is faster). Results are
also written as JSON to ``benchmarks/results/`` (git-ignored) or ``--json PATH``.
"""
