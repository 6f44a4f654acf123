#!/usr/bin/env bash
# The GPU end-to-end check, for a bare, offline GPU machine (a CUDA build of
# torch, none of the OpenMMLab stack): the kit of `make gpu-kit` installed
# into a temporary target, mmcv's detection ops compiled from source, unit
# checks, toy Mask R-CNN / RetinaNet trained with --amp and evaluated,
# test.py and fold_ws.py, a torchrun (nccl) run interrupted and resumed,
# and side-by-side timings.  Each stage is time-boxed; the outcome of each
# is in OUT_DIR/gpu_e2e.json, beside at most six logs.
#
#   bash benchmarks/gpu_e2e.sh [OUT_DIR]             # on the GPU machine
#   bash benchmarks/gpu_e2e.sh --dry-run [OUT_DIR]   # here, on CPU
#   bash benchmarks/gpu_e2e.sh --only perf,tools      # some stages again
#
# OUT_DIR defaults to $OUT when set, else bench_results.  Options:
# benchmarks/gpu_e2e/run.py --help.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -n "${PYTHON:-}" ]; then :
elif [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python
else PYTHON=python3; fi
if ! "$PYTHON" -c "import torch" 2>/dev/null; then
  echo "gpu_e2e: $PYTHON cannot import torch; set PYTHON to an interpreter with torch" >&2
  exit 2
fi
exec "$PYTHON" benchmarks/gpu_e2e/run.py "$@"
