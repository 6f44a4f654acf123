#!/usr/bin/env bash
# The GPU check, for a lent GPU machine (CUDA torch, no OpenMMLab stack,
# no network; under 8 minutes):
#   bash benchmarks/gpu_check.sh [OUT_DIR]
# Writes OUT_DIR/gpu_check.json (default: $OUT or bench_results).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${1:-${OUT:-bench_results}}
mkdir -p "$OUT_DIR"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || \
  echo "could not run nvidia-smi"
python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"
timeout 450 python benchmarks/gpu_check.py --device cuda --json "$OUT_DIR/gpu_check.json"
rc=$?
[ $rc -eq 124 ] && echo "could not finish: gpu_check.py ran past 450 s"
exit $rc
