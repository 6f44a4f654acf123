#!/usr/bin/env bash
# The GPU check, one command for a bare, offline GPU machine: a CUDA build of
# torch, Python 3.12 and pytest, none of the OpenMMLab stack (that travels in
# the ignored folder .gpu_kit/ of `make gpu-kit`).  Steps, each time-boxed,
# each with its log in OUT_DIR:
#   install   the kit's wheels into a temporary folder, offline
#   mmcv_ops  mmcv's nms, roi_align and sigmoid_focal_loss compiled from the
#             kit's mmcv source (tools/gpu/mmcv_ops_subset/build.py)
#   tests     pytest -m cuda: the CUDA tests of tests/ (WSConv2d, the
#             ε-shift, AmpOptimWrapper, mmcv's ops against their CPU
#             kernels, the toy detectors trained with --amp)
#   bench     launch counts, then the ε-shift and WSConv2d timed side by
#             side on the device
# then OUT_DIR/gpu_check.json: each step's exit status and seconds, the
# tests' counts and failures, the benchmarks' figures.  Exits 1 when a step
# failed.
#
#   bash tools/gpu/check.sh [OUT_DIR]             # on the GPU machine
#   bash tools/gpu/check.sh --dry-run [OUT_DIR]   # here: every step on CPU
#
# OUT_DIR defaults to $OUT when set, else bench_results/gpu_check; PYTHON
# (default python3) is the interpreter, GPU_KIT the kit.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
DRY=0
if [ "${1:-}" = --dry-run ]; then DRY=1; shift; fi
OUT="${1:-${OUT:-bench_results/gpu_check}}"
PY="${PYTHON:-python3}"
KIT="${GPU_KIT:-.gpu_kit}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"
rm -f "$OUT"/{gpu_check,op_counts,eps_shift,ws_conv}.json "$OUT/cuda_tests.xml"
: > "$TMP/steps.jsonl"
FAILED=0
step() {  # step NAME SECONDS COMMAND...
  local name=$1 limit=$2 t0 rc
  shift 2
  t0=$(date +%s)
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  rc=$?
  [ $rc = 0 ] || FAILED=1
  echo "{\"step\": \"$name\", \"rc\": $rc, \"seconds\": $(( $(date +%s) - t0 ))}" >> "$TMP/steps.jsonl"
  echo "[gpu-check] $name: exit $rc ($(( $(date +%s) - t0 )) s)"
}
if ! compgen -G "$KIT/wheels/*.whl" > /dev/null || ! [ -f "$KIT/sdist/mmcv-2.1.0.tar.gz" ]; then
  echo "[gpu-check] no kit in $KIT: run \`make gpu-kit\` where the package registry is reachable" >&2
  exit 2
fi
# The GPU machine's Python is 3.12: the kit's packages are the ones imported.
# On another Python (a dry run), pip checks the wheels' tags and the
# interpreter's own packages are imported.
TAGS=()
if "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then
  KIT_ON_PATH=1
else
  KIT_ON_PATH=0
  TAGS=(--python-version 3.12 --implementation cp --only-binary=:all:
        --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64
        --platform manylinux_2_28_x86_64 --platform any)
fi
step install 120 "$PY" -m pip install --no-index --no-deps -q \
  --disable-pip-version-check --target "$TMP/site" ${TAGS[@]+"${TAGS[@]}"} "$KIT"/wheels/*.whl
if [ $KIT_ON_PATH = 1 ] && ! PYTHONPATH="$TMP/site" "$PY" -c 'import distutils' 2>/dev/null; then
  # Python 3.12 has no distutils and a --target folder's .pth files are not
  # read; mmengine's collect_env (every Runner) imports it: setuptools' copy
  mkdir -p "$TMP/site/distutils"
  cat > "$TMP/site/distutils/__init__.py" <<'SHIM'
import importlib
import sys
del sys.modules[__name__]  # setuptools warns of a distutils imported first
import setuptools  # noqa: E402,F401  (puts its distutils in place)
sys.modules[__name__] = importlib.import_module('setuptools._distutils')
SHIM
fi
DEVICE=cuda BUILD=()
if [ $DRY = 1 ]; then DEVICE=cpu BUILD=(--cpu-only); fi
# (the build imports setuptools: the kit's, where the machine has none)
PYTHONPATH="$TMP/site" step mmcv_ops 420 "$PY" tools/gpu/mmcv_ops_subset/build.py \
  "$KIT/sdist/mmcv-2.1.0.tar.gz" "$TMP/mmcv" --build-dir "$TMP/build" ${BUILD[@]+"${BUILD[@]}"}
PYTHONPATH=".:$TMP/mmcv"
if [ $KIT_ON_PATH = 1 ]; then PYTHONPATH="$PYTHONPATH:$TMP/site"; fi
export PYTHONPATH
step tests 480 "$PY" -m pytest tests -m cuda -q -p no:cacheprovider -rf \
  --junitxml "$OUT/cuda_tests.xml"
step bench 300 bash -c "'$PY' benchmarks/op_counts.py --json '$OUT/op_counts.json' &&
  '$PY' benchmarks/eps_shift.py --repeats 5 --device $DEVICE --json '$OUT/eps_shift.json' &&
  '$PY' benchmarks/ws_conv.py --repeats 5 --backbone-repeats 3 --size 256 --device $DEVICE --json '$OUT/ws_conv.json'"
"$PY" - "$OUT" "$TMP/steps.jsonl" "$DRY" <<'PYEOF' || FAILED=1
import json, os, sys
import xml.etree.ElementTree as ET
out, steps, dry = sys.argv[1], sys.argv[2], sys.argv[3] == '1'
with open(steps) as f:
    result = dict(dry_run=dry, steps={s.pop('step'): s for s in map(json.loads, f)})
tests = os.path.join(out, 'cuda_tests.xml')
if os.path.exists(tests):
    suite = ET.parse(tests).getroot().find('testsuite')
    result['tests'] = {k: int(suite.get(k)) for k in ('tests', 'failures', 'errors', 'skipped')}
    result['tests']['failed'] = [c.get('name') for c in suite.iter('testcase')
                                 if c.find('failure') is not None or c.find('error') is not None]
for name in ('op_counts', 'eps_shift', 'ws_conv'):
    path = os.path.join(out, name + '.json')
    if os.path.exists(path):
        with open(path) as f:
            result[name] = json.load(f)
with open(os.path.join(out, 'gpu_check.json'), 'w') as f:
    json.dump(result, f, indent=1)
print(json.dumps(dict(steps=result['steps'], tests=result.get('tests'))))
PYEOF
exit $FAILED
