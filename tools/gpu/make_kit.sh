#!/usr/bin/env bash
# `make gpu-kit`: what a bare GPU machine (Python 3.12, torch with CUDA, no
# network) lacks to run this package, in the ignored folder .gpu_kit/:
#   .gpu_kit/wheels/  cp312 manylinux / pure-Python wheels, no dependencies
#   .gpu_kit/sdist/   the mmcv 2.1.0 source (tools/gpu/check.sh compiles
#                     the ops the detectors call from it)
# A piece already in the folder is not downloaded again, so a second call
# works offline.  Each piece that cannot be downloaded is named.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KIT="${GPU_KIT:-$ROOT/.gpu_kit}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
PIP=("$PY" -m pip --disable-pip-version-check download --no-deps -q)
PLATFORM=(--only-binary=:all: --python-version 3.12 --implementation cp
          --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64
          --platform manylinux_2_28_x86_64 --platform any)
# the versions of the CPU environment (tools/install_env.sh)
WHEELS=(mmengine==0.10.7 mmdet==3.3.0 pycocotools==2.0.11 shapely==2.2.0
        terminaltables==3.1.10 addict==2.4.0 yapf==0.43.0 platformdirs==4.14.8
        termcolor==3.3.0 six==1.17.0 setuptools==80.9.0)
mkdir -p "$KIT/wheels" "$KIT/sdist"
failed=()
have() {  # have DIR NAME VERSION: a file of that name and version is there
  local norm; norm="$(echo "$2" | tr '-' '_')"
  compgen -G "$1/${norm}-$3[-.]*" >/dev/null || compgen -G "$1/${2}-$3[-.]*" >/dev/null
}
for spec in "${WHEELS[@]}"; do
  name="${spec%%==*}"; version="${spec##*==}"
  if have "$KIT/wheels" "$name" "$version"; then continue; fi
  echo "[gpu-kit] downloading $spec"
  "${PIP[@]}" "${PLATFORM[@]}" -d "$KIT/wheels" "$spec" || failed+=("$spec (wheel)")
done
if ! have "$KIT/sdist" mmcv 2.1.0; then
  echo "[gpu-kit] downloading mmcv==2.1.0 (source)"
  "${PIP[@]}" --no-binary=:all: --no-build-isolation -d "$KIT/sdist" mmcv==2.1.0 \
    || failed+=("mmcv==2.1.0 (sdist)")
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "[gpu-kit] FAILED to download: ${failed[*]} (check access to the package registry)" >&2
  exit 1
fi
echo "[gpu-kit] ready: $KIT ($(ls "$KIT/wheels" | wc -l) wheels, $(ls "$KIT/sdist"); $(du -sm "$KIT" | cut -f1) MB)"
