#!/usr/bin/env bash
# `make gpu-twin`: a Python 3.12 virtual environment in the ignored folder
# .gpu_twin/ holding the GPU machine's own stack, GPU aside: the registry's
# torch==2.11.0 (the CUDA 13 build, +cu130), torchvision 0.26.0, numpy 2.x
# and the machine's other preinstalled packages, and nothing of the
# OpenMMLab stack (that comes from the kit, `make gpu-kit`, installed by
# tools/gpu/check.sh exactly as on the GPU machine).  No setuptools: the
# check must not rely on the machine having it (the kit carries it).
# Built once; a second call returns at once.  Downloads about 5 GB.
#
#   bash tools/gpu/make_twin.sh          # or: make gpu-twin
#   GPU_TWIN=DIR PYTHON312=/path/to/python3.12 bash ...
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TWIN="${GPU_TWIN:-$ROOT/.gpu_twin}"
DONE="$TWIN/.twin_complete"
PACKAGES=(torch==2.11.0 torchvision==0.26.0 "numpy>=2,<3" scipy matplotlib
          opencv-python-headless pillow pyyaml rich tqdm pytest ninja)
if [ -f "$DONE" ]; then
  echo "[gpu-twin] ready: $TWIN ($(cat "$DONE"))"
  exit 0
fi
find_312() {  # PYTHON312, python3.12 on PATH, or pyenv's newest 3.12
  if [ -n "${PYTHON312:-}" ]; then echo "$PYTHON312"; return; fi
  local root c; root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
  for c in "$(command -v python3.12 2>/dev/null)" \
           $(ls -d "$root"/versions/3.12*/bin/python3.12 2>/dev/null | sort -rV); do
    if [ -n "$c" ] && "$c" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
      echo "$c"; return
    fi
  done
}
PY312="$(find_312)"
if [ -z "$PY312" ] || ! "$PY312" -c 'import sys; assert sys.version_info[:2] == (3, 12)'; then
  echo "[gpu-twin] FAILED: no Python 3.12 found (set PYTHON312)" >&2
  exit 1
fi
t0=$(date +%s)
echo "[gpu-twin] $("$PY312" --version) -> $TWIN"
rm -rf "$TWIN"
"$PY312" -m venv "$TWIN"
"$TWIN/bin/python" -m pip install --disable-pip-version-check -q "${PACKAGES[@]}"
"$TWIN/bin/python" -m pip uninstall -y -q setuptools 2>/dev/null || true
info="$("$TWIN/bin/python" -c 'import sys, torch, numpy; print(f"python {sys.version.split()[0]}, torch {torch.__version__} (CUDA {torch.version.cuda}), numpy {numpy.__version__}")')"
echo "$info, built in $(( $(date +%s) - t0 )) s, $(du -sm "$TWIN" | cut -f1) MB" > "$DONE"
echo "[gpu-twin] ready: $TWIN ($(cat "$DONE"))"
