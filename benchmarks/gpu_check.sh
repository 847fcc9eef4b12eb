#!/usr/bin/env bash
# Everything that needs a GPU, in one go (GPU time is scarce): the GPU-marked tests (CuPy layer
# suite with the PyTorch oracle, kernels against NumPy, training/checkpoints on the GPU), then
# the GPU benchmark. Run from the repository root on a machine with CuPy, torch and pytest:
#   bash benchmarks/gpu_check.sh [OUT_DIR]
set -uo pipefail
out="${1:-${OUT:-/tmp/tatamu-gpu}}"
mkdir -p "$out"
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
python3 -c "import cupy, torch, numpy; print('cupy', cupy.__version__, 'torch', torch.__version__, 'numpy', numpy.__version__)" | tee -a "$out/gpu.txt"
python3 -m pytest -q -p no:cacheprovider -o addopts="" -m gpu tests 2>&1 | tee "$out/gpu_tests.log"
tests=${PIPESTATUS[0]}
python3 -m benchmarks.gpu --json "$out/gpu_bench.json" 2>&1 | tee "$out/gpu_bench.log"
exit $(( tests || PIPESTATUS[0] ))
