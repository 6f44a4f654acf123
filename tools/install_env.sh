#!/usr/bin/env bash
# Build the CPU development environment in .venv (see README "Install").
#
# torch==2.13.0, mmengine 0.10.7, mmsegmentation 1.2.2 (its tests),
# mmdet 3.3.0, pycocotools, pytest, mmcv 2.1.0 compiled with its ops from the
# sdist, and this package in editable mode.  The mmcv wheel is built once and
# cached in $MMDET_EPS_L2_CACHE (default ~/.cache/mmdet_eps_l2), so a second
# install on the same machine takes seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
CACHE="${MMDET_EPS_L2_CACHE:-$HOME/.cache/mmdet_eps_l2}"
WHEELS="$CACHE/wheels"
TORCH_SPEC="torch==2.13.0"
MMCV_VERSION="2.1.0"

step() { echo "[install] $*"; }
fail() { echo "[install] FAILED at step '$1': $2" >&2; exit 1; }

step "python: $($PYTHON --version 2>&1)"
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 8)' \
  || fail "python" "Python >= 3.8 is required (set PYTHON=/path/to/python3)."

if [ ! -x "$VENV/bin/python" ]; then
  step "creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV" || fail "venv" "could not create $VENV (is the venv module installed?)"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

have() { "$PY" - "$@" <<'PYEOF' 2>/dev/null
import sys
from importlib.metadata import version
for spec in sys.argv[1:]:
    name, want = spec.split('==')
    if version(name) != want:
        sys.exit(1)
PYEOF
}

step "build tools (setuptools 80.9.0 keeps pkg_resources for mmcv's setup.py; ninja)"
have setuptools==80.9.0 ninja==1.13.0 wheel==0.45.1 \
  || "${PIP[@]}" install -q "setuptools==80.9.0" "ninja==1.13.0" "wheel==0.45.1" \
  || fail "build tools" "pip could not install setuptools/ninja/wheel: check access to the package registry."

step "$TORCH_SPEC"
have torch==2.13.0 || "${PIP[@]}" install -q "$TORCH_SPEC" \
  || fail "torch" "pip could not install $TORCH_SPEC. GPU users: install your CUDA build of torch first (README, 'GPU install')."

step "mmengine, mmdet, mmsegmentation (tests), pycocotools, pytest, orjson"
have mmengine==0.10.7 mmdet==3.3.0 pycocotools==2.0.11 pytest==8.4.2 matplotlib==3.10.7 orjson==3.13.0 seaborn==0.13.2 psutil==7.1.3 mmsegmentation==1.2.2 ftfy==6.3.1 regex==2026.12.2 \
  || "${PIP[@]}" install -q "mmengine==0.10.7" "mmdet==3.3.0" "pycocotools==2.0.11" \
       "pytest==8.4.2" "matplotlib==3.10.7" "orjson==3.13.0" "seaborn==0.13.2" "psutil==7.1.3" \
       "mmsegmentation==1.2.2" "ftfy==6.3.1" "regex==2026.12.2" "$TORCH_SPEC" \
  || fail "openmmlab" "pip could not install mmengine/mmdet/mmsegmentation/pycocotools/pytest."

if ! have mmcv==$MMCV_VERSION; then
  mkdir -p "$WHEELS"
  shopt -s nullglob
  cached=("$WHEELS"/mmcv-$MMCV_VERSION-*.whl)
  if [ ${#cached[@]} -eq 0 ]; then
    step "building mmcv $MMCV_VERSION with ops from source (about 12 min on 2 cores; cached in $WHEELS)"
    MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" "${PIP[@]}" wheel --no-build-isolation --no-deps \
        -w "$WHEELS" "mmcv==$MMCV_VERSION" \
      || fail "mmcv build" "building mmcv $MMCV_VERSION failed; see the compiler output above (needs gcc/g++ and the Python headers)."
    cached=("$WHEELS"/mmcv-$MMCV_VERSION-*.whl)
  else
    step "reusing cached mmcv wheel ${cached[0]}"
  fi
  "${PIP[@]}" install -q "${cached[0]}" "$TORCH_SPEC" \
    || fail "mmcv install" "could not install ${cached[0]} and its dependencies; delete the wheel and rerun to rebuild."
fi

step "mmdet_eps_l2 (editable)"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT" \
  || fail "package" "pip install -e $ROOT failed."

step "checking the compiled ops"
"$PY" -c 'import mmcv.ops, mmcv._ext, mmdet, mmdet_eps_l2' \
  || fail "check" "mmcv ops do not import: delete $WHEELS/mmcv-$MMCV_VERSION-*.whl and rerun."
touch "$VENV/.mmdet_eps_l2_installed"
step "done: $VENV"
